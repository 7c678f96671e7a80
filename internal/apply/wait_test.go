package apply

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCheck answers from a script of responses, then repeats the last one,
// and records when it was called.
type fakeCheck struct {
	mu      sync.Mutex
	script  []response
	calls   int
	callsAt []time.Time
}

type response struct {
	done   bool
	status string
	err    error
}

func (f *fakeCheck) check(ctx context.Context) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callsAt = append(f.callsAt, time.Now())
	r := f.script[min(f.calls, len(f.script)-1)]
	f.calls++
	return r.done, r.status, r.err
}

func TestWaitForBecomesReady(t *testing.T) {
	f := &fakeCheck{script: []response{
		{status: "initializing"}, {status: "initializing"}, {status: "initializing"}, {status: "initializing"},
		{done: true, status: "initialized"},
	}}
	var seen []string
	err := WaitFor(context.Background(), f.check, WaitOptions{
		What: "project search-prod to be initialized", Initial: 2 * time.Millisecond, Steady: -1, Max: 5 * time.Millisecond,
		OnPoll: func(s string) { seen = append(seen, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, ","); got != "initializing,initializing,initializing,initializing,initialized" {
		t.Errorf("OnPoll saw %s", got)
	}
	// Timers never fire early, so the backoff shows as lower bounds on the
	// gaps between polls: 2, 4, 5 (capped), 5 ms.
	for i, want := range []time.Duration{2, 4, 5, 5} {
		if gap := f.callsAt[i+1].Sub(f.callsAt[i]); gap < want*time.Millisecond {
			t.Errorf("gap %d = %v, want at least %v", i, gap, want*time.Millisecond)
		}
	}
}

func TestWaitForErrors(t *testing.T) {
	unauthorized := errors.New("401 Unauthorized: check EC_API_KEY")
	unavailable := errors.New("503 Service Unavailable")
	tests := []struct {
		name      string
		script    []response
		timeout   time.Duration
		wantErr   []string
		wantIs    error
		wantCalls func(int) bool
		timedOut  bool
	}{
		{
			name:      "fatal error stops at once",
			script:    []response{{status: "initializing"}, {err: unauthorized}},
			wantErr:   []string{"waiting for project p to be initialized: 401 Unauthorized"},
			wantIs:    unauthorized,
			wantCalls: func(n int) bool { return n == 2 },
		},
		{
			name:      "retryable errors are polled through",
			script:    []response{{err: Retryable(unavailable)}, {err: Retryable(unavailable)}, {done: true, status: "initialized"}},
			wantCalls: func(n int) bool { return n == 3 },
		},
		{
			name:      "timeout names what and the last status",
			script:    []response{{status: "initializing"}},
			timeout:   30 * time.Millisecond,
			wantErr:   []string{"gave up waiting for project p to be initialized after", "last status: initializing", "--wait-timeout"},
			wantCalls: func(n int) bool { return n >= 2 },
			timedOut:  true,
		},
		{
			name:      "timeout after retryable errors names the error",
			script:    []response{{status: "initializing"}, {err: Retryable(unavailable)}},
			timeout:   30 * time.Millisecond,
			wantErr:   []string{"last status: error: 503 Service Unavailable"},
			wantIs:    unavailable,
			wantCalls: func(n int) bool { return n >= 2 },
			timedOut:  true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCheck{script: tc.script}
			var polls []string
			err := WaitFor(context.Background(), f.check, WaitOptions{
				What: "project p to be initialized", Initial: time.Millisecond, Max: 2 * time.Millisecond,
				Timeout: tc.timeout, Jitter: true, OnPoll: func(s string) { polls = append(polls, s) },
			})
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			for _, w := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not contain %q", err, w)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tc.wantIs)
			}
			var te *WaitTimeoutError
			if errors.As(err, &te) != tc.timedOut {
				t.Errorf("timeout error = %v, want %v (%v)", te != nil, tc.timedOut, err)
			}
			if !tc.wantCalls(f.calls) {
				t.Errorf("check called %d times", f.calls)
			}
			// Every poll is reported, except a fatal one and one that the
			// timeout cut short.
			if n := len(polls); n != f.calls && n != f.calls-1 {
				t.Errorf("OnPoll called %d times for %d checks", n, f.calls)
			}
		})
	}
}

func TestWaitForStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeCheck{script: []response{{status: "initializing"}}}
	polls := 0
	err := WaitFor(ctx, f.check, WaitOptions{
		What: "project p", Initial: time.Millisecond, Timeout: time.Minute,
		OnPoll: func(string) {
			polls++
			if polls == 2 {
				cancel()
			}
		},
	})
	var te *WaitTimeoutError
	if !errors.Is(err, context.Canceled) || errors.As(err, &te) || !strings.Contains(err.Error(), "stopped waiting for project p") {
		t.Errorf("after cancel: %v", err)
	}
	if f.calls != 2 {
		t.Errorf("check called %d times after cancel at the 2nd poll", f.calls)
	}
}

