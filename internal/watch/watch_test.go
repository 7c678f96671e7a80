package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Tests use a short debounce and wait on channels with generous timeouts:
// they never assert on elapsed time, so a loaded machine only makes them
// slower, not flaky.
const (
	testDebounce = 50 * time.Millisecond
	waitLong     = 15 * time.Second
	quiet        = 3 * testDebounce // how long "no call" is awaited
)

type harness struct {
	t        *testing.T
	calls    chan Change
	returned chan struct{} // one per call whose return the event loop has processed; nil: not tracked
	done     chan error
	stop     context.CancelFunc
}

// record is a callback that hands each Change to the test without ever
// dropping one (the buffer is far larger than any test needs).
func record(calls chan Change) func(context.Context, Change) {
	return func(ctx context.Context, ch Change) {
		select {
		case calls <- ch:
		default:
			select {
			case calls <- ch:
			case <-ctx.Done():
			}
		}
	}
}

// startWatch runs Run on root until the test ends; fn nil means record.
func startWatch(t *testing.T, root string, opts Options, fn func(context.Context, Change)) *harness {
	t.Helper()
	if opts.Debounce == 0 {
		opts.Debounce = testDebounce
	}
	if opts.RootPoll == 0 {
		opts.RootPoll = 20 * time.Millisecond
	}
	h := &harness{t: t, calls: make(chan Change, 1000), done: make(chan error, 1)}
	if fn == nil {
		fn = record(h.calls)
		h.returned = make(chan struct{}, 1000)
		opts.testHookReturned = func() { h.returned <- struct{}{} }
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.done <- Run(ctx, root, opts, fn) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitLong):
			t.Errorf("Run did not return after cancel")
		}
	})
	return h
}

// next waits for the next call and, with the recording callback, until Run
// has seen it return: a change the test makes afterwards is then a new
// change, never one that cancels (and so carries over) the call just seen.
func (h *harness) next() Change {
	h.t.Helper()
	var ch Change
	select {
	case ch = <-h.calls:
	case err := <-h.done:
		h.t.Fatalf("Run returned early: %v", err)
	case <-time.After(waitLong):
		h.t.Fatalf("no call within %v", waitLong)
	}
	if h.returned != nil {
		select {
		case <-h.returned:
		case <-time.After(waitLong):
			h.t.Fatalf("Run did not see the call return within %v", waitLong)
		}
	}
	return ch
}

// noCall asserts that fn is not called for a while.
func (h *harness) noCall() {
	h.t.Helper()
	select {
	case ch := <-h.calls:
		h.t.Fatalf("unexpected call: %+v", ch)
	case <-time.After(quiet):
	}
}

// waitPaths reads calls until every wanted path has been reported, failing on
// any reported path outside allowed (want itself is always allowed). A slow
// machine may split one burst into several calls; that is fine.
func (h *harness) waitPaths(want []string, allowed ...string) []Change {
	h.t.Helper()
	missing := map[string]bool{}
	for _, p := range want {
		missing[p] = true
	}
	var got []Change
	for len(missing) > 0 {
		ch := h.next()
		got = append(got, ch)
		if !slices.IsSorted(ch.Paths) || len(slices.Compact(slices.Clone(ch.Paths))) != len(ch.Paths) {
			h.t.Errorf("paths not sorted and deduplicated: %q", ch.Paths)
		}
		for _, p := range ch.Paths {
			if !slices.Contains(want, p) && !slices.Contains(allowed, p) {
				h.t.Errorf("call reported unexpected path %q (call %+v)", p, ch)
			}
			delete(missing, p)
		}
	}
	return got
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestInitialCall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "sub", "deep", "b.yml")
	writeFile(t, a, "owner: x\n")
	writeFile(t, b, "owner: x\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "x")
	writeFile(t, filepath.Join(dir, ".git", "c.yaml"), "x")
	h := startWatch(t, dir, Options{}, nil)
	ch := h.next()
	if !ch.Initial || ch.Rescan || !slices.Equal(ch.Paths, []string{a, b}) {
		t.Fatalf("initial call = %+v, want Initial with paths %q", ch, []string{a, b})
	}
}

