package apply_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/emulator"
)

// BenchmarkApplyFleet: from an empty organisation, 200 projects × 10 keys,
// 2 s initialization, 20 ms latency on every call, parallelism 16, the
// CLI's polling defaults. It reports the wall time of the apply, the target
// (2 s + ceil(2200/16) × 20 ms, before polling), the API calls made and the
// minimum: one create per project and key, one status poll per project, and
// one PATCH per project that removes its slsync-pending tag once the
// secrets of all its keys were delivered (keys of a project created in the
// same run carry no marker of their own, so no key is updated).
func BenchmarkApplyFleet(b *testing.B) {
	const projects, keys, par = 200, 10, 16
	latency := 20 * time.Millisecond
	var y strings.Builder
	y.WriteString("owner: bench\nprojects:\n")
	for i := 0; i < projects; i++ {
		fmt.Fprintf(&y, "  p%03d:\n    type: elasticsearch\n    name: P%d\n    region_id: aws-us-east-1\n    api_keys:\n", i, i)
		for j := 0; j < keys; j++ {
			fmt.Fprintf(&y, "      k%d: {expiration: 30d, role_descriptors: {r: {indices: [{names: [logs-%d], privileges: [read]}]}}}\n", j, j)
		}
	}
	set := loadYAML(b, y.String())
	target := 2*time.Second + time.Duration(math.Ceil(float64(projects*(keys+1))/par))*latency
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, emulator.Options{InitDelay: 2 * time.Second})
		p := e.plan(set, false)
		e.emu.SetFaults(b, emulator.Faults{Latency: latency})
		before := e.routeCounts(b)
		opts := e.options()
		opts.Parallelism = par
		opts.PollInitial, opts.PollMax = 0, 0 // the CLI's defaults
		opts.Sink = &recordingSink{}
		b.StartTimer()
		start := time.Now()
		r, err := apply.Apply(context.Background(), p, opts)
		wall := time.Since(start)
		b.StopTimer()
		if err != nil || !r.OK() || r.Count(apply.StatusSucceeded) != projects*(keys+1) {
			b.Fatalf("apply: %v %+v", err, r)
		}
		byRoute := e.calls(b, before)
		calls := 0
		for _, n := range byRoute {
			calls += n
		}
		b.Logf("calls by route: %v", byRoute)
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(target.Seconds(), "target-s")
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(projects*(keys+3)), "min-calls")
		b.ReportMetric(float64(byRoute[routeKeyUpdate]), "key-updates")
	}
}
