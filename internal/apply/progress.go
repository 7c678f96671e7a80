package apply

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ProgressOptions tune a Progress.
type ProgressOptions struct {
	// Terminal: the writer is a terminal. The "waiting for …" status is then
	// one line at the bottom, redrawn in place (carriage return + ANSI
	// erase) every second; otherwise it is printed as a plain line every
	// Interval, which reads well in CI logs.
	Terminal bool
	// Color: colour the ✓ and ✗ marks. Honoured on a terminal only.
	Color bool
	// Interval between plain "waiting for …" lines when not on a terminal;
	// 0 means 15 s.
	Interval time.Duration
	// Width of the terminal, to keep the status line on one row (a wrapped
	// line cannot be redrawn in place); 0 means 80.
	Width int
}

// Progress prints what apply is doing: each action's start and end with its
// elapsed time, which projects are still initializing, and a final summary.
// All methods are safe for concurrent use; lines are never interleaved.
// Call Close when done, to stop its ticker and clear the status line.
type Progress struct {
	w     io.Writer
	opts  ProgressOptions
	stop  chan struct{}
	ended sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	statusShown bool                 // a live status line is on screen
	waiting     map[string]time.Time // project → when its wait began
	done        map[string]int       // past-tense verb → count
	failed      []string             // "id: reason", in order of failure
	skipped     int
}

// NewProgress returns a Progress writing to w and starts its ticker.
func NewProgress(w io.Writer, opts ProgressOptions) *Progress {
	if opts.Interval <= 0 {
		opts.Interval = 15 * time.Second
	}
	if opts.Width <= 0 {
		opts.Width = 80
	}
	if !opts.Terminal {
		opts.Color = false
	}
	p := &Progress{
		w:       w,
		opts:    opts,
		stop:    make(chan struct{}),
		waiting: map[string]time.Time{},
		done:    map[string]int{},
	}
	every := opts.Interval
	if opts.Terminal {
		every = time.Second
	}
	p.ended.Add(1)
	go p.tickEvery(every)
	return p
}

func (p *Progress) tickEvery(d time.Duration) {
	defer p.ended.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.Tick()
		}
	}
}

// Close stops the ticker and clears the status line. Later calls print
// nothing further from the ticker; Summary may still be called.
func (p *Progress) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.clearStatus()
	p.mu.Unlock()
	close(p.stop)
	p.ended.Wait()
}

// Started reports that an action began: "  + project.search-prod: creating…".
func (p *Progress) Started(id, doing string) {
	p.line(fmt.Sprintf("  + %s: %s…", id, doing))
}

// Succeeded reports a finished action; done is the past tense of what it
// did ("created"), counted for the summary:
// "✓ project.search-prod created (12.3s)".
func (p *Progress) Succeeded(id, done string, elapsed time.Duration) {
	p.mu.Lock()
	p.done[done]++
	p.mu.Unlock()
	p.line(fmt.Sprintf("%s %s %s (%s)", p.mark("✓", "32"), id, done, FormatElapsed(elapsed)))
}

// Failed reports a failed action: "✗ project.search-prod failed: reason (2.1s)".
func (p *Progress) Failed(id string, err error, elapsed time.Duration) {
	reason := "unknown error"
	if err != nil {
		reason = err.Error()
	}
	p.mu.Lock()
	p.failed = append(p.failed, id+": "+reason)
	p.mu.Unlock()
	p.line(fmt.Sprintf("%s %s failed: %s (%s)", p.mark("✗", "31"), id, reason, FormatElapsed(elapsed)))
}

// Skipped reports an action that did not run, with why:
// "- key.search-prod.reader not run: depends on project.search-prod which failed".
func (p *Progress) Skipped(id string, why error) {
	reason := "not run"
	if why != nil {
		reason = why.Error()
	}
	p.mu.Lock()
	p.skipped++
	p.mu.Unlock()
	p.line(fmt.Sprintf("- %s %s", id, reason))
}

// Note prints a line of its own (a warning, say) without disturbing the
// status line.
func (p *Progress) Note(msg string) { p.line(msg) }

// WaitStarted adds a project to the "waiting for N projects to initialize"
// status.
func (p *Progress) WaitStarted(project string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.waiting[project]; !ok {
		p.waiting[project] = time.Now()
	}
	if p.opts.Terminal {
		p.drawStatus()
	}
}

// WaitDone removes a project from the waiting status.
func (p *Progress) WaitDone(project string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.waiting, project)
	if p.opts.Terminal {
		p.drawStatus()
	}
}

