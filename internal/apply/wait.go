package apply

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Default polling intervals for WaitFor: quick first polls (a project in the
// emulator is ready in a second or two), then no more often than every 5 s
// so that a hundred projects initializing at once stay within rate limits.
const (
	DefaultWaitInitial = 250 * time.Millisecond
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
	// Initial is the first delay between polls (DefaultWaitInitial); each
	// further delay doubles, up to Max (DefaultWaitMax).
	Initial, Max time.Duration
	// Timeout bounds the whole wait; 0 waits as long as ctx allows.
	Timeout time.Duration
	// Jitter randomises each delay within [d/2, d], so that many waits
	// started together do not poll in lockstep.
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
// immediate; later ones follow a capped exponential backoff. Errors name
// opts.What.
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

	bo := backoff{next: initial, max: maxDelay, jitter: opts.Jitter}
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

		timer := time.NewTimer(bo.delay())
		select {
		case <-pollCtx.Done():
			timer.Stop()
			return stopped()
		case <-timer.C:
		}
	}
}

// backoff yields capped exponential delays: next, 2×next, … up to max,
// each optionally jittered down to as little as half.
type backoff struct {
	next, max time.Duration
	jitter    bool
}

func (b *backoff) delay() time.Duration {
	d := b.next
	b.next = min(b.next*2, b.max)
	if b.jitter {
		d = d/2 + rand.N(d/2+1)
	}
	return d
}
