package state

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/model"
)

// BenchmarkNoChangeRead is the fleet target of issue 4: 500 projects × 10
// keys on the emulator with 20 ms added latency per request; a no-change read
// makes exactly 503 calls and finishes within 1.5 × ceil(503/parallelism) ×
// 20 ms.
//
//	go test -run '^$' -bench NoChangeRead -benchtime 5x ./internal/state
func BenchmarkNoChangeRead(b *testing.B) {
	for _, parallelism := range []int{8, 16} {
		b.Run(fmt.Sprintf("parallelism=%d", parallelism), func(b *testing.B) {
			benchNoChangeRead(b, 500, 10, parallelism, 20*time.Millisecond)
		})
	}
}

func benchNoChangeRead(b *testing.B, projects, keysPer, parallelism int, latency time.Duration) {
	f := newFixture(b, emulator.Options{Clock: time.Now})
	ctx := context.Background()
	desired := &model.Set{Owner: owner, Projects: map[string]*model.Project{}}
	created := make([]*cloud.CreatedProject, projects)
	for i := range projects {
		key := fmt.Sprintf("p%03d", i)
		created[i] = f.project(b, model.ProjectTypes[i%3], owner, key, key, map[string]string{"env": "bench"}, nil)
		dp := &model.Project{Key: key, APIKeys: map[string]*model.APIKey{}}
		for j := range keysPer {
			name := fmt.Sprintf("k%02d", j)
			dp.APIKeys[name] = &model.APIKey{Key: name, Name: name}
		}
		desired.Projects[key] = dp
	}
	err := ForEach(ctx, projects*keysPer, 32, func(ctx context.Context, n int) error {
		p, j := created[n/keysPer], n%keysPer
		es, err := cloud.NewESClient(p.Endpoints["elasticsearch"], p.Credentials.Username, p.Credentials.Password, f.opts)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("k%02d", j)
		_, err = es.CreateAPIKey(ctx, &cloud.CreateAPIKeyRequest{Name: name, Metadata: managedMeta(name, nil),
			RoleDescriptors: map[string]any{"r": map[string]any{"indices": []any{map[string]any{"names": []any{"logs-*"}, "privileges": []any{"read"}}}}}})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	f.emu.SetFaults(emulator.Faults{Latency: latency})
	r := f.reader(parallelism)
	wantCalls := 3 + projects
	bound := time.Duration(1.5 * float64(int(math.Ceil(float64(wantCalls)/float64(parallelism)))) * float64(latency))

	f.emu.ResetStats()
	b.ResetTimer()
	var worst, total time.Duration
	for b.Loop() {
		start := time.Now()
		st, err := r.Read(ctx, desired)
		el := time.Since(start)
		total += el
		worst = max(worst, el)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Managed) != projects || len(st.KeyErrors) != 0 || len(st.Managed[0].Keys) != keysPer {
			b.Fatalf("managed %d, key errors %d", len(st.Managed), len(st.KeyErrors))
		}
	}
	b.StopTimer()
	calls := f.emu.Stats().Total
	if calls != wantCalls*b.N {
		b.Fatalf("calls = %d over %d reads, want %d per read", calls, b.N, wantCalls)
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
	b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
	// The target applies to the mean: a single slow read on a shared CI
	// machine is noise, a slow mean is a regression.
	if mean := total / time.Duration(b.N); mean > bound {
		b.Errorf("reads took %v on average, over the target 1.5 × ceil(%d/%d) × %v = %v", mean, wantCalls, parallelism, latency, bound)
	}
}
