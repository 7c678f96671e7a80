package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Faults are injected into API requests (never into /_emulator routes), so
// that tests can prove a client survives what the real service does now and
// then. Decisions come from the seeded generator.
type Faults struct {
	// Latency is added to every request.
	Latency time.Duration
	// P429 and P5xx are the shares of requests answered 429, or 500/502/503,
	// before doing anything.
	P429, P5xx float64
	// PDrop is the share of mutating requests whose change is committed but
	// whose response is dropped (the connection is closed without a reply).
	PDrop float64
	// PReset is the share of requests answered with a TCP reset before doing
	// anything.
	PReset float64
}

// faultsJSON is the wire form of Faults at /_emulator/faults.
type faultsJSON struct {
	Latency string  `json:"latency"`
	P429    float64 `json:"p429"`
	P5xx    float64 `json:"p5xx"`
	PDrop   float64 `json:"pdrop"`
	PReset  float64 `json:"preset"`
}

func (f Faults) toJSON() faultsJSON {
	return faultsJSON{Latency: f.Latency.String(), P429: f.P429, P5xx: f.P5xx, PDrop: f.PDrop, PReset: f.PReset}
}

// Validate reports shares outside [0,1], shares that add up to more than
// one, or a negative latency.
func (f Faults) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"429", f.P429}, {"5xx", f.P5xx}, {"drop", f.PDrop}, {"reset", f.PReset}} {
		if p.v < 0 || p.v > 1 || p.v != p.v {
			return fmt.Errorf("fault share %s=%v: must be between 0 and 1", p.name, p.v)
		}
	}
	if f.P429+f.P5xx+f.PReset > 1 {
		return fmt.Errorf("fault shares 429 (%v) + 5xx (%v) + reset (%v) exceed 1", f.P429, f.P5xx, f.PReset)
	}
	if f.Latency < 0 {
		return fmt.Errorf("latency %v: must not be negative", f.Latency)
	}
	return nil
}

func (f *Faults) clamp() {
	c := func(p *float64) {
		if *p < 0 || *p != *p {
			*p = 0
		}
		if *p > 1 {
			*p = 1
		}
	}
	c(&f.P429)
	c(&f.P5xx)
	c(&f.PDrop)
	c(&f.PReset)
	if f.Latency < 0 {
		f.Latency = 0
	}
}

// decide draws the fault (if any) for one request: "", "reset", "429",
// "500", "502", "503" or "drop".
func (s *Server) decide(f Faults, mutating bool) string {
	if f.PReset == 0 && f.P429 == 0 && f.P5xx == 0 && (f.PDrop == 0 || !mutating) {
		return ""
	}
	s.faultMu.Lock()
	u := s.faultRng.Float64()
	v := s.faultRng.Float64()
	k := s.faultRng.IntN(3)
	s.faultMu.Unlock()
	switch {
	case u < f.PReset:
		return "reset"
	case u < f.PReset+f.P429:
		return "429"
	case u < f.PReset+f.P429+f.P5xx:
		return [...]string{"500", "502", "503"}[k]
	case mutating && v < f.PDrop:
		return "drop"
	}
	return ""
}

// writeFault answers an injected 429/5xx in the shape of the API it hit.
func (s *Server) writeFault(w http.ResponseWriter, sf surface, status int) {
	if sf == surfaceES {
		if status == http.StatusTooManyRequests || status == http.StatusInternalServerError {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
		}
		switch status {
		case http.StatusTooManyRequests:
			// What Elasticsearch answers when a thread pool queue is full.
			writeESErr(w, newESErr(status, "es_rejected_execution_exception",
				"rejected execution of security request (emulated fault: too many requests)"))
		case http.StatusInternalServerError:
			writeESErr(w, newESErr(status, "exception", "emulated internal server error"))
		default:
			// 502/503 come from Elastic Cloud's proxy, not from Elasticsearch,
			// so they carry the proxy's body rather than an ES envelope.
			writeJSON(w, status, map[string]any{"ok": false, "message": "Resource temporarily unavailable (emulated fault)"})
		}
		return
	}
	if status == http.StatusTooManyRequests {
		s.setFaultRateHeaders(w.Header())
		writeCloudErrors(w, status, cloudError{codeRateLimited, "Too many requests: rate limit exceeded (emulated fault), retry with backoff"})
		return
	}
	writeCloudErrors(w, status, cloudError{codeInternal, fmt.Sprintf("emulated server error %d", status)})
}