// Tick refreshes the waiting status now: redraws the status line on a
// terminal, or prints a plain "waiting for …" line otherwise (nothing when
// no project is waiting). The ticker calls it; so may callers.
func (p *Progress) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if p.opts.Terminal {
		p.drawStatus()
		return
	}
	if s := p.waitingText(10); s != "" {
		io.WriteString(p.w, s+"\n")
	}
}

// Summary prints the final tally and lists the failures:
//
//	Apply complete: 3 created, 1 updated, 0 failed
//	Apply failed: 2 created, 1 failed, 4 not run
//	  ✗ project.search-prod: …
func (p *Progress) Summary() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearStatus()
	var parts []string
	for _, verb := range sortedVerbs(p.done) {
		parts = append(parts, fmt.Sprintf("%d %s", p.done[verb], verb))
	}
	parts = append(parts, fmt.Sprintf("%d failed", len(p.failed)))
	if p.skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d not run", p.skipped))
	}
	var b strings.Builder
	head := "Apply complete"
	if len(p.failed) > 0 || p.skipped > 0 {
		head = "Apply failed"
	}
	fmt.Fprintf(&b, "%s: %s\n", head, strings.Join(parts, ", "))
	for _, f := range p.failed {
		fmt.Fprintf(&b, "  %s %s\n", p.mark("✗", "31"), f)
	}
	io.WriteString(p.w, b.String())
	if !p.closed && p.opts.Terminal {
		p.drawStatus()
	}
}

// Failures is the number of failed actions reported so far.
func (p *Progress) Failures() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.failed)
}

// line prints one line, keeping the live status line below it.
func (p *Progress) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearStatus()
	io.WriteString(p.w, s+"\n")
	if !p.closed && p.opts.Terminal {
		p.drawStatus()
	}
}

// clearStatus erases the live status line, if shown. Caller holds mu.
func (p *Progress) clearStatus() {
	if p.statusShown {
		io.WriteString(p.w, "\r\x1b[K")
		p.statusShown = false
	}
}

// drawStatus (re)draws the live status line, or clears it when nothing is
// waiting. Caller holds mu.
func (p *Progress) drawStatus() {
	if p.closed {
		return
	}
	s := p.waitingText(-1)
	if s == "" {
		p.clearStatus()
		return
	}
	s = truncateRunes(s, p.opts.Width-1)
	io.WriteString(p.w, "\r\x1b[K"+s)
	p.statusShown = true
}

// waitingText renders "waiting for 3 projects to initialize (1m05s): a, b, c",
// listing at most maxNames names (all when negative). The duration is the
// longest wait so far. Caller holds mu.
func (p *Progress) waitingText(maxNames int) string {
	if len(p.waiting) == 0 {
		return ""
	}
	names := make([]string, 0, len(p.waiting))
	var oldest time.Time
	for name, since := range p.waiting {
		names = append(names, name)
		if oldest.IsZero() || since.Before(oldest) {
			oldest = since
		}
	}
	slices.Sort(names)
	what := "projects"
	if len(names) == 1 {
		what = "project"
	}
	list := names
	more := ""
	if maxNames >= 0 && len(names) > maxNames {
		list = names[:maxNames]
		more = fmt.Sprintf(" and %d more", len(names)-maxNames)
	}
	return fmt.Sprintf("waiting for %d %s to initialize (%s): %s%s",
		len(names), what, FormatElapsed(time.Since(oldest)), strings.Join(list, ", "), more)
}

func (p *Progress) mark(m, color string) string {
	if !p.opts.Color {
		return m
	}
	return "\x1b[" + color + "m" + m + "\x1b[0m"
}

// FormatElapsed renders a duration the way progress lines show it: "0.4s",
// "12.3s", "2m05s", "1h02m".
func FormatElapsed(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// sortedVerbs orders the summary: the usual verbs in plan order, others
// after them alphabetically.
func sortedVerbs(m map[string]int) []string {
	verbOrder := []string{"created", "adopted", "updated", "replaced", "rotated", "invalidated", "deleted"}
	verbs := make([]string, 0, len(m))
	for v := range m {
		verbs = append(verbs, v)
	}
	rank := func(v string) int {
		if i := slices.Index(verbOrder, v); i >= 0 {
			return i
		}
		return len(verbOrder)
	}
	slices.SortFunc(verbs, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return verbs
}

// truncateRunes cuts s to at most n runes, marking the cut with "…".
func truncateRunes(s string, n int) string {
	if n < 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