// editorSaves replays, with the same system calls, how editors and tools save
// a file (see go-libraries.md §5.2 for the event sequences they produce).
var editorSaves = []struct {
	name string
	save func(t *testing.T, f string)
}{
	{"write in place", func(t *testing.T, f string) { writeFile(t, f, "owner: in-place\n") }},
	{"temp and rename over", func(t *testing.T, f string) {
		tmp := filepath.Join(filepath.Dir(f), "."+filepath.Base(f)+".tmp1234")
		writeFile(t, tmp, "owner: renamed\n")
		must(t, os.Rename(tmp, f))
	}},
	{"delete and create", func(t *testing.T, f string) {
		must(t, os.Remove(f))
		writeFile(t, f, "owner: recreated\n")
	}},
	{"sed -i", func(t *testing.T, f string) {
		tmp := filepath.Join(filepath.Dir(f), "sedAb12Cd")
		writeFile(t, tmp, "owner: sed\n")
		must(t, os.Chmod(tmp, 0o644))
		must(t, os.Rename(tmp, f))
	}},
	{"vim default (writebackup, backupcopy=auto)", func(t *testing.T, f string) {
		dir := filepath.Dir(f)
		probe := filepath.Join(dir, "4913")
		writeFile(t, probe, "")
		must(t, os.Chmod(probe, 0o600))
		must(t, os.Remove(probe))
		backup := f + "~"
		must(t, os.Rename(f, backup))
		writeFile(t, f, "owner: vim\n")
		must(t, os.Chmod(f, 0o644))
		must(t, os.Remove(backup))
	}},
	{"vim with swap file", func(t *testing.T, f string) {
		dir := filepath.Dir(f)
		swp := filepath.Join(dir, "."+filepath.Base(f)+".swp")
		swx := filepath.Join(dir, "."+filepath.Base(f)+".swx")
		writeFile(t, swp, "swap")
		writeFile(t, swx, "")
		must(t, os.Remove(swx))
		writeFile(t, f, "owner: vim-swap\n")
		writeFile(t, swp, "swap2")
		must(t, os.Remove(swp))
	}},
	{"emacs (lock link, autosave, backup)", func(t *testing.T, f string) {
		dir, base := filepath.Dir(f), filepath.Base(f)
		lock := filepath.Join(dir, ".#"+base)
		must(t, os.Symlink("user@host.1234:0", lock))
		writeFile(t, filepath.Join(dir, "#"+base+"#"), "autosave")
		must(t, os.Rename(f, f+"~"))
		writeFile(t, f, "owner: emacs\n")
		must(t, os.Remove(filepath.Join(dir, "#"+base+"#")))
		must(t, os.Remove(lock))
	}},
}

// TestEditorSaves: every save style gives calls reporting exactly the saved
// manifest, both when watching its directory and when watching the file, and
// the watch survives repeated saves (a watch on the file itself would not).
func TestEditorSaves(t *testing.T) {
	t.Parallel()
	for _, tc := range editorSaves {
		for _, mode := range []string{"dir", "file"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				f := filepath.Join(dir, "project.yaml")
				other := filepath.Join(dir, "other.yaml")
				writeFile(t, f, "owner: x\n")
				writeFile(t, other, "owner: x\n")
				root := dir
				if mode == "file" {
					root = f
				}
				h := startWatch(t, root, Options{}, nil)
				if ch := h.next(); !ch.Initial {
					t.Fatalf("first call not initial: %+v", ch)
				}
				for range 2 {
					tc.save(t, f)
					for _, ch := range h.waitPaths([]string{f}) {
						if ch.Initial || ch.Rescan {
							t.Errorf("change after save flagged %+v", ch)
						}
					}
				}
				if mode == "file" {
					// Another manifest next to a single-file root is not ours.
					writeFile(t, other, "owner: y\n")
					h.noCall()
				}
			})
		}
	}
}