func TestWaitForCutsShortABlockedCheck(t *testing.T) {
	// A check stuck in a slow request must not hold the wait past Timeout.
	blocked := func(ctx context.Context) (bool, string, error) {
		<-ctx.Done()
		return false, "", ctx.Err()
	}
	err := WaitFor(context.Background(), blocked, WaitOptions{What: "alias x to be free", Timeout: 20 * time.Millisecond})
	var te *WaitTimeoutError
	if !errors.As(err, &te) || te.What != "alias x to be free" {
		t.Errorf("blocked check: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	now := time.Now()
	b := backoff{next: 250 * time.Millisecond, max: 5 * time.Second}
	var got []time.Duration
	for range 8 {
		got = append(got, b.delay(now))
	}
	want := []time.Duration{250, 500, 1000, 2000, 4000, 5000, 5000, 5000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Errorf("delay %d = %v, want %v", i, got[i], want[i]*time.Millisecond)
		}
	}

	// A steady phase keeps the first delay until it ends, then doubles.
	s := backoff{next: 500 * time.Millisecond, max: 5 * time.Second, steadyUntil: now.Add(10 * time.Second)}
	got = got[:0]
	for i := range 24 {
		got = append(got, s.delay(now.Add(time.Duration(i)*500*time.Millisecond)))
	}
	for i, d := range got {
		want := 500 * time.Millisecond
		if i > 20 {
			want = min(500*time.Millisecond<<(i-20), 5*time.Second)
		}
		if d != want {
			t.Errorf("steady schedule: delay %d (at %v) = %v, want %v", i, time.Duration(i)*500*time.Millisecond, d, want)
		}
	}

	// Jitter only lengthens a delay, by up to a fifth.
	j := backoff{next: 100 * time.Millisecond, max: 400 * time.Millisecond, jitter: true}
	distinct := map[time.Duration]bool{}
	for i := range 50 {
		base := min(100*time.Millisecond<<min(i, 3), 400*time.Millisecond)
		d := j.delay(now)
		if d < base || d > base+base/5 {
			t.Errorf("jittered delay %d = %v, want within [%v, %v]", i, d, base, base+base/5)
		}
		distinct[d] = true
	}
	if len(distinct) < 10 {
		t.Errorf("jitter produced only %d distinct delays in 50", len(distinct))
	}
}

// WaitFor with the defaults polls at once, then every DefaultWaitInitial
// (never sooner, jitter or not) during the steady phase.
func TestWaitForSteadyDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("waits about 1.5 s")
	}
	f := &fakeCheck{script: []response{{status: "initializing"}, {status: "initializing"}, {status: "initializing"}, {done: true, status: "initialized"}}}
	start := time.Now()
	if err := WaitFor(context.Background(), f.check, WaitOptions{What: "p", Jitter: true}); err != nil {
		t.Fatal(err)
	}
	if first := f.callsAt[0].Sub(start); first > 100*time.Millisecond {
		t.Errorf("first poll after %v, want at once", first)
	}
	for i := 1; i < len(f.callsAt); i++ {
		gap := f.callsAt[i].Sub(f.callsAt[i-1])
		// Timers never fire early; late ones (a loaded machine) get slack,
		// but a doubling backoff would reach 2 × 500 ms by the second gap.
		if gap < DefaultWaitInitial || gap >= 2*DefaultWaitInitial-100*time.Millisecond {
			t.Errorf("gap %d = %v, want %v (+ up to a fifth of jitter)", i, gap, DefaultWaitInitial)
		}
	}
}

func TestRetryable(t *testing.T) {
	base := errors.New("reset")
	if Retryable(nil) != nil {
		t.Error("Retryable(nil) != nil")
	}
	r := Retryable(base)
	if !IsRetryable(r) || !errors.Is(r, base) || r.Error() != "reset" || IsRetryable(base) {
		t.Errorf("Retryable wrapping broken: %v", r)
	}
}
