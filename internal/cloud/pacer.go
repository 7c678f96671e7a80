package cloud

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pacer spreads one ProjectClient's calls over Elastic Cloud's rate-limit
// window so that a burst (a parallel plan or apply) slows down before the
// API refuses it, instead of collecting 429s and backing off blindly.
//
// Elastic Cloud reports, on every response, x-ratelimit-limit (calls per
// window), x-ratelimit-remaining (left in the current window) and
// x-ratelimit-interval (the window's length), but not when the window ends.
// The pacer therefore keeps an estimate that is never early:
//
//   - The current window began no later than the first answer seen in it,
//     so it ends no later than that moment plus the interval (winStart).
//   - What is left is at most the lowest remaining reported in the window
//     minus every call still in flight (each may use up one more), so a call
//     is only sent while that estimate is above zero. At zero, calls wait
//     for the window to end; after it ends the full limit is assumed.
//   - Below a tenth of the limit, calls are spaced so that the rest of the
//     budget is spread evenly over the rest of the window.
//   - A call sent after an answer reported remaining R was counted after
//     that answer's call; if it reports R or more, the server has begun a
//     new window (earlier than estimated, or ours began mid-window): pacing
//     stops at once.
//
// The pacer only delays calls; it never sends one, so a plan costs the same
// number of calls with it. Until a response carries the headers (and after
// one that does not, or carries values it cannot read) it does nothing. A
// 429 tightens a window it already knows but does not open one: a refusal
// whose window it has never seen says nothing about when it ends, so
// backoff (transport.do) handles it. Waiting always stops when ctx ends.
type pacer struct {
	log *slog.Logger

	mu       sync.Mutex
	known    bool // the server reports a limit and the state below holds
	limit    int
	interval time.Duration
	epoch    uint64    // bumped when a new window is assumed or seen
	winStart time.Time // latest possible start of this window; zero: no answer in it yet
	minRem   int       // budget left in this window, less calls in flight when it was set
	floorRem int       // lowest remaining any answer reported in this window …
	floorAt  time.Time // … and when that answer arrived
	inflight int       // calls of this epoch sent and not yet answered
	// startRem is the remaining of the answer that began this epoch, -1
	// when the epoch began because time ran out. A call of the previous
	// epoch whose answer reports more was counted before that answer (or
	// in an older window), so the budget reserved for it is given back.
	startRem int
	lastSend time.Time // when the last call of this epoch was sent
	changed  chan struct{}
}

// pacerTicket ties an answer to the window its call was sent in.
type pacerTicket struct {
	epoch uint64
	sent  time.Time
}

func newPacer(log *slog.Logger) *pacer {
	return &pacer{log: log, changed: make(chan struct{})}
}

// rateHeaders are the parsed x-ratelimit headers of one response.
type rateHeaders struct {
	limit, remaining int
	interval         time.Duration
}

// parseRateHeaders reads Elastic Cloud's rate-limit headers. Their format is
// not documented, so the interval is read leniently: whole seconds ("60"),
// or a Go duration ("60s", "1m"). ok is false when any header is missing or
// unreadable.
func parseRateHeaders(h http.Header) (rateHeaders, bool) {
	limit, err1 := strconv.Atoi(strings.TrimSpace(h.Get("X-Ratelimit-Limit")))
	rem, err2 := strconv.Atoi(strings.TrimSpace(h.Get("X-Ratelimit-Remaining")))
	iv := parseInterval(h.Get("X-Ratelimit-Interval"))
	if err1 != nil || err2 != nil || limit <= 0 || rem < 0 || iv <= 0 {
		return rateHeaders{}, false
	}
	return rateHeaders{limit: limit, remaining: min(rem, limit), interval: iv}, true
}

func parseInterval(v string) time.Duration {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 || secs > int64(24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d > 24*time.Hour {
		return 0
	}
	return d
}

// acquire waits until a call may be sent under the known rate limit and
// registers it as in flight; release must follow. A nil pacer never waits.
func (p *pacer) acquire(ctx context.Context) (pacerTicket, error) {
	if p == nil {
		return pacerTicket{}, nil
	}
	for logged := false; ; logged = true {
		p.mu.Lock()
		now := time.Now()
		wait, why := p.delayLocked(now)
		if wait == 0 {
			p.inflight++
			p.lastSend = now
			tk := pacerTicket{epoch: p.epoch, sent: now}
			p.mu.Unlock()
			return tk, nil
		}
		changed := p.changed
		left, limit, interval := p.minRem-p.inflight, p.limit, p.interval
		p.mu.Unlock()
		if !logged {
			// Once per held call; it re-checks on every answer.
			p.log.LogAttrs(ctx, slog.LevelDebug, "rate limit: pacing API call", slog.String("reason", why),
				slog.Int("left", left), slog.Int("limit", limit), slog.Duration("interval", interval),
				slog.Duration("wait", max(wait, 0)))
		}

		var timer *time.Timer
		var expired <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			expired = timer.C
		}
		select {
		case <-ctx.Done():
		case <-expired:
		case <-changed:
		}
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return pacerTicket{}, err
		}
	}
}

