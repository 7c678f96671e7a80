// Package emulator is a local stand-in for Elastic Cloud Serverless: the
// Project API (/api/v1/serverless/...) and, for each project it hosts, that
// project's Elasticsearch security API for API keys (under /es/<project-id>),
// all on one http.Handler.
//
// Its fidelity is the point: slsync's own tests run against it, so it keeps
// the real services' observable behaviour (ids, alias suffixes, ETags and
// If-Match, phases, credentials, error bodies, Elasticsearch's API key rules
// and the defaults Elasticsearch fills into role descriptors) as recorded in
// shared/reference/. Where the reference is silent the choice made is written
// next to the code as a comment starting with "Choice:".
//
// Time-dependent behaviour (phases, key expiry) is computed lazily from
// Options.Clock, so a test can drive it with a fake clock and the server owns
// no goroutines.
package emulator

import (
	crand "crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server. The zero value is a usable, memory-only,
// fault-free emulator whose projects are initialized at once.
type Options struct {
	// APIKey is the Cloud API key clients must send as
	// `Authorization: ApiKey <key>`; "" generates a random one.
	APIKey string
	// InitDelay is how long a project stays `initializing` after creation or
	// resume. Zero means initialized at once (what most tests want; the CLI
	// defaults to 3s).
	InitDelay time.Duration
	// DeleteDelay is how long a project stays `deleting` before it is gone
	// (and its alias free again). Zero means gone at once.
	DeleteDelay time.Duration
	// DataFile persists the state (written atomically after each change and
	// loaded by New); "" keeps it in memory only.
	DataFile string
	// Faults are injected into requests; see Faults.
	Faults Faults
	// RateLimit limits Project API requests per window, as Elastic Cloud
	// does; the zero value is unlimited. See RateLimit.
	RateLimit RateLimit
	// Seed seeds fault decisions and id generation; 0 picks a random seed.
	// Secrets (passwords, API key values) are always cryptographically random.
	Seed int64
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
}

// Stats are request counters, keyed by route pattern such as
// "GET /api/v1/serverless/projects/{type}" or
// "POST /es/{id}/_security/_query/api_key". Requests to /_emulator are not
// counted; faulted requests are (they reached the API).
type Stats struct {
	Total   int            `json:"total"`
	ByRoute map[string]int `json:"by_route"`
	// Injected counts faults injected by kind: latency, 429, 5xx, drop, reset.
	Injected map[string]int `json:"injected"`
	// RateLimited counts requests refused by Options.RateLimit (real
	// refusals, not injected 429s).
	RateLimited int `json:"rate_limited"`
}

// Server is the emulator. It is an http.Handler and safe for concurrent use.
type Server struct {
	opts   Options
	apiKey string
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux
	routes map[string]routeInfo // mux pattern -> route

	mu       sync.Mutex // guards everything below up to the next blank line
	projects map[string]*project
	seq      int64 // creation counter, orders lists
	pending  int   // projects being deleted (sweep only when > 0)
	dirty    bool  // state changed in this transaction
	gen      uint64
	ids      *rand.Rand

	faultMu  sync.Mutex
	faults   Faults
	faultRng *rand.Rand

	limiter rateLimiter

	statsMu sync.Mutex
	stats   Stats

	persistMu sync.Mutex
	written   uint64 // generation last written to DataFile

	closed atomic.Bool
}

// New builds a Server, loading Options.DataFile when it exists.
func New(opts Options) (*Server, error) {
	if err := opts.Faults.Validate(); err != nil {
		return nil, err
	}
	if err := opts.RateLimit.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		apiKey:   opts.APIKey,
		now:      opts.Clock,
		log:      opts.Logger,
		projects: map[string]*project{},
		faults:   opts.Faults,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.apiKey == "" {
		s.apiKey = "essu_" + randomToken(40)
	}
	seed := uint64(opts.Seed)
	if seed == 0 {
		var b [8]byte
		crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	s.ids = rand.New(rand.NewPCG(seed, 0x736c73796e63))      // "slsync"
	s.faultRng = rand.New(rand.NewPCG(seed, 0x6661756c7473)) // "faults"
	s.limiter.set(opts.RateLimit)
	s.resetStatsLocked()
	s.buildRoutes()
	if opts.DataFile != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// APIKey returns the Cloud API key clients must present.
func (s *Server) APIKey() string { return s.apiKey }

// SetFaults replaces the injected faults from now on. Invalid shares are
// clamped to [0,1].
func (s *Server) SetFaults(f Faults) {
	f.clamp()
	s.faultMu.Lock()
	s.faults = f
	s.faultMu.Unlock()
}

func (s *Server) currentFaults() Faults {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := Stats{Total: s.stats.Total, ByRoute: make(map[string]int, len(s.stats.ByRoute)), Injected: map[string]int{},
		RateLimited: s.stats.RateLimited}
	for k, v := range s.stats.ByRoute {
		out.ByRoute[k] = v
	}
	for k, v := range s.stats.Injected {
		out.Injected[k] = v
	}
	return out
}

// ResetStats zeroes the request counters.
func (s *Server) ResetStats() {
	s.statsMu.Lock()
	s.resetStatsLocked()
	s.statsMu.Unlock()
}

func (s *Server) resetStatsLocked() {
	s.stats = Stats{ByRoute: map[string]int{}, Injected: map[string]int{}}
}

func (s *Server) count(route string) {
	s.statsMu.Lock()
	s.stats.Total++
	s.stats.ByRoute[route]++
	s.statsMu.Unlock()
}

func (s *Server) countFault(kind string) {
	s.statsMu.Lock()
	s.stats.Injected[kind]++
	s.statsMu.Unlock()
}

// Close stops accepting requests (they get 503) and waits for the last
// state write. It does not close listeners: the http.Server that serves the
// handler owns those.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed.Store(true)
	s.persistMu.Lock() // waits for a write in progress
	s.persistMu.Unlock()
	s.mu.Unlock()
	return nil
}

// routeInfo describes one registered route.
type routeInfo struct {
	name     string // pattern as shown in Stats
	surface  surface
	mutating bool // may be answered by a dropped connection after committing
}

type surface int

const (
	surfaceCloud surface = iota
	surfaceES
)

// handle registers h for pattern. name is the route as Stats shows it.
func (s *Server) handle(pattern, name string, sf surface, mutating bool, h http.HandlerFunc) {
	s.routes[pattern] = routeInfo{name: name, surface: sf, mutating: mutating}
	s.mux.HandleFunc(pattern, h)
}

func (s *Server) buildRoutes() {
	s.mux = http.NewServeMux()
	s.routes = map[string]routeInfo{}
	const pp = "/api/v1/serverless/projects/{type}"
	c := func(pattern string, mutating bool, h http.HandlerFunc) {
		s.handle(pattern, pattern, surfaceCloud, mutating, h)
	}
	p := func(pattern string, mutating bool, h func(c *cloudCall)) {
		c(pattern, mutating, s.projectRoute(h))
	}
	p("GET "+pp, false, s.listProjects)
	p("POST "+pp, true, s.createProject)
	p("GET "+pp+"/{id}", false, s.getProject)
	p("PATCH "+pp+"/{id}", true, s.patchProject)
	p("DELETE "+pp+"/{id}", true, s.deleteProject)
	p("GET "+pp+"/{id}/status", false, s.projectStatus)
	p("POST "+pp+"/{id}/_reset-credentials", true, s.resetCredentials)
	p("POST "+pp+"/{id}/_resume", true, s.resumeProject)
	p("GET "+pp+"/{id}/_can-delete", false, s.canDelete)
	c("GET /api/v1/serverless/regions", false, s.listRegions)
	c("GET /api/v1/serverless/regions/{id}", false, s.getRegion)

	e := func(pattern string, mutating bool, h http.HandlerFunc) {
		s.handle(pattern, pattern, surfaceES, mutating, h)
	}
	// A client configured with the endpoint http://host/es/<id> asks for
	// "/es/<id>/" (or "/es/<id>"): both are cluster info, one route in Stats.
	s.handle("GET /es/{id}", "GET /es/{id}/", surfaceES, false, s.esInfo)
	s.handle("GET /es/{id}/{$}", "GET /es/{id}/", surfaceES, false, s.esInfo)
	e("GET /es/{id}/_security/_authenticate", false, s.esAuthenticateRoute)
	e("POST /es/{id}/_security/api_key", true, s.esCreateKey)
	e("PUT /es/{id}/_security/api_key", true, s.esCreateKey)
	e("GET /es/{id}/_security/api_key", false, s.esGetKeys)
	e("DELETE /es/{id}/_security/api_key", true, s.esInvalidateKeys)
	e("GET /es/{id}/_security/_query/api_key", false, s.esQueryKeys)
	e("POST /es/{id}/_security/_query/api_key", false, s.esQueryKeys)
	e("PUT /es/{id}/_security/api_key/{keyid}", true, s.esUpdateKey)
	e("POST /es/{id}/_security/api_key/_bulk_update", true, s.esBulkUpdate)

	s.mux.HandleFunc("/", s.notFound)
}

// ServeHTTP serves the Project API, the per-project Elasticsearch APIs and
// the /_emulator control routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	route, fault := "", ""
	defer func() {
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "route", route,
			"status", sw.status, "fault", fault, "duration", time.Since(start).Round(time.Microsecond))
	}()
	if s.closed.Load() {
		route = "closed"
		writeCloudErrors(sw, http.StatusServiceUnavailable, cloudError{codeInternal, "the emulator is shutting down"})
		return
	}
	if r.URL.Path == "/_emulator" || strings.HasPrefix(r.URL.Path, "/_emulator/") {
		route = "control"
		s.serveControl(sw, r)
		return
	}

	_, pattern := s.mux.Handler(r)
	info, ok := s.routes[pattern]
	if !ok {
		info = routeInfo{name: r.Method + " (no route)", surface: surfaceOf(r.URL.Path)}
	}
	route = info.name
	s.count(info.name)

	f := s.currentFaults()
	if f.Latency > 0 {
		s.countFault("latency")
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			fault = "cancelled"
			return
		}
	}
	// The Project API's rate limit counts every request that reaches it,
	// faulted or not; the Elasticsearch routes are separate clusters.
	if info.surface == surfaceCloud && s.rateLimit(sw, r) {
		fault = "rate_limit"
		return
	}
	switch fault = s.decide(f, info.mutating); fault {
	case "reset":
		s.countFault("reset")
		abortConn(w, true)
		return
	case "429":
		s.countFault("429")
		s.writeFault(sw, info.surface, http.StatusTooManyRequests)
		return
	case "500", "502", "503":
		s.countFault("5xx")
		code, _ := strconv.Atoi(fault)
		s.writeFault(sw, info.surface, code)
		return
	case "drop":
		s.countFault("drop")
		// The change is made, then the client never hears about it.
		dw := &discardWriter{h: http.Header{}}
		s.mux.ServeHTTP(dw, r)
		sw.status = dw.status
		abortConn(w, false)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

func surfaceOf(path string) surface {
	if strings.HasPrefix(path, "/es/") {
		return surfaceES
	}
	return surfaceCloud
}

// notFound answers requests no route matched, in the shape of the API the
// path belongs to.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if surfaceOf(r.URL.Path) == surfaceES {
		s.esNoHandler(w, r)
		return
	}
	if !s.cloudAuthOK(r) {
		s.writeUnauthorized(w)
		return
	}
	if len(s.routedMethods(r, "GET", "POST", "PUT", "PATCH", "DELETE")) > 0 {
		writeCloudErrors(w, http.StatusMethodNotAllowed, cloudError{codeMethod,
			fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)})
		return
	}
	writeCloudErrors(w, http.StatusNotFound, cloudError{codeNotFound,
		fmt.Sprintf("no API resource at %s %s", r.Method, r.URL.Path)})
}

