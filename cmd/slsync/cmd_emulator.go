package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/slsync/slsync/internal/emulator"
)

// EmulatorCmd runs the local emulator of the Serverless Project API and the
// projects' Elasticsearch API key endpoints.
type EmulatorCmd struct {
	Addr         string        `default:"127.0.0.1:8787" help:"Address to listen on; loopback only unless --allow-remote."`
	APIKey       string        `name:"api-key" env:"EC_API_KEY" help:"Cloud API key clients must send (prefer the EC_API_KEY environment variable); generated when empty."`
	InitDelay    time.Duration `name:"init-delay" default:"3s" help:"How long a new or resumed project stays initializing."`
	DeleteDelay  time.Duration `name:"delete-delay" default:"2s" help:"How long a deleted project stays deleting before it is gone."`
	Data         string        `name:"data" type:"path" placeholder:"FILE" help:"Persist state in FILE (written atomically after each change); in memory when empty."`
	Latency      time.Duration `help:"Latency added to every request."`
	Fault429     float64       `name:"fault-429" placeholder:"P" help:"Share of requests answered 429 (0..1)."`
	Fault5xx     float64       `name:"fault-5xx" placeholder:"P" help:"Share of requests answered 500/502/503 (0..1)."`
	FaultDrop    float64       `name:"fault-drop" placeholder:"P" help:"Share of mutating requests committed whose response is dropped (0..1)."`
	FaultReset   float64       `name:"fault-reset" placeholder:"P" help:"Share of requests answered with a TCP reset (0..1)."`
	RateLimit    int           `name:"rate-limit" placeholder:"N" help:"Allow N Project API requests per --rate-interval per API key, reported in x-ratelimit-* headers, 429 beyond; 0 (default) is unlimited."`
	RateInterval time.Duration `name:"rate-interval" default:"1m" help:"Window of --rate-limit, a whole number of seconds."`
	Seed         int64         `help:"Seed for fault decisions and ids; 0 picks one (and logs it)."`
	AllowRemote  bool          `name:"allow-remote" help:"Allow a non-loopback --addr. The emulator has no TLS and is meant for local use."`
}

func (c *EmulatorCmd) Run(app *App) error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return withExitCode(exitUsage, fmt.Errorf("--addr %q: %v (expected host:port, e.g. 127.0.0.1:8787)", c.Addr, err))
	}
	if !isLoopback(host) && !c.AllowRemote {
		return withExitCode(exitUsage, fmt.Errorf("refusing to listen on %q: it is not a loopback address; the emulator has no TLS and prints its key, so use 127.0.0.1 (or pass --allow-remote if you really mean it)", c.Addr))
	}
	faults := emulator.Faults{Latency: c.Latency, P429: c.Fault429, P5xx: c.Fault5xx, PDrop: c.FaultDrop, PReset: c.FaultReset}
	if err := faults.Validate(); err != nil {
		return withExitCode(exitUsage, fmt.Errorf("emulator: %w (see --fault-429, --fault-5xx, --fault-drop, --fault-reset, --latency)", err))
	}
	rate := emulator.RateLimit{Limit: c.RateLimit, Interval: c.RateInterval}
	if err := rate.Validate(); err != nil {
		return withExitCode(exitUsage, fmt.Errorf("emulator: %w (see --rate-limit, --rate-interval)", err))
	}
	seed := c.Seed
	if seed == 0 {
		seed = rand.Int64N(1<<62) + 1
	}
	srv, err := emulator.New(emulator.Options{
		APIKey:      c.APIKey,
		InitDelay:   c.InitDelay,
		DeleteDelay: c.DeleteDelay,
		DataFile:    c.Data,
		Faults:      faults,
		RateLimit:   rate,
		Seed:        seed,
		Logger:      app.Log,
	})
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("emulator: cannot listen on %s: %w (is another emulator running? choose another --addr)", c.Addr, err)
	}
	endpoint := "http://" + ln.Addr().String()
	fmt.Fprintf(app.Stdout, "export EC_ENDPOINT=%s\n", endpoint)
	if c.APIKey == "" {
		// The generated key is a local throwaway: printing it is the point.
		fmt.Fprintf(app.Stdout, "export EC_API_KEY=%s\n", srv.APIKey())
	} else {
		fmt.Fprintln(app.Stdout, "# EC_API_KEY: the key you supplied")
	}
	app.Log.Info("emulator listening", "endpoint", endpoint, "init_delay", c.InitDelay, "delete_delay", c.DeleteDelay,
		"data", c.Data, "seed", seed, "rate_limit", c.RateLimit, "rate_interval", c.RateInterval)

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		srv.Close()
		return fmt.Errorf("emulator: %w", err)
	case <-app.Ctx.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		app.Log.Warn("emulator: shutdown", "err", err)
	}
	hs.Close()
	if err := srv.Close(); err != nil {
		return err
	}
	app.Log.Info("emulator stopped")
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
