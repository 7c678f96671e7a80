package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit is an optional real rate limit on the Project API, reported the
// way Elastic Cloud reports its own: every Project API response carries
// x-ratelimit-limit, x-ratelimit-remaining and x-ratelimit-interval, and a
// request over the limit is refused with 429 before it does anything. The
// per-project Elasticsearch routes are separate clusters and are not limited.
//
// The window is fixed: it opens with the first request after the previous
// window ended and lasts Interval, computed from Options.Clock so that tests
// can step through windows without sleeping. There is one window per Cloud
// API key; the emulator accepts one key, so requests with the key share one
// window and all others (no key, a wrong key) share another.
//
// Choice: Elastic documents the headers but neither a numeric limit nor the
// header formats. The emulator sends integers, the interval in whole seconds
// ("60"); that is why Interval must be a whole number of seconds.
type RateLimit struct {
	// Limit is how many requests one API key may make per window; 0 means
	// unlimited (no headers, no refusals).
	Limit int
	// Interval is the window's length, a whole number of seconds ≥ 1s.
	Interval time.Duration
}

// Enabled reports whether a limit is configured.
func (rl RateLimit) Enabled() bool { return rl.Limit > 0 }

// Validate reports a negative limit, or an interval that is not a whole
// number of seconds when a limit is set.
func (rl RateLimit) Validate() error {
	if rl.Limit < 0 {
		return fmt.Errorf("rate limit %d: must be 0 (unlimited) or more", rl.Limit)
	}
	if rl.Limit == 0 {
		return nil
	}
	if rl.Interval < time.Second || rl.Interval%time.Second != 0 {
		return fmt.Errorf("rate-limit interval %v: must be a whole number of seconds, at least 1s (it is sent in seconds)", rl.Interval)
	}
	return nil
}

// faultWindow is what an injected 429 reports when no limit is configured:
// a nominal window, exhausted. Choice: short, so that a client which waits
// for the window to roll over loses at most a second to a random fault.
func faultWindow() RateLimit { return RateLimit{Limit: 100, Interval: time.Second} }

// rateJSON is the wire form of RateLimit at /_emulator/ratelimit.
type rateJSON struct {
	Limit    int    `json:"limit"`
	Interval string `json:"interval"`
}

func (rl RateLimit) toJSON() rateJSON {
	return rateJSON{Limit: rl.Limit, Interval: rl.Interval.String()}
}

// rateWindow is one API key's current window.
type rateWindow struct {
	start time.Time
	used  int
}

// rateLimiter counts requests per API key in fixed windows.
type rateLimiter struct {
	mu      sync.Mutex
	cfg     RateLimit
	windows map[string]*rateWindow // principal -> window
}

// rateVerdict is the limiter's answer for one request.
type rateVerdict struct {
	cfg       RateLimit
	remaining int  // left in the window after this request
	refused   bool // over the limit: answer 429, change nothing
}

// set changes the limit and forgets all windows, so a new limit starts with
// a full budget.
func (l *rateLimiter) set(rl RateLimit) {
	l.mu.Lock()
	l.cfg = rl
	l.windows = map[string]*rateWindow{}
	l.mu.Unlock()
}

func (l *rateLimiter) config() RateLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

// admit counts one request of principal at now. ok is false when no limit is
// configured. A refused request is not counted: the budget cannot go below
// zero, so remaining stays 0 until the window ends.
func (l *rateLimiter) admit(principal string, now time.Time) (v rateVerdict, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.cfg.Enabled() {
		return rateVerdict{}, false
	}
	w := l.windows[principal]
	if w == nil || !now.Before(w.start.Add(l.cfg.Interval)) {
		w = &rateWindow{start: now}
		l.windows[principal] = w
	}
	if w.used >= l.cfg.Limit {
		return rateVerdict{cfg: l.cfg, remaining: 0, refused: true}, true
	}
	w.used++
	return rateVerdict{cfg: l.cfg, remaining: l.cfg.Limit - w.used}, true
}

// setRateHeaders writes Elastic Cloud's rate-limit headers.
func setRateHeaders(h http.Header, rl RateLimit, remaining int) {
	h.Set("X-Ratelimit-Limit", strconv.Itoa(rl.Limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Ratelimit-Interval", strconv.FormatInt(int64(rl.Interval/time.Second), 10))
}

// rateLimit applies the configured limit to a Project API request: it sets
// the headers on w and, over the limit, answers 429 and reports true (the
// request is done).
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request) (refused bool) {
	principal := "unauthenticated"
	if s.cloudAuthOK(r) {
		principal = "cloud-api-key"
	}
	v, ok := s.limiter.admit(principal, s.now())
	if !ok {
		return false
	}
	setRateHeaders(w.Header(), v.cfg, v.remaining)
	if !v.refused {
		return false
	}
	s.statsMu.Lock()
	s.stats.RateLimited++
	s.statsMu.Unlock()
	writeCloudErrors(w, http.StatusTooManyRequests, cloudError{codeRateLimited, fmt.Sprintf(
		"Too many requests: the limit is %d requests per %v for this API key; slow down or wait for the window to end",
		v.cfg.Limit, v.cfg.Interval)})
	return true
}

// setFaultRateHeaders makes an injected 429 on the Project API look like a
// real rate-limit refusal: the configured window (or faultWindow), exhausted.
func (s *Server) setFaultRateHeaders(h http.Header) {
	rl := s.limiter.config()
	if !rl.Enabled() {
		rl = faultWindow()
	}
	setRateHeaders(h, rl, 0)
}

// SetRateLimit replaces the Project API rate limit from now on; every
// window starts afresh.
func (s *Server) SetRateLimit(rl RateLimit) error {
	if err := rl.Validate(); err != nil {
		return err
	}
	s.limiter.set(rl)
	return nil
}

// serveRateLimitControl serves GET and PUT /_emulator/ratelimit.
func (s *Server) serveRateLimitControl(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, s.limiter.config().toJSON())
		return
	}
	var rj rateJSON
	if !decodeControlBody(w, r, &rj, "ratelimit", `{"limit":20,"interval":"1m"}; limit 0 turns it off`) {
		return
	}
	rl := RateLimit{Limit: rj.Limit}
	if !controlDuration(w, "interval", rj.Interval, &rl.Interval) {
		return
	}
	if err := s.SetRateLimit(rl); err != nil {
		writeCloudErrors(w, http.StatusBadRequest, cloudError{codeBadRequest, err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, rl.toJSON())
}