// routedMethods lists those of methods, other than r's own, that have a
// route at r's path: a request no route matched is then a 405, not a 404.
func (s *Server) routedMethods(r *http.Request, methods ...string) []string {
	var out []string
	for _, m := range methods {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "/" && p != "" {
			out = append(out, m)
		}
	}
	return out
}

// cloudAuthOK checks the Cloud API key in constant time.
func (s *Server) cloudAuthOK(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "ApiKey") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(s.apiKey)) == 1
}

func (s *Server) writeUnauthorized(w http.ResponseWriter) {
	// The message is the one Elastic Cloud's API gives for a bad key.
	writeCloudErrors(w, http.StatusUnauthorized, cloudError{codeUnauthorized,
		"The supplied authentication is invalid: send the Cloud API key as 'Authorization: ApiKey <key>'"})
}

// tx runs fn with the state locked, at one instant of the clock, after
// removing projects whose deletion has completed. If fn (or the sweep)
// changed the state and a DataFile is set, the new state is written before tx
// returns, so a response is only sent once its change is durable.
func (s *Server) tx(fn func(now time.Time)) {
	s.mu.Lock()
	now := s.now()
	s.sweepLocked(now)
	fn(now)
	if !s.dirty || s.opts.DataFile == "" {
		s.dirty = false
		s.mu.Unlock()
		return
	}
	s.dirty = false
	snap, err := s.snapshotLocked()
	s.gen++
	gen := s.gen
	// Taking persistMu before releasing mu keeps writes in the order of the
	// changes and lets Close wait for the last one.
	s.persistMu.Lock()
	s.mu.Unlock()
	defer s.persistMu.Unlock()
	if err == nil {
		err = s.writeSnapshotLocked(gen, snap)
	}
	if err != nil {
		// Choice: the change stays committed in memory (the source of truth
		// while running) and the failure is logged loudly.
		s.log.Error("emulator: writing the data file failed; state is only in memory", "file", s.opts.DataFile, "err", err)
	}
}

// statusWriter records the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// discardWriter swallows a response whose connection is about to be dropped.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// randomToken returns n cryptographically random characters from
// [A-Za-z0-9].
func randomToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := io.ReadFull(crand.Reader, b); err != nil {
		panic(errors.New("emulator: crypto/rand failed: " + err.Error()))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
