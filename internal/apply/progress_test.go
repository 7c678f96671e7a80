package apply

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// syncBuffer lets a test read what the Progress ticker writes concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestProgressLinesAndSummary(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, ProgressOptions{Color: true}) // colour is ignored off a terminal
	p.Started("project.search-prod", "creating")
	p.Succeeded("project.search-prod", "created", 12340*time.Millisecond)
	p.Started("project.logs", "updating")
	p.Succeeded("project.logs", "updated", 400*time.Millisecond)
	p.Succeeded("key.search-prod.reader", "created", 125*time.Second)
	p.Failed("project.sec", errors.New("409 alias sec-prod is taken by project 3f2a…"), 2100*time.Millisecond)
	p.Skipped("key.sec.writer", &SkippedError{FailedDep: "project.sec"})
	p.Note("warning: something to know")
	p.Close()
	p.Summary()

	want := `  + project.search-prod: creating…
✓ project.search-prod created (12.3s)
  + project.logs: updating…
✓ project.logs updated (0.4s)
✓ key.search-prod.reader created (2m05s)
✗ project.sec failed: 409 alias sec-prod is taken by project 3f2a… (2.1s)
- key.sec.writer not run: depends on project.sec which failed
warning: something to know
Apply failed: 2 created, 1 updated, 1 failed, 1 not run
  ✗ project.sec: 409 alias sec-prod is taken by project 3f2a…
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if p.Failures() != 1 {
		t.Errorf("Failures() = %d", p.Failures())
	}

	out.Reset()
	ok := NewProgress(&out, ProgressOptions{})
	for _, v := range []string{"deleted", "created", "rotated", "created", "adopted", "updated", "created", "moved"} {
		ok.Succeeded("x", v, time.Second)
	}
	ok.Close()
	out.Reset()
	ok.Summary()
	if got := out.String(); got != "Apply complete: 3 created, 1 adopted, 1 updated, 1 rotated, 1 deleted, 1 moved, 0 failed\n" {
		t.Errorf("summary = %q", got)
	}
}

func TestProgressWaitingLinesOffTerminal(t *testing.T) {
	var out syncBuffer
	p := NewProgress(&out, ProgressOptions{Interval: time.Hour})
	defer p.Close()
	p.Tick()
	if out.String() != "" {
		t.Errorf("waiting line with nothing waiting: %q", out.String())
	}
	for _, name := range []string{"search-prod", "logs", "sec"} {
		p.WaitStarted(name)
	}
	p.WaitStarted("logs") // idempotent
	p.Tick()
	re := regexp.MustCompile(`^waiting for 3 projects to initialize \(\d+\.\ds\): logs, search-prod, sec\n$`)
	if !re.MatchString(out.String()) {
		t.Errorf("waiting line %q", out.String())
	}

	for i := range 12 {
		p.WaitStarted(fmt.Sprintf("p%02d", i))
	}
	p.WaitDone("search-prod")
	p.WaitDone("never-started")
	p.Tick()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "waiting for 14 projects") || !strings.HasSuffix(last, ": logs, p00, p01, p02, p03, p04, p05, p06, p07, p08 and 4 more") {
		t.Errorf("long waiting line %q", last)
	}
}

func TestProgressPrintsWaitingPeriodically(t *testing.T) {
	var out syncBuffer
	p := NewProgress(&out, ProgressOptions{Interval: 5 * time.Millisecond})
	p.WaitStarted("search-prod")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "waiting for 1 project to initialize") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no periodic waiting lines after 10s: %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	p.WaitDone("search-prod")
	p.Close()
	before := out.String()
	time.Sleep(20 * time.Millisecond)
	if out.String() != before {
		t.Error("Progress kept printing after Close")
	}
	if strings.ContainsAny(before, "\x1b\r") {
		t.Errorf("control characters off a terminal: %q", before)
	}
}

func TestProgressLiveStatusOnTerminal(t *testing.T) {
	var out syncBuffer
	p := NewProgress(&out, ProgressOptions{Terminal: true, Color: true, Width: 100})
	p.WaitStarted("search-prod")
	p.Started("key.logs.reader", "creating")
	p.Succeeded("key.logs.reader", "created", time.Second)
	p.WaitDone("search-prod")
	p.Close()
	got := out.String()

	const clear = "\r\x1b[K"
	// The status is erased before each line and redrawn after it.
	// (The once-a-second redraw may repeat it.)
	status := `(` + regexp.QuoteMeta(clear) + `waiting for 1 project to initialize \(\d+\.\ds\): search-prod)+`
	re := regexp.MustCompile(`^` + status +
		regexp.QuoteMeta(clear+"  + key.logs.reader: creating…\n") + status +
		regexp.QuoteMeta(clear+"\x1b[32m✓\x1b[0m key.logs.reader created (1.0s)\n") + status +
		regexp.QuoteMeta(clear) + `$`)
	if !re.MatchString(got) {
		t.Errorf("terminal output %q", got)
	}

	// The status line never wraps.
	out = syncBuffer{}
	p = NewProgress(&out, ProgressOptions{Terminal: true, Width: 40})
	for i := range 30 {
		p.WaitStarted(fmt.Sprintf("project-with-a-long-key-%d", i))
	}
	p.Tick()
	p.Close()
	for _, seg := range strings.Split(out.String(), clear) {
		if n := utf8.RuneCountInString(seg); n > 39 {
			t.Errorf("status line of %d runes on a 40-column terminal: %q", n, seg)
		}
	}
}

func TestProgressConcurrentReporters(t *testing.T) {
	var out bytes.Buffer // unsynchronised on purpose: Progress must serialise writes
	p := NewProgress(&out, ProgressOptions{Interval: time.Millisecond})
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("project.p%02d", g)
			p.WaitStarted(id)
			p.Started(id, "creating")
			if g%4 == 0 {
				p.Failed(id, errors.New("boom"), time.Second)
			} else {
				p.Succeeded(id, "created", time.Second)
			}
			p.WaitDone(id)
		}()
	}
	wg.Wait()
	p.Close()
	p.Summary()
	line := regexp.MustCompile(`^(  \+ project\.p\d\d: creating…|✓ project\.p\d\d created \(1\.0s\)|✗ project\.p\d\d failed: boom \(1\.0s\)|waiting for \d+ projects? to initialize \(\d+\.\ds\): .*|Apply failed: 30 created, 10 failed|  ✗ project\.p\d\d: boom)$`)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("garbled line %q", l)
		}
	}
	if !strings.HasSuffix(out.String(), "\n") || !strings.Contains(out.String(), "Apply failed: 30 created, 10 failed\n") {
		t.Errorf("summary missing: %q", out.String())
	}
}

func TestFormatElapsed(t *testing.T) {
	tests := map[time.Duration]string{
		0:                               "0.0s",
		40 * time.Millisecond:           "0.0s",
		450 * time.Millisecond:          "0.5s",
		12345 * time.Millisecond:        "12.3s",
		59900 * time.Millisecond:        "59.9s",
		time.Minute:                     "1m00s",
		2*time.Minute + 5*time.Second:   "2m05s",
		59*time.Minute + 59*time.Second: "59m59s",
		time.Hour + 2*time.Minute + 10*time.Second: "1h02m",
	}
	for d, want := range tests {
		if got := FormatElapsed(d); got != want {
			t.Errorf("FormatElapsed(%v) = %q, want %q", d, got, want)
		}
	}
}
