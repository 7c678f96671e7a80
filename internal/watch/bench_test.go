package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkSaveToCallback measures how long after a save fn is called,
// beyond the debounce itself: the cost of inotify delivery, the event loop
// and starting fn, for a tree of 50 manifests in 5 directories. ns/op
// includes the debounce; ms-beyond-debounce/op and p99-ms-beyond-debounce
// are the overhead.
func BenchmarkSaveToCallback(b *testing.B) {
	const debounce = 20 * time.Millisecond
	dir := b.TempDir()
	var files []string
	for i := range 50 {
		p := filepath.Join(dir, fmt.Sprintf("team%d", i%5), fmt.Sprintf("project%02d.yaml", i))
		writeFile(b, p, "owner: bench\n")
		files = append(files, p)
	}
	called := make(chan time.Time, 16)
	returned := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, dir, Options{Debounce: debounce, testHookReturned: func() { returned <- struct{}{} }},
			func(context.Context, Change) { called <- time.Now() })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}()
	<-called // initial
	<-returned

	var over []time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := writeBytes(files[i%len(files)], fmt.Appendf(nil, "owner: bench-%d\n", i)); err != nil {
			b.Fatal(err)
		}
		at := <-called
		<-returned
		over = append(over, at.Sub(start)-debounce)
	}
	b.StopTimer()
	slices.Sort(over)
	var sum time.Duration
	for _, d := range over {
		sum += d
	}
	b.ReportMetric(float64(sum.Microseconds())/float64(len(over))/1000, "ms-beyond-debounce/op")
	b.ReportMetric(float64(over[len(over)*99/100].Microseconds())/1000, "p99-ms-beyond-debounce")
}

func writeBytes(path string, data []byte) error { return os.WriteFile(path, data, 0o644) }