// TestIgnored: editor scratch files, non-manifests, hidden directories and
// permission changes never call fn; a real save afterwards reports only itself.
func TestIgnored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	writeFile(t, a, "owner: x\n")
	h := startWatch(t, dir, Options{}, nil)
	h.next()

	for _, name := range []string{
		".a.yaml.swp", ".a.yaml.swx", ".#a.yaml", "#a.yaml#", "a.yaml~", "a.yamz~",
		"4913", ".a.yaml.tmp", "notes.txt", "a.yaml.bak", "sedXy12Ab",
		filepath.Join(".git", "objects", "x.yaml"), filepath.Join(".idea", "workspace.yml"),
	} {
		p := filepath.Join(dir, name)
		writeFile(t, p, "junk")
		must(t, os.Remove(p))
	}
	must(t, os.MkdirAll(filepath.Join(dir, "emptydir", "deeper"), 0o755)) // no manifests in it
	must(t, os.Chmod(a, 0o600))                                           // Chmod only
	h.noCall()

	writeFile(t, a, "owner: y\n")
	if ch := h.next(); !slices.Equal(ch.Paths, []string{a}) {
		t.Fatalf("call after save = %+v, want only %s", ch, a)
	}
}

// TestNewSubdirectories: directories created (or moved in) after start are
// watched, and the manifests they already held count as changes.
func TestNewSubdirectories(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outside := t.TempDir()
	h := startWatch(t, dir, Options{}, nil)
	if ch := h.next(); !ch.Initial || len(ch.Paths) != 0 {
		t.Fatalf("initial call = %+v", ch)
	}

	// A directory that already holds a manifest is moved in: no event
	// exists for the file itself.
	writeFile(t, filepath.Join(outside, "team", "x.yaml"), "owner: x\n")
	writeFile(t, filepath.Join(outside, "team", "nested", "y.yaml"), "owner: x\n")
	must(t, os.Rename(filepath.Join(outside, "team"), filepath.Join(dir, "team")))
	team := filepath.Join(dir, "team")
	h.waitPaths([]string{filepath.Join(team, "x.yaml"), filepath.Join(team, "nested", "y.yaml")})

	// mkdir -p and a write straight after, racing the watch being added.
	deep := filepath.Join(dir, "n1", "n2", "n3", "z.yaml")
	writeFile(t, deep, "owner: x\n")
	h.waitPaths([]string{deep})

	// Files created later in the new directories produce events.
	later := filepath.Join(team, "nested", "later.yml")
	writeFile(t, later, "owner: x\n")
	h.waitPaths([]string{later})
	again := filepath.Join(dir, "n1", "n2", "n3", "again.yaml")
	writeFile(t, again, "owner: x\n")
	h.waitPaths([]string{again})

	// A directory moved away is a change (its files get no events), and its
	// old watches do not report under stale names.
	must(t, os.Rename(team, filepath.Join(outside, "team2")))
	h.waitPaths([]string{team})
	writeFile(t, filepath.Join(outside, "team2", "nested", "y.yaml"), "owner: moved\n")
	h.noCall()

	// A directory renamed inside the tree: watched under its new name.
	n1 := filepath.Join(dir, "n1")
	m1 := filepath.Join(dir, "m1")
	must(t, os.Rename(n1, m1))
	h.waitPaths([]string{n1, filepath.Join(m1, "n2", "n3", "z.yaml"), filepath.Join(m1, "n2", "n3", "again.yaml")})
	moved := filepath.Join(m1, "n2", "n3", "z.yaml")
	writeFile(t, moved, "owner: renamed-dir\n")
	h.waitPaths([]string{moved})
}

// TestBurstCoalesced: 20 quick writes give one call. The debounce is long
// enough that a descheduled writer cannot split the burst.
func TestBurstCoalesced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const debounce = 300 * time.Millisecond
	h := startWatch(t, dir, Options{Debounce: debounce}, nil)
	h.next()
	var want []string
	for i := range 20 {
		p := filepath.Join(dir, "f"+string(rune('a'+i%5))+".yaml")
		writeFile(t, p, strings.Repeat("x", i))
		if !slices.Contains(want, p) {
			want = append(want, p)
		}
	}
	slices.Sort(want)
	if ch := h.next(); !slices.Equal(ch.Paths, want) {
		t.Fatalf("call = %+v, want paths %q", ch, want)
	}
	select {
	case ch := <-h.calls:
		t.Fatalf("second call for one burst: %+v", ch)
	case <-time.After(3 * debounce):
	}
}

