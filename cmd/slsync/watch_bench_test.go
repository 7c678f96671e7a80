package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator"
)

// fleetManifest writes a manifest of n elasticsearch projects with two API
// keys each; suffix changes the first project's name.
func fleetManifest(n int, suffix string) string {
	var b strings.Builder
	b.WriteString("owner: bench\nprojects:\n")
	for i := range n {
		name := fmt.Sprintf("Project %d", i)
		if i == 0 {
			name += suffix
		}
		fmt.Fprintf(&b, `  p%02d:
    type: elasticsearch
    name: %s
    region_id: aws-us-east-1
    tags: {team: t%d}
    api_keys:
      reader:
        expiration: 30d
        role_descriptors:
          r: {indices: [{names: [logs-*], privileges: [read]}]}
      writer:
        role_descriptors:
          w: {indices: [{names: [logs-*], privileges: [create_doc, auto_configure]}]}
`, i, name, i%5)
	}
	return b.String()
}

// BenchmarkWatchSaveToPlan measures, for a 50-project set (100 keys) that is
// live on the emulator, the time from a save to the new plan being shown by
// `slsync watch`, beyond the debounce. Reported as ms-after-debounce/op.
func BenchmarkWatchSaveToPlan(b *testing.B) {
	const debounce = 100 * time.Millisecond
	e := newApplyEnv(b, emulator.Options{InitDelay: time.Millisecond})
	dir := b.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(file, []byte(fleetManifest(50, "")), 0o644); err != nil {
		b.Fatal(err)
	}
	if r := e.run(b, "apply", "-f", dir, "--auto-approve", "--secrets-dir", e.secrets, "--parallelism", "16"); r.Code != 0 {
		b.Fatalf("setting up the fleet: %+v", r)
	}
	_, out := startCLI(b, e.env(), "watch", "-f", dir, "--debounce", debounce.String(), "--parallelism", "16")
	waitCount := func(want string, n int) {
		deadline := time.Now().Add(30 * time.Second)
		for strings.Count(out.String(), want) < n {
			if time.Now().After(deadline) {
				b.Fatalf("timed out waiting for %q ×%d:\n%s", want, n, out.String())
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitCount("No changes.", 1)

	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := strings.Count(out.String(), "Plan: 1 to update.")
		start := time.Now()
		writeAtomically(b, file, fleetManifest(50, fmt.Sprintf(" v%d", i)))
		waitCount("Plan: 1 to update.", before+1)
		total += time.Since(start) - debounce
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-after-debounce/op")
}
