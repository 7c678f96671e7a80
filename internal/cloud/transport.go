package cloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultTimeout bounds one HTTP attempt when the caller gives no client.
const DefaultTimeout = 60 * time.Second

// maxErrorBody is how much of an error response body is read and kept.
const maxErrorBody = 64 << 10

// RetryPolicy says how often and how patiently failed calls are repeated.
// The zero value means the defaults (DefaultRetryPolicy); tests shrink the
// delays to keep them fast.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, first one included.
	MaxAttempts int
	// BaseDelay is the backoff ceiling of the first retry; it doubles on
	// every further retry up to MaxDelay. The actual wait is uniformly
	// random in [0, ceiling] ("full jitter"), so that many clients hitting
	// the same rate limit do not retry in lock step.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter caps a server's Retry-After, so that a confused proxy
	// cannot park slsync for an hour.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy returns the values used for every zero field of a
// RetryPolicy. Five attempts with a 500 ms base wait up to ~0.5+1+2+4 s in
// the worst case, which rides out a short rate-limit window without hiding a
// real outage.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:   5,
		BaseDelay:     500 * time.Millisecond,
		MaxDelay:      20 * time.Second,
		MaxRetryAfter: 60 * time.Second,
	}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts > 0 {
		d.MaxAttempts = p.MaxAttempts
	}
	if p.BaseDelay > 0 {
		d.BaseDelay = p.BaseDelay
	}
	if p.MaxDelay > 0 {
		d.MaxDelay = p.MaxDelay
	}
	if p.MaxRetryAfter > 0 {
		d.MaxRetryAfter = p.MaxRetryAfter
	}
	return d
}

// backoff returns the wait before retry number n (1-based).
func (p RetryPolicy) backoff(n int) time.Duration {
	ceiling := p.BaseDelay
	for i := 1; i < n && ceiling < p.MaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.MaxDelay)
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// Options are what both clients share.
type Options struct {
	// HTTPClient does the requests; nil means NewHTTPClient(DefaultTimeout)
	// for this client alone.
	HTTPClient *http.Client
	// UserAgent is sent on every request, e.g. "slsync/1.2.0".
	UserAgent string
	// Logger receives one debug line per attempt (method, path, status,
	// duration) and warnings on retries; nil discards.
	Logger *slog.Logger
	// Retry tunes retries; zero fields take the defaults.
	Retry RetryPolicy
	// DisablePacing turns off a ProjectClient's rate-limit pacing (see
	// pacer): calls then go out as fast as they are made and rely on 429
	// retries alone. For callers that pace themselves, and for tests.
	DisablePacing bool
}

// NewHTTPClient returns the HTTP client slsync uses when given none: a
// per-attempt timeout, and a connection pool sized for --parallelism calls to
// one host (net/http's default keeps only 2 idle connections per host, which
// would reconnect on nearly every call of a parallel read). Share one client
// among all ESClients of a run so that they share the pool.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Timeout: timeout, Transport: tr}
}

// UserAgent returns the User-Agent slsync sends.
func UserAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return "slsync/" + version
}

// retryMode says what a call may do after a failure.
type retryMode int

const (
	// retrySafe: a read, or a write whose repetition is harmless (setting a
	// value again, invalidating again). Retried on 429, 5xx and any
	// transport error.
	retrySafe retryMode = iota
	// retryConditional: a write guarded by If-Match. Retried like a safe
	// call, because a repetition of a write that did happen fails with 412
	// instead of applying twice; such a 412 (or 404/409) after an ambiguous
	// attempt is reported as outcome unknown, not as a conflict.
	retryConditional
	// retryNever: a write that must not happen twice (create). Retried only
	// when the server provably did not process it: 429, or the request was
	// never written. 5xx or a failure after sending → OutcomeUnknownError.
	retryNever
)

// call describes one logical API call.
type call struct {
	method  string
	path    string // path below the base URL, already escaped where needed
	query   url.Values
	body    []byte // nil: no body
	header  http.Header
	mode    retryMode
	okCodes []int // success statuses; nil means any 2xx
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// transport is the request loop both clients use.
type transport struct {
	base      *url.URL
	http      *http.Client
	userAgent string
	log       *slog.Logger
	retry     RetryPolicy
	auth      func(*http.Request)
	// pacer, when set, delays calls to stay within the server's reported
	// rate limit; nil for APIs that report none.
	pacer *pacer
	// secrets are scrubbed from any server-supplied text kept in errors.
	secrets []string
	// decodeError turns an error response into an error value.
	decodeError func(c *call, status int, body []byte) error
}

func newTransport(base string, opts Options) (*transport, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(base), "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("invalid endpoint %q: want an absolute URL such as https://api.elastic-cloud.com", base)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid endpoint %q: scheme must be http or https", base)
	}
	if u.User != nil {
		return nil, fmt.Errorf("invalid endpoint %s://%s: credentials do not belong in the URL", u.Scheme, u.Host)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(DefaultTimeout)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = UserAgent("")
	}
	return &transport{base: u, http: hc, userAgent: ua, log: log, retry: opts.Retry.withDefaults()}, nil
}