// TestChangeWhileRunning: a change during fn cancels fn's context; fn is run
// again with the cancelled call's paths carried over; calls never overlap.
func TestChangeWhileRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "b.yaml")

	var active, overlaps atomic.Int32
	started := make(chan Change, 100)
	ended := make(chan error, 100) // ctx.Err() seen by each call
	var n atomic.Int32
	fn := func(ctx context.Context, ch Change) {
		if active.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer active.Add(-1)
		started <- ch
		if n.Add(1) == 2 { // the first call after the initial one blocks until cancelled
			select {
			case <-ctx.Done():
			case <-time.After(waitLong):
			}
		}
		ended <- ctx.Err()
	}
	startWatch(t, dir, Options{}, fn)
	recv := func(c chan Change) Change {
		t.Helper()
		select {
		case v := <-c:
			return v
		case <-time.After(waitLong):
			t.Fatal("timeout")
		}
		return Change{}
	}
	ends := func() error {
		t.Helper()
		select {
		case v := <-ended:
			return v
		case <-time.After(waitLong):
			t.Fatal("timeout waiting for fn to return")
		}
		return nil
	}
	recv(started) // initial
	if err := ends(); err != nil {
		t.Fatalf("initial call cancelled: %v", err)
	}

	writeFile(t, a, "owner: x\n")
	if ch := recv(started); !slices.Equal(ch.Paths, []string{a}) {
		t.Fatalf("second call = %+v", ch)
	}
	writeFile(t, b, "owner: x\n") // while the second call runs
	if err := ends(); !errors.Is(err, context.Canceled) {
		t.Fatalf("running call's ctx not cancelled by a new change: %v", err)
	}
	// The re-run covers both the cancelled call's path and the new one
	// (a slow machine may split b's events into more calls).
	seen := map[string]bool{}
	for !seen[a] || !seen[b] {
		ch := recv(started)
		if ch.Initial {
			t.Errorf("re-run flagged initial: %+v", ch)
		}
		for _, p := range ch.Paths {
			seen[p] = true
		}
		if err := ends(); err != nil {
			t.Fatalf("re-run cancelled: %v", err)
		}
	}
	if overlaps.Load() != 0 {
		t.Fatal("two calls of fn overlapped")
	}
}

// TestInitialCancelledStaysInitial: a change during the first call cancels
// it, and the re-run is still flagged Initial (nothing completed before).
func TestInitialCancelledStaysInitial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	calls := make(chan Change, 100)
	first := make(chan struct{})
	var once sync.Once
	fn := func(ctx context.Context, ch Change) {
		calls <- ch
		once.Do(func() {
			close(first)
			<-ctx.Done()
		})
	}
	h := startWatch(t, dir, Options{}, fn)
	h.calls = calls
	if ch := h.next(); !ch.Initial {
		t.Fatalf("first call = %+v", ch)
	}
	<-first
	writeFile(t, a, "owner: x\n")
	ch := h.next()
	if !ch.Initial || !slices.Contains(ch.Paths, a) {
		t.Fatalf("re-run of a cancelled initial call = %+v, want Initial with %s", ch, a)
	}
}

// TestRootRemovedAndRecreated: a removed root is reported, polled for, and
// watched again (recursively) once it is back.
func TestRootRemovedAndRecreated(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	root := filepath.Join(parent, "manifests")
	a := filepath.Join(root, "a.yaml")
	b := filepath.Join(root, "sub", "b.yaml")
	writeFile(t, a, "owner: x\n")
	writeFile(t, b, "owner: x\n")
	h := startWatch(t, root, Options{}, nil)
	h.next()

	must(t, os.RemoveAll(root))
	h.waitPaths([]string{root}, a, b, filepath.Join(root, "sub"))

	c := filepath.Join(root, "c.yaml")
	writeFile(t, c, "owner: x\n")
	h.waitPaths([]string{root, c})

	// Watched again, including new subdirectories.
	d := filepath.Join(root, "new", "d.yaml")
	writeFile(t, c, "owner: y\n")
	writeFile(t, d, "owner: y\n")
	h.waitPaths([]string{c, d})
}

// TestRootRenamed: the renamed tree's old watches do not keep reporting, and
// a new directory under the old name is picked up.
func TestRootRenamed(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	root := filepath.Join(parent, "manifests")
	old := filepath.Join(parent, "manifests.old")
	writeFile(t, filepath.Join(root, "a.yaml"), "owner: x\n")
	writeFile(t, filepath.Join(root, "sub", "b.yaml"), "owner: x\n")
	h := startWatch(t, root, Options{}, nil)
	h.next()

	must(t, os.Rename(root, old))
	h.waitPaths([]string{root})
	writeFile(t, filepath.Join(old, "a.yaml"), "owner: stale\n")
	writeFile(t, filepath.Join(old, "sub", "b.yaml"), "owner: stale\n")
	h.noCall()

	c := filepath.Join(root, "c.yaml")
	writeFile(t, c, "owner: x\n")
	h.waitPaths([]string{root, c})
}

