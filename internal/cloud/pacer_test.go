package cloud_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
	"github.com/slsync/slsync/internal/model"
)

// logBuffer collects a client's log lines from concurrent calls.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// take returns what was logged since the last take.
func (l *logBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

const pacingLine = "rate limit: pacing API call"

// pacedClient is a ProjectClient for env whose debug log lands in the
// returned buffer.
func pacedClient(t *testing.T, endpoint, key string, paced bool) (*cloud.ProjectClient, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	pc, err := cloud.NewProjectClient(endpoint, model.Secret(key), cloud.Options{
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Retry:         cloud.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond},
		DisablePacing: !paced,
	})
	if err != nil {
		t.Fatal(err)
	}
	return pc, logs
}

// burst makes n calls from workers goroutines and returns how many failed.
func burst(ctx context.Context, pc *cloud.ProjectClient, workers, n int) int {
	var failed atomic.Int32
	var wg sync.WaitGroup
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	for range workers {
		wg.Go(func() {
			for range jobs {
				if _, err := pc.Regions(ctx); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// A burst of twice the limit from 8 goroutines: paced, it is never refused
// and makes exactly one request per call; unpaced, the same burst is
// refused (which shows the test can fail).
func TestPacingKeepsABurstUnderTheLimit(t *testing.T) {
	const limit, calls = 20, 40
	for _, paced := range []bool{true, false} {
		t.Run(map[bool]string{true: "paced", false: "unpaced"}[paced], func(t *testing.T) {
			env := emulatortest.Start(t, emulator.Options{RateLimit: emulator.RateLimit{Limit: limit, Interval: time.Second}})
			pc, logs := pacedClient(t, env.URL, env.APIKey, paced)
			failed := burst(context.Background(), pc, 8, calls)
			st := env.Server.Stats()
			if !paced {
				if st.RateLimited == 0 {
					t.Fatalf("an unpaced burst of %d calls against a limit of %d was never refused: %+v", calls, limit, st)
				}
				return
			}
			if failed != 0 || st.RateLimited != 0 || st.Total != calls {
				t.Fatalf("paced burst: %d failed, %d refused, %d requests for %d calls", failed, st.RateLimited, st.Total, calls)
			}
			if !strings.Contains(logs.take(), pacingLine) {
				t.Fatal("the burst was paced but no debug line says so")
			}
		})
	}
}

// When the server reports a fresh budget, held-back calls go at once,
// without waiting for the end of the window the client estimated (an hour
// here).
func TestPacingStopsWhenTheWindowHasBudgetAgain(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{RateLimit: emulator.RateLimit{Limit: 20, Interval: time.Hour}})
	pc, logs := pacedClient(t, env.URL, env.APIKey, true)
	// Pacing would hold a call for half an hour: a regression fails here
	// rather than hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if failed := burst(ctx, pc, 1, 16); failed != 0 { // 4 left
		t.Fatalf("%d calls failed", failed)
	}
	// 8 calls: 3 go out (slowly), the rest are held back. While the 3 are
	// on their way, the server starts a new window, as it would when the
	// old one ends; their answers show it.
	env.SetFaults(t, emulator.Faults{Latency: 500 * time.Millisecond})
	logs.take()
	done := make(chan int)
	go func() { done <- burst(ctx, pc, 8, 8) }()
	time.Sleep(100 * time.Millisecond)
	env.SetRateLimit(t, emulator.RateLimit{Limit: 20, Interval: time.Hour})
	if failed := <-done; failed != 0 {
		t.Fatalf("%d calls failed (held back past the new window?)", failed)
	}
	env.SetFaults(t, emulator.Faults{})
	before, after, found := strings.Cut(logs.take(), "rate limit: new window")
	if !found || !strings.Contains(before, pacingLine) || strings.Contains(after, pacingLine) {
		t.Fatalf("want calls held back until the new window is seen, and none after:\n%s[new window]%s", before, after)
	}
	// The new window is paced in turn: 12 calls are left in it, and below
	// a tenth of the limit (the last one) calls are spread out.
	ok := 0
	for ; ok < 20; ok++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := pc.Regions(ctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
	}
	if ok != 11 || !strings.Contains(logs.take(), pacingLine) {
		t.Fatalf("%d calls went through before pacing held one back, want 11", ok)
	}
	if st := env.Server.Stats(); st.RateLimited != 0 || st.Total != 35 {
		t.Fatalf("stats: %+v", st)
	}
}

// A call held back for a window that ends in an hour returns when its
// context ends, without reaching the server.
func TestPacingWaitEndsWithTheContext(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{RateLimit: emulator.RateLimit{Limit: 3, Interval: time.Hour}})
	pc, _ := pacedClient(t, env.URL, env.APIKey, true)
	for range 3 {
		if _, err := pc.Regions(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			_, err := pc.Regions(ctx)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "rate limit") {
				t.Fatalf("err = %v, want %v while pacing", err, tc.want)
			}
			if d := time.Since(start); d > time.Minute {
				t.Fatalf("returned after %v, not when the context ended", d)
			}
		})
	}
	if st := env.Server.Stats(); st.Total != 3 || st.RateLimited != 0 {
		t.Fatalf("held-back calls reached the server: %+v", st)
	}
}

// The interval header is read leniently; a format the client cannot read
// turns pacing off rather than guessing.
func TestPacingIntervalFormats(t *testing.T) {
	for _, tc := range []struct {
		interval string
		paced    bool
	}{
		{"60", true}, {"60s", true}, {"1m", true}, {"1m0s", true}, {" 3600 ", true},
		{"", false}, {"soon", false}, {"0", false}, {"-60", false}, {"60 per minute", false},
	} {
		t.Run(tc.interval, func(t *testing.T) {
			var n atomic.Int32
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.Header().Set("X-Ratelimit-Limit", "10")
				w.Header().Set("X-Ratelimit-Remaining", "0")
				w.Header().Set("X-Ratelimit-Interval", tc.interval)
				w.Write([]byte(`[]`))
			}))
			defer hs.Close()
			pc, logs := pacedClient(t, hs.URL, "k", true)
			if _, err := pc.Regions(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, err := pc.Regions(ctx)
			if paced := errors.Is(err, context.DeadlineExceeded); paced != tc.paced || paced != (n.Load() == 1) {
				t.Fatalf("interval %q: err = %v after %d requests; want paced=%v", tc.interval, err, n.Load(), tc.paced)
			}
			if l := logs.take(); !strings.Contains(l, "interval=") || strings.Contains(l, pacingLine) != tc.paced {
				t.Fatalf("log:\n%s", l)
			}
		})
	}
}

// Injected 429s report an exhausted window the client has never seen
// answers from: backoff retries them, the pacer holds nothing back.
func TestRefusalsFromAnUnknownWindowAreLeftToBackoff(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{Seed: 5, Faults: emulator.Faults{P429: 0.4}})
	pc, logs := pacedClient(t, env.URL, env.APIKey, true)
	burst(context.Background(), pc, 4, 20)
	if st := env.Server.Stats(); st.Injected["429"] == 0 {
		t.Fatalf("no 429 injected: %+v", st)
	}
	if l := logs.take(); strings.Contains(l, pacingLine) {
		t.Fatalf("paced on injected 429s:\n%s", l)
	}
}