// delayLocked says how long a call must wait at now: 0 to send, a positive
// duration, or -1 to wait for the next answer (a new window has begun but
// none of its answers has arrived).
func (p *pacer) delayLocked(now time.Time) (time.Duration, string) {
	if !p.known {
		return 0, ""
	}
	if !p.winStart.IsZero() && !now.Before(p.winStart.Add(p.interval)) {
		// The window has certainly ended: assume the full budget, less what
		// the calls still in flight may take from it.
		p.restartLocked(p.limit, time.Time{})
	}
	left := p.minRem - p.inflight
	if left <= 0 {
		switch {
		case !p.winStart.IsZero():
			return p.winStart.Add(p.interval).Sub(now), "window used up"
		case p.inflight > 0:
			return -1, "window used up by calls in flight"
		default:
			// Nothing in flight to learn from: send, and let the answer
			// (a 429 at worst, retried) tell.
			return 0, ""
		}
	}
	if left*10 >= p.limit || p.lastSend.IsZero() {
		return 0, ""
	}
	// Low: spread the calls left evenly between the last call and the end
	// of the window (or, not knowing the end yet, at the sustained rate).
	// Recomputed on every answer, so a budget that turns out larger than
	// feared shortens the wait.
	gap := p.interval / time.Duration(p.limit)
	if !p.winStart.IsZero() {
		gap = p.winStart.Add(p.interval).Sub(p.lastSend) / time.Duration(left+1)
	}
	if at := p.lastSend.Add(gap); now.Before(at) {
		return at.Sub(now), "budget low"
	}
	return 0, ""
}

// restartLocked begins a new window estimate with remaining rem, started at
// start (zero: not yet seen). Calls in flight are assumed to use it up too;
// they belong to the old epoch from now on.
func (p *pacer) restartLocked(rem int, start time.Time) {
	p.epoch++
	p.startRem = -1
	if !start.IsZero() {
		p.startRem = rem
	}
	p.minRem = rem - p.inflight
	p.floorRem, p.floorAt = rem, start
	p.inflight = 0
	p.winStart = start
	p.lastSend = time.Time{}
	p.signalLocked()
}

func (p *pacer) signalLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// release records the end of a call: res is its answer, nil when none came.
func (p *pacer) release(tk pacerTicket, res *response) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.signalLocked()
	current := tk.epoch == p.epoch
	if current {
		p.inflight--
	}
	if res == nil {
		return
	}
	h, ok := parseRateHeaders(res.header)
	switch {
	case !ok && res.status == http.StatusTooManyRequests:
		// A refusal without readable headers: leave what we know.
		return
	case !ok:
		p.known = false
		return
	case !p.known && res.status == http.StatusTooManyRequests:
		return
	case !p.known:
		p.known = true
		p.limit, p.interval = h.limit, h.interval
		p.restartLocked(h.remaining, time.Now())
		return
	}
	p.limit, p.interval = h.limit, h.interval
	now := time.Now()
	switch {
	case !current:
		// Sent in an earlier window estimate, it was counted against this
		// one at the restart; give the budget back when its answer proves
		// it was not taken from this window.
		if tk.epoch+1 == p.epoch && p.startRem >= 0 && h.remaining > p.startRem {
			p.minRem++
		}
	case p.winStart.IsZero():
		p.winStart = now
		p.minRem = min(p.minRem, h.remaining)
		p.floorRem, p.floorAt = h.remaining, now
	case res.status != http.StatusTooManyRequests && tk.sent.After(p.floorAt) && h.remaining >= p.floorRem:
		p.log.LogAttrs(context.Background(), slog.LevelDebug, "rate limit: new window",
			slog.Int("remaining", h.remaining), slog.Int("limit", h.limit))
		p.restartLocked(h.remaining, now)
	default:
		p.minRem = min(p.minRem, h.remaining)
		if h.remaining < p.floorRem {
			p.floorRem, p.floorAt = h.remaining, now
		}
	}
}