// TestFileRootDirectoryRemoved: for a single-file root the watched
// directory is its parent; losing it and getting it back works the same.
func TestFileRootDirectoryRemoved(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "conf")
	f := filepath.Join(dir, "slsync.yaml")
	writeFile(t, f, "owner: x\n")
	h := startWatch(t, f, Options{}, nil)
	h.next()
	must(t, os.RemoveAll(dir))
	h.waitPaths([]string{f})
	writeFile(t, f, "owner: back\n")
	h.waitPaths([]string{f})
	writeFile(t, f, "owner: again\n")
	h.waitPaths([]string{f})
}

// TestOverflowRescan: when the kernel queue overflows (the event loop is held
// up while tens of thousands of events are produced), fn gets a Rescan call
// listing every manifest.
func TestOverflowRescan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "sub", "b.yaml")
	writeFile(t, a, "owner: x\n")
	writeFile(t, b, "owner: x\n")
	blocked := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	h := startWatch(t, dir, Options{testHookEvent: func() {
		once.Do(func() { close(blocked); <-release })
	}}, nil)
	h.next()

	writeFile(t, a, "owner: y\n") // first event: the loop now blocks in the hook
	select {
	case <-blocked:
	case <-time.After(waitLong):
		t.Fatal("event loop never saw the first event")
	}
	// Alternate two files so that inotify cannot coalesce the events; the
	// default queue holds 16384 (fs.inotify.max_queued_events).
	queueMax := 16384
	if raw, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil {
			queueMax = v
		}
	}
	x, err := os.Create(filepath.Join(dir, "x.txt"))
	must(t, err)
	y, err := os.Create(filepath.Join(dir, "y.txt"))
	must(t, err)
	for range queueMax + 8192 {
		_, err1 := x.Write([]byte{'x'})
		_, err2 := y.Write([]byte{'y'})
		must(t, errors.Join(err1, err2))
	}
	must(t, errors.Join(x.Close(), y.Close()))
	close(release)

	for {
		ch := h.next()
		if ch.Rescan {
			if !slices.Contains(ch.Paths, a) || !slices.Contains(ch.Paths, b) {
				t.Fatalf("rescan call %+v does not list every manifest", ch)
			}
			break
		}
	}
	// Still watching afterwards.
	writeFile(t, b, "owner: after\n")
	h.waitPaths([]string{b})
}

// TestCancelReturnsPromptly: cancelling ctx cancels the running fn, Run
// returns nil, and no goroutine is left behind. Not parallel: it counts
// goroutines.
func TestCancelReturnsPromptly(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), "owner: x\n")
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan struct{})
	fnDone := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, dir, Options{Debounce: testDebounce}, func(ctx context.Context, ch Change) {
			close(running)
			<-ctx.Done()
			fnDone <- ctx.Err()
		})
	}()
	select {
	case <-running:
	case <-time.After(waitLong):
		t.Fatal("fn never called")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case err := <-fnDone: // Run returned only after fn did
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("fn ctx err = %v", err)
		}
	default:
		t.Fatal("Run returned while fn was still running")
	}
	deadline := time.Now().Add(waitLong)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope")
	err := Run(context.Background(), missing, Options{}, func(context.Context, Change) {})
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "-f") {
		t.Fatalf("Run on a missing root = %v, want an error naming the path and -f", err)
	}
	if err := Run(context.Background(), t.TempDir(), Options{}, nil); err == nil {
		t.Fatal("Run without a callback succeeded")
	}
}

func TestLimitHint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{syscall.ENOSPC, "fs.inotify.max_user_watches"},
		{syscall.EMFILE, "fs.inotify.max_user_instances"},
		{syscall.EACCES, ""},
	} {
		got := limitHint(tc.err)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("limitHint(%v) = %q, want mention of %q", tc.err, got, tc.want)
		}
	}
}
