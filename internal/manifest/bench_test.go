package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// writeLargeSet writes projects projects with keys API keys each, spread
// over files files, into dir, and returns the number of lines written.
func writeLargeSet(tb testing.TB, dir string, projects, keys, files int) int {
	tb.Helper()
	types := []string{"elasticsearch", "observability", "security"}
	lines := 0
	per := (projects + files - 1) / files
	for f := 0; f < files; f++ {
		var b strings.Builder
		b.WriteString("# yaml-language-server: $schema=https://slsync.dev/schema/manifest.schema.json\nowner: bench\nprojects:\n")
		for p := f * per; p < (f+1)*per && p < projects; p++ {
			t := types[p%3]
			fmt.Fprintf(&b, "  project-%04d:\n    type: %s\n    name: Project %d\n    alias: project-%04d\n    region_id: aws-us-east-1\n", p, t, p, p)
			fmt.Fprintf(&b, "    tags: {team: team-%02d, env: prod}\n    protect: %v\n", p%17, p%2 == 0)
			switch t {
			case "elasticsearch":
				b.WriteString("    optimized_for: general_purpose\n    search_lake: {search_power: 100, boost_window: 7}\n")
			case "observability":
				b.WriteString("    product_tier: complete\n")
			case "security":
				b.WriteString("    admin_features_package: standard\n    product_types:\n      - {product_line: security, product_tier: complete}\n")
			}
			b.WriteString("    api_keys:\n")
			for k := 0; k < keys; k++ {
				fmt.Fprintf(&b, "      key-%02d:\n        expiration: %dd\n        rotate_before: 7d\n        role_descriptors:\n          role-%02d:\n            cluster: [monitor]\n            indices:\n              - names: [logs-%02d-*, metrics-*]\n                privileges: [read, view_index_metadata]\n        metadata: {team: t%02d, tier: gold, n: %d}\n",
					k, 30+k, k, k, k, k)
			}
		}
		src := b.String()
		lines += strings.Count(src, "\n")
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("team-%02d.yaml", f)), []byte(src), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return lines
}

// BenchmarkLoadLarge loads and validates 2,000 projects with 10 API keys
// each (~230k lines over 50 files). Target: < 1 s and < 300 MB peak on a
// 2-core machine (see README.md, Manifests → Performance for measured figures).
//
// Besides ns/op it reports cpu-ns/op (user+system CPU time of the process
// per load, which stays meaningful on a busy machine) and peak-heap-MB (the
// largest heap in use seen by a sampler during the loads). Set
// SLSYNC_BENCH_DIR to keep the generated set there, e.g. to measure peak RSS
// of the real binary: /usr/bin/time -v bin/slsync validate -f "$SLSYNC_BENCH_DIR".
func BenchmarkLoadLarge(b *testing.B) {
	dir := b.TempDir()
	if d := os.Getenv("SLSYNC_BENCH_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		dir = d
	}
	lines := writeLargeSet(b, dir, 2000, 10, 50)
	b.Run("gc=default", func(b *testing.B) { benchLoad(b, dir, lines) })
	b.Run("gc=cli", func(b *testing.B) {
		// What `slsync validate` runs with (see LoadGCPercent).
		defer debug.SetGCPercent(debug.SetGCPercent(LoadGCPercent))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(LoadMemoryLimit))
		benchLoad(b, dir, lines)
	})
}

func benchLoad(b *testing.B, dir string, lines int) {
	runtime.GC()
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var ms runtime.MemStats
		var max uint64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				peak <- max
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > max {
					max = ms.HeapInuse
				}
			}
		}
	}()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		set, diags, err := Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if diags.HasErrors() || len(set.Projects) != 2000 {
			b.Fatalf("want 2000 valid projects, got %d and %d diagnostics: %v", len(set.Projects), len(diags), diags[:min(3, len(diags))])
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	close(stop)
	b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(lines), "lines")
}