// abortConn closes the client's connection without a response; with reset
// it sets SO_LINGER 0 first so the client sees a TCP RST. When the writer
// cannot be hijacked (in-process recorders, HTTP/2) it falls back to
// http.ErrAbortHandler, which makes net/http abort the response.
func abortConn(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if reset {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	conn.Close()
}

// serveControl serves /_emulator: faults, the rate limit and stats for
// tests and benchmarks, and a suspend switch (the real service suspends
// projects on its own, e.g. when a trial ends; there is no public API for
// it). These routes need the Cloud API key and are never faulted, counted or
// rate-limited.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if !s.cloudAuthOK(r) {
		s.writeUnauthorized(w)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/_emulator/faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.currentFaults().toJSON())
	case path == "/_emulator/faults" && r.Method == http.MethodPut:
		var fj faultsJSON
		if !decodeControlBody(w, r, &fj, "faults", `{"latency":"50ms","p429":0.1,"p5xx":0,"pdrop":0,"preset":0}`) {
			return
		}
		f := Faults{P429: fj.P429, P5xx: fj.P5xx, PDrop: fj.PDrop, PReset: fj.PReset}
		if !controlDuration(w, "latency", fj.Latency, &f.Latency) {
			return
		}
		if err := f.Validate(); err != nil {
			writeCloudErrors(w, http.StatusBadRequest, cloudError{codeBadRequest, err.Error()})
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, f.toJSON())
	case path == "/_emulator/ratelimit" && (r.Method == http.MethodGet || r.Method == http.MethodPut):
		s.serveRateLimitControl(w, r)
	case path == "/_emulator/stats" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Stats())
	case path == "/_emulator/stats" && r.Method == http.MethodDelete:
		s.ResetStats()
		writeJSON(w, http.StatusOK, s.Stats())
	case strings.HasPrefix(path, "/_emulator/projects/") && strings.HasSuffix(path, "/_suspend") && r.Method == http.MethodPost:
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/_emulator/projects/"), "/_suspend")
		s.suspendProject(w, id)
	default:
		writeCloudErrors(w, http.StatusNotFound, cloudError{codeNotFound,
			"unknown emulator route; use GET|PUT /_emulator/faults, GET|PUT /_emulator/ratelimit, GET|DELETE /_emulator/stats, POST /_emulator/projects/{id}/_suspend"})
	}
}

// decodeControlBody reads a /_emulator PUT body into v, rejecting unknown
// fields; on failure it answers 400 with the expected shape and reports
// false.
func decodeControlBody(w http.ResponseWriter, r *http.Request, v any, what, example string) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		writeCloudErrors(w, http.StatusBadRequest, cloudError{codeBadRequest, "reading the body: " + err.Error()})
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeCloudErrors(w, http.StatusBadRequest, cloudError{codeBadRequest,
			what + " body: " + err.Error() + " (expected " + example + ")"})
		return false
	}
	return true
}

// controlDuration parses a duration field of a /_emulator body into dst
// ("" leaves it zero); on failure it answers 400 and reports false.
func controlDuration(w http.ResponseWriter, field, v string, dst *time.Duration) bool {
	if v == "" {
		return true
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		writeCloudErrors(w, http.StatusBadRequest, cloudError{codeBadRequest, field + ": " + err.Error()})
		return false
	}
	*dst = d
	return true
}
