package apply

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Default polling schedule for WaitFor. Every key of a new project waits
// for that project to be initialized, so the time between "initialized" and
// the poll that notices it is lost on the critical path of an apply; the
// Project API documents creation as taking "seconds to minutes" and
// publishes no rate limit (the Terraform provider polls every 5 s). So:
//   - poll at a steady 500 ms for the first 10 s, which notices a project
//     that is ready in seconds (the emulator, a fast region) within half a
//     second — an exponential backoff from 250 ms had stretched to 2 s
//     gaps by then, noticing a 2 s initialization at about 3.75 s — and
//     never asks about one project more than twice a second;
//   - then double up to one poll every 5 s (Terraform's interval), so that
//     the minutes a slow creation may take, times a hundred projects, stay
//     well within rate limits: a 2-minute creation costs about 45 polls.
//
// Waits of many projects overlap; upward jitter (below) keeps their polls
// from moving in lockstep without ever polling sooner than the interval.
const (
	DefaultWaitInitial = 500 * time.Millisecond
	DefaultWaitSteady  = 10 * time.Second
	DefaultWaitMax     = 5 * time.Second
)

// CheckFunc polls once. done reports readiness; status is a short
// human-readable state ("initializing") for progress and for the timeout
// message. An error stops the wait unless it is wrapped with Retryable.
type CheckFunc func(ctx context.Context) (done bool, status string, err error)

// WaitOptions tune WaitFor. Zero values take the defaults.
type WaitOptions struct {
	// What is waited for, for messages: "project search-prod to be
	// initialized".
	What string
	// Initial is the delay between polls (DefaultWaitInitial) while Steady
	// (DefaultWaitSteady) has not yet passed since the wait started; then
	// each further delay doubles, up to Max (DefaultWaitMax). A negative
	// Steady starts doubling at once.
	Initial, Steady, Max time.Duration
	// Timeout bounds the whole wait; 0 waits as long as ctx allows.
	Timeout time.Duration
	// Jitter randomises each delay d within [d, d + d/5], so that many
	// waits started together drift apart instead of polling in lockstep.
	// It only ever lengthens a delay: Initial stays the shortest gap
	// between two polls.
	Jitter bool
	// OnPoll, if set, sees the status of every poll (for progress).
	OnPoll func(status string)
}

// retryableError marks a check error as transient.
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// Retryable marks err, returned by a CheckFunc, as transient: WaitFor keeps
// polling (until the timeout) instead of giving up. Use it for errors that a
// later poll may not see — a 5xx or connection reset left after the HTTP
// client's own retries — and not for ones that will not change (401, 404).
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err}
}

// IsRetryable reports whether err was marked with Retryable.
func IsRetryable(err error) bool {
	var re *retryableError
	return errors.As(err, &re)
}

// WaitTimeoutError is returned when Timeout passed before the check
// reported done.
type WaitTimeoutError struct {
	What       string
	Waited     time.Duration
	LastStatus string
	// LastErr is the last retryable error, if the last poll failed.
	LastErr error
}

func (e *WaitTimeoutError) Error() string {
	last := e.LastStatus
	if e.LastErr != nil {
		last = "error: " + e.LastErr.Error()
	}
	if last == "" {
		last = "unknown"
	}
	return fmt.Sprintf("gave up waiting for %s after %s (last status: %s); if it is still progressing, raise --wait-timeout and run apply again",
		e.What, roundDuration(e.Waited), last)
}

// Unwrap returns the last retryable error, if the last poll failed.
func (e *WaitTimeoutError) Unwrap() error { return e.LastErr }

// roundDuration drops precision nobody reads: milliseconds below a second,
// whole seconds above.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

// WaitFor polls check until it reports done, returns a non-retryable error,
// Timeout passes (*WaitTimeoutError) or ctx ends. The first poll is
// immediate; later ones come every Initial for the Steady period, then
// follow a capped exponential backoff. Errors name opts.What.
func WaitFor(ctx context.Context, check CheckFunc, opts WaitOptions) error {
	what := opts.What
	if what == "" {
		what = "readiness"
	}
	initial := opts.Initial
	if initial <= 0 {
		initial = DefaultWaitInitial
	}
	maxDelay := opts.Max
	if maxDelay <= 0 {
		maxDelay = DefaultWaitMax
	}
	maxDelay = max(maxDelay, initial)
	steady := opts.Steady
	if steady == 0 {
		steady = DefaultWaitSteady
	}

	start := time.Now()
	pollCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		pollCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}

	var lastStatus string
	var lastErr error
	stopped := func() error {
		// The caller's context ending is not our timeout.
		if ctx.Err() != nil {
			return fmt.Errorf("stopped waiting for %s: %w", what, context.Cause(ctx))
		}
		return &WaitTimeoutError{What: what, Waited: time.Since(start), LastStatus: lastStatus, LastErr: lastErr}
	}

	bo := backoff{next: initial, max: maxDelay, jitter: opts.Jitter, steadyUntil: start.Add(steady)}
	for {
		done, status, err := check(pollCtx)
		switch {
		case err != nil && pollCtx.Err() != nil:
			// The check was cut short by the timeout or cancellation.
			return stopped()
		case err != nil && !IsRetryable(err):
			return fmt.Errorf("waiting for %s: %w", what, err)
		case err != nil:
			lastErr = err
			status = "error: " + err.Error()
		default:
			lastErr, lastStatus = nil, status
		}
		if opts.OnPoll != nil {
			opts.OnPoll(status)
		}
		if done && err == nil {
			return nil
		}

		timer := time.NewTimer(bo.delay(time.Now()))
		select {
		case <-pollCtx.Done():
			timer.Stop()
			return stopped()
		case <-timer.C:
		}
	}
}

// backoff yields delays between polls: next until steadyUntil, then
// next, 2×next, … up to max; each optionally jittered up by as much as a
// fifth.
type backoff struct {
	next, max   time.Duration
	jitter      bool
	steadyUntil time.Time // zero: no steady phase
}

func (b *backoff) delay(now time.Time) time.Duration {
	d := b.next
	if !now.Before(b.steadyUntil) {
		b.next = min(b.next*2, b.max)
	}
	if b.jitter {
		d += rand.N(d/5 + 1)
	}
	return d
}