// scrub removes known secrets from server-supplied text.
func (t *transport) scrub(s string) string {
	for _, sec := range t.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// do runs c with retries and returns the successful response or an error.
func (t *transport) do(ctx context.Context, c *call) (*response, error) {
	var (
		lastErr   error
		ambiguous bool // an earlier attempt may have been processed
	)
	for attempt := 1; ; attempt++ {
		tk, err := t.pacer.acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w (while holding the call back to stay within Elastic Cloud's rate limit)", c.method, c.path, err)
		}
		resp, sent, err := t.once(ctx, c)
		t.pacer.release(tk, resp)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s %s: %w", c.method, c.path, ctxErr)
		}
		var wait time.Duration
		retry := false
		if err != nil {
			// Transport failure: no HTTP answer.
			switch {
			case !sent:
				retry = true // nothing reached the server
			case c.mode == retryNever:
				return nil, &OutcomeUnknownError{Method: c.method, Path: c.path, Err: err}
			default:
				retry = true
				ambiguous = true
			}
			lastErr = err
		} else if t.success(c, resp.status) {
			t.noteRateLimit(c, resp.header)
			return resp, nil
		} else {
			t.noteRateLimit(c, resp.header)
			apiErr := t.decodeError(c, resp.status, resp.body)
			switch {
			case resp.status == http.StatusTooManyRequests:
				retry = true // rejected before processing
				wait = t.retryAfter(resp.header)
			case resp.status >= 500 && c.mode == retryNever:
				return nil, &OutcomeUnknownError{Method: c.method, Path: c.path, Err: apiErr}
			case resp.status >= 500:
				retry = true
				ambiguous = true
				wait = t.retryAfter(resp.header)
			case ambiguous && c.mode == retryConditional &&
				(resp.status == http.StatusPreconditionFailed || resp.status == http.StatusConflict || resp.status == http.StatusNotFound):
				// Our own earlier attempt may have applied the change and
				// moved the ETag: we cannot tell that from a real conflict.
				return nil, &OutcomeUnknownError{Method: c.method, Path: c.path, Err: apiErr}
			default:
				return nil, apiErr
			}
			lastErr = apiErr
		}
		if !retry || attempt >= t.retry.MaxAttempts {
			if ambiguous && c.mode != retrySafe {
				return nil, &OutcomeUnknownError{Method: c.method, Path: c.path, Err: lastErr}
			}
			if err != nil {
				return nil, &TransportError{Method: c.method, Path: c.path, Attempts: attempt, Err: err}
			}
			return nil, lastErr
		}
		if wait == 0 {
			wait = t.retry.backoff(attempt)
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, "retrying API call",
			slog.String("method", c.method), slog.String("path", c.path),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("cause", errorCause(lastErr)))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%s %s: %w (after %d attempts; last failure: %s)", c.method, c.path, ctx.Err(), attempt, errorCause(lastErr))
		case <-timer.C:
		}
	}
}

func errorCause(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (t *transport) success(c *call, status int) bool {
	if c.okCodes == nil {
		return status >= 200 && status < 300
	}
	for _, s := range c.okCodes {
		if s == status {
			return true
		}
	}
	return false
}

// once performs one attempt. sent reports whether the request was (or may
// have been) written to the server; when false, the server cannot have acted
// on it.
func (t *transport) once(ctx context.Context, c *call) (_ *response, sent bool, _ error) {
	// c.path is already escaped; appending strings keeps it that way.
	target := t.base.String() + c.path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	// WroteRequest runs on the transport's writer goroutine.
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), c.method, target, body)
	if err != nil {
		return nil, false, err
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", t.userAgent)
	req.Header.Set("Accept", "application/json")
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t.auth(req)
	start := time.Now()
	res, err := t.http.Do(req)
	if err != nil {
		t.log.LogAttrs(ctx, slog.LevelDebug, "API call failed", slog.String("method", c.method),
			slog.String("path", c.path), slog.Duration("took", time.Since(start)), slog.String("error", err.Error()))
		return nil, wrote.Load() || !notSent(err), cleanTransportError(err)
	}
	defer res.Body.Close()
	limit := int64(maxErrorBody)
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		limit = 1 << 30
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit))
	t.log.LogAttrs(ctx, slog.LevelDebug, "API call", slog.String("method", c.method),
		slog.String("path", c.path), slog.Int("status", res.StatusCode), slog.Duration("took", time.Since(start)))
	if err != nil {
		// The server answered but the body was cut: the request was processed.
		return nil, true, cleanTransportError(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: data}, true, nil
}

// notSent reports whether err proves the request never left this host: the
// connection could not be made at all.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// cleanTransportError drops the *url.Error wrapper (whose text repeats the
// full URL) and keeps the cause; the caller adds method and path.
func cleanTransportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (t *transport) retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = time.Until(at)
	}
	if d <= 0 {
		return 0
	}
	return min(d, t.retry.MaxRetryAfter)
}

// noteRateLimit logs the rate-limit headers Elastic Cloud sends, so that a
// user who sees slowness in -log-level debug can tell why (the pacer acts
// on them; see pacer.go).
func (t *transport) noteRateLimit(c *call, h http.Header) {
	rem := h.Get("X-Ratelimit-Remaining")
	if rem == "" {
		return
	}
	level := slog.LevelDebug
	if n, err := strconv.Atoi(rem); err == nil && n <= 0 {
		level = slog.LevelInfo
	}
	t.log.LogAttrs(context.Background(), level, "rate limit", slog.String("path", c.path),
		slog.String("remaining", rem), slog.String("limit", h.Get("X-Ratelimit-Limit")),
		slog.String("interval", h.Get("X-Ratelimit-Interval")))
}
