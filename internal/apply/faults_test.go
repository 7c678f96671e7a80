package apply_test

import (
	"path/filepath"
	"testing"

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/emulator"
)

// Under 429 storms, 5xx, creates committed but answered with a dropped
// connection, and connection resets, repeated applies end with exactly the
// desired projects and keys, no duplicate, and every live key's secret
// delivered. Lost project creates are adopted (their password is lost, so
// credentials are reset); lost key creates are invalidated and made anew.
func TestApplyConvergesUnderFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults emulator.Faults
	}{
		{"429 storm", emulator.Faults{P429: 0.5}},
		{"5xx", emulator.Faults{P5xx: 0.3}},
		{"dropped after commit", emulator.Faults{PDrop: 0.4}},
		{"resets", emulator.Faults{PReset: 0.3}},
		{"everything", emulator.Faults{P429: 0.15, P5xx: 0.1, PDrop: 0.2, PReset: 0.1}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, emulator.Options{Seed: int64(100 + i)})
			set := load(t, filepath.Join("..", "..", "examples", "fleet"))
			e.emu.SetFaults(t, tc.faults)
			ok := false
			for run := 0; run < 8 && !ok; run++ {
				r := e.applyTolerant(set, func(o *apply.Options) { o.AllowCredentialReset = true })
				ok = r != nil && r.OK()
			}
			e.emu.SetFaults(t, emulator.Faults{})
			if !ok {
				// Without faults one more run must finish the job.
				requireOK(t, e.applySet(set, func(o *apply.Options) { o.AllowCredentialReset = true }))
			}
			e.converged(set)
			for k, ids := range e.allProjects() {
				if len(ids) > 1 {
					t.Fatalf("%s exists %d times: %v", k, len(ids), ids)
				}
			}
			if tc.faults == (emulator.Faults{PDrop: tc.faults.PDrop}) {
				st := e.emu.Stats(t)
				if st.Injected["drop"] == 0 {
					t.Fatalf("no drop was injected: %+v", st.Injected)
				}
			}
		})
	}
}
