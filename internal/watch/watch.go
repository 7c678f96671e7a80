// Package watch turns file-system notifications for a manifest file or
// directory into calls of one function, once per settled burst of changes.
//
// It exists because raw fsnotify events are a poor trigger for "re-plan":
// editors emit 2–9 events per save, over several names (swap files, backups,
// temp files renamed over the target), inotify cannot watch a tree
// recursively, a watched file loses its watch on the first atomic save, and a
// removed root silently stops all events. Run hides all of that: it watches
// directories (never files), adds subdirectories as they appear, filters out
// editor scratch files, debounces, and never runs two callbacks at once.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for Options.
const (
	DefaultDebounce = 300 * time.Millisecond
	DefaultRootPoll = 250 * time.Millisecond
)

// Options tune Run. The zero value is usable.
type Options struct {
	// Debounce is how long the watched files must stay quiet before fn is
	// called; every relevant event restarts the wait. Default 300ms.
	Debounce time.Duration
	// RootPoll is how often Run checks whether a removed or renamed root
	// (or, for a single-file root, its directory) has reappeared. Default 250ms.
	RootPoll time.Duration
	// Logger receives debug lines for events and warnings for lost watches.
	// Default: discard.
	Logger *slog.Logger

	// testHookEvent, when set, runs in the event loop before each fsnotify
	// event is handled. Tests block in it to let the kernel queue overflow.
	testHookEvent func()
	// testHookReturned, when set, runs in the event loop once it has taken
	// note that fn returned. Tests wait for it before changing files, so that
	// the change cannot count as arriving while fn still runs.
	testHookReturned func()
}

// Change describes why fn is being called.
type Change struct {
	// Paths are the relevant paths touched since the previous call, sorted
	// and without duplicates: manifest files written, created, removed or
	// renamed away, and directories removed or renamed away (their files get
	// no events of their own). When the watcher cannot know what changed
	// (Initial, Rescan, a root that reappeared) Paths lists every manifest
	// file present, plus the root itself when it reappeared or vanished.
	Paths []string
	// Initial is true for the first call, and stays true while every
	// earlier call was cancelled before it returned.
	Initial bool
	// Rescan is true when the kernel dropped events (inotify queue overflow):
	// anything may have changed, so re-read everything.
	Rescan bool
}

// Run watches root — a manifest file, or a directory read recursively
// including subdirectories created later — and calls fn once at start and
// then once after each settled burst of relevant changes (see Change).
//
// If a relevant change arrives while fn is running, fn's context is cancelled
// and fn is called again, with the paths of the cancelled call carried over,
// after the new burst settles. Two calls of fn never overlap, and events are
// read on Run's own goroutine, so a slow fn never backs up the kernel queue.
//
// If root (or a single-file root's directory) is removed or renamed away,
// fn is called with the root among Paths and Run polls every RootPoll until
// it reappears, then re-adds the watches and calls fn again.
//
// Run returns nil when ctx is cancelled, after the running fn (whose context
// is cancelled too) has returned. It returns an error only when watching
// cannot start or continue: root does not exist at start, or the system's
// inotify limits are exhausted (the error says which sysctl to raise).
func Run(ctx context.Context, root string, opts Options, fn func(ctx context.Context, ev Change)) error {
	if fn == nil {
		return errors.New("watch: no callback given")
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.RootPoll <= 0 {
		opts.RootPoll = DefaultRootPoll
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	root = filepath.Clean(root)
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("watch %s: %w (check the manifest path given with -f)", root, err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: cannot start the file watcher: %w%s", root, err, limitHint(err))
	}
	defer w.Close()

	l := &loop{
		w:         w,
		root:      root,
		base:      root,
		recursive: fi.IsDir(),
		opts:      opts,
		log:       opts.Logger.With("root", root),
		fn:        fn,
		dirs:      map[string]struct{}{},
		pending:   newBatch(),
	}
	if !l.recursive {
		l.base = filepath.Dir(root)
	}
	if err := l.attach(); err != nil {
		return err
	}
	l.pending.initial = true
	return l.run(ctx)
}

// batch accumulates what happened since fn was last started.
type batch struct {
	paths           map[string]struct{}
	initial, rescan bool
}

func newBatch() batch { return batch{paths: map[string]struct{}{}} }

func (b *batch) add(paths ...string) {
	for _, p := range paths {
		b.paths[p] = struct{}{}
	}
}

func (b *batch) merge(o batch) {
	maps.Copy(b.paths, o.paths)
	b.initial = b.initial || o.initial
	b.rescan = b.rescan || o.rescan
}

func (b *batch) dirty() bool { return len(b.paths) > 0 || b.initial || b.rescan }

func (b *batch) change() Change {
	return Change{Paths: slices.Sorted(maps.Keys(b.paths)), Initial: b.initial, Rescan: b.rescan}
}

// loop is the state of one Run. Every field is owned by Run's goroutine; fn
// runs on its own goroutine and only sees its Change.
type loop struct {
	w         *fsnotify.Watcher
	root      string // as given, cleaned
	base      string // the directory watched at the top: root, or root's parent for a file root
	recursive bool   // root is a directory
	opts      Options
	log       *slog.Logger
	fn        func(context.Context, Change)

	dirs    map[string]struct{} // directories watched (fsnotify drops watches on its own, so keep our view)
	pending batch
	lost    bool // base vanished; polling for it
}

// run is the event loop: it reads fsnotify's channels, debounces, and starts
// fn on a separate goroutine so that it never blocks on fn.
func (l *loop) run(ctx context.Context) (err error) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed := false
	arm := func() { timer.Reset(l.opts.Debounce); armed = true }

	var (
		poll  *time.Ticker
		pollC <-chan time.Time
	)
	defer func() {
		if poll != nil {
			poll.Stop()
		}
	}()

	// done carries, when fn returns, whether it completed: its context was
	// not cancelled by the time it returned. A change that arrives after fn
	// finished but before this loop saw it return cancels nothing real, and
	// must not make the finished call's paths run again.
	done := make(chan bool, 1)
	var (
		running   bool
		cancelled bool // the running call's context was cancelled by a newer change
		cancelRun context.CancelFunc
		inFlight  batch
	)
	start := func() {
		inFlight, l.pending = l.pending, newBatch()
		var runCtx context.Context
		runCtx, cancelRun = context.WithCancel(ctx)
		running, cancelled = true, false
		ch := inFlight.change()
		l.log.Debug("watch: calling", "paths", len(ch.Paths), "initial", ch.Initial, "rescan", ch.Rescan)
		go func() {
			completed := false
			defer func() { done <- completed }()
			l.fn(runCtx, ch)
			completed = runCtx.Err() == nil
		}()
	}
	// changed is called for each relevant change: restart the quiet period
	// and make the running call (now stale) stop early.
	changed := func() {
		arm()
		if running && !cancelled {
			cancelRun()
			cancelled = true
		}
	}
	// Never leave fn running behind us.
	defer func() {
		if running {
			cancelRun()
			<-done
		}
	}()

	start()
	for {
		// The root poll runs exactly while base is lost; every case that
		// loses or finds base comes back here.
		switch {
		case l.lost && poll == nil:
			poll = time.NewTicker(l.opts.RootPoll)
			pollC = poll.C
		case !l.lost && poll != nil:
			poll.Stop()
			poll, pollC = nil, nil
		}
		select {
		case <-ctx.Done():
			return nil

		case ev, ok := <-l.w.Events:
			if !ok {
				return fmt.Errorf("watch %s: the file watcher stopped unexpectedly; restart slsync watch", l.root)
			}
			if l.opts.testHookEvent != nil {
				l.opts.testHookEvent()
			}
			relevant, err := l.handle(ev)
			if err != nil {
				return err
			}
			if relevant {
				changed()
			}

		case werr, ok := <-l.w.Errors:
			if !ok {
				return fmt.Errorf("watch %s: the file watcher stopped unexpectedly; restart slsync watch", l.root)
			}
			if errors.Is(werr, fsnotify.ErrEventOverflow) {
				l.log.Warn("watch: the kernel dropped file events (inotify queue overflow); re-reading everything")
				if err := l.rescan(); err != nil {
					return err
				}
				changed()
			} else {
				l.log.Warn("watch: file watcher error", "err", werr)
			}

		case <-timer.C:
			armed = false
			if !l.lost && !l.baseWatched() {
				// Lost without an event for it (e.g. removed while the
				// kernel queue overflowed): report it like a removal.
				l.lose()
				changed()
				continue
			}
			if !running && l.pending.dirty() {
				start()
			}

		case completed := <-done:
			running = false
			cancelRun()
			if cancelled && !completed {
				l.pending.merge(inFlight)
			}
			if l.opts.testHookReturned != nil {
				l.opts.testHookReturned()
			}
			if !armed && l.pending.dirty() {
				start()
			}

		case <-pollC:
			back, err := l.reattach()
			if err != nil {
				return err
			}
			if back {
				changed()
			}
		}
	}
}

// handle classifies one event, updates the watches it implies, and reports
// whether it is a relevant change (recorded in l.pending).
func (l *loop) handle(ev fsnotify.Event) (bool, error) {
	if l.lost {
		return false, nil // stragglers from watches already removed
	}
	name := filepath.Clean(ev.Name)
	if name == l.base && ev.Has(fsnotify.Remove|fsnotify.Rename) {
		l.lose()
		return true, nil
	}
	if !l.recursive {
		// A single-file root: only its own name matters, whatever the
		// editor does with others around it.
		if name != l.root || !ev.Has(fsnotify.Create|fsnotify.Write|fsnotify.Remove|fsnotify.Rename) {
			return false, nil
		}
		l.log.Debug("watch: event", "op", ev.Op.String(), "path", name)
		l.pending.add(name)
		return true, nil
	}

	rel, inside := relTo(l.base, name)
	if !inside || rel == "." {
		return false, nil // stale name from a watch that moved away
	}
	if ev.Has(fsnotify.Remove | fsnotify.Rename) {
		if _, ok := l.dirs[name]; ok {
			// A directory removed or moved away: its files get no events of
			// their own when moved, and its subdirectories' watches would
			// keep reporting under the old names.
			l.forget(name)
			l.log.Debug("watch: directory gone", "path", name)
			l.pending.add(name)
			return true, nil
		}
	}
	if ev.Has(fsnotify.Create) && !inSkippedDir(rel) && !skipDir(filepath.Base(name)) {
		if fi, err := os.Lstat(name); err == nil && fi.IsDir() {
			// New (or moved-in) directory: watch it and everything below,
			// and count the manifests already in it, which produced no
			// events because nobody watched yet.
			found, err := l.addTree(name)
			if err != nil {
				return false, err
			}
			l.log.Debug("watch: directory added", "path", name, "manifests", len(found))
			l.pending.add(found...)
			return len(found) > 0, nil
		}
	}
	if !ev.Has(fsnotify.Create|fsnotify.Write|fsnotify.Remove|fsnotify.Rename) || // Chmod only
		inSkippedDir(rel) || !isManifestName(filepath.Base(name)) {
		return false, nil
	}
	l.log.Debug("watch: event", "op", ev.Op.String(), "path", name)
	l.pending.add(name)
	return true, nil
}

// attach watches base (and, for a directory root, everything below it) and
// records the manifests present in l.pending.
func (l *loop) attach() error {
	if !l.recursive {
		if err := l.addDir(l.base); err != nil {
			return err
		}
		if _, err := os.Stat(l.root); err == nil {
			l.pending.add(l.root)
		}
		return nil
	}
	found, err := l.addTree(l.base)
	if err != nil {
		return err
	}
	l.pending.add(found...)
	return nil
}

// addDir adds one directory watch.
func (l *loop) addDir(dir string) error {
	if err := l.w.Add(dir); err != nil {
		return fmt.Errorf("watch %s: cannot watch directory %s: %w%s", l.root, dir, err, limitHint(err))
	}
	l.dirs[dir] = struct{}{}
	return nil
}

// addTree watches dir and every directory below it that skipDir does not
// exclude, and returns the manifest files found. The watch is added before
// the directory is listed, so a file created meanwhile is either listed or
// reported by an event (or both). A directory that vanishes meanwhile is
// skipped; one that cannot be read is logged and skipped (the manifest
// loader will report it); running out of inotify watches is an error.
func (l *loop) addTree(dir string) ([]string, error) {
	if err := l.addDir(dir); err != nil {
		if gone(err) {
			return nil, nil
		}
		if errors.Is(err, fs.ErrPermission) {
			l.log.Warn("watch: cannot watch directory", "path", dir, "err", err)
			return nil, nil
		}
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !gone(err) {
		l.log.Warn("watch: cannot list directory", "path", dir, "err", err)
	}
	var found []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			if skipDir(e.Name()) {
				continue
			}
			sub, err := l.addTree(p)
			if err != nil {
				return nil, err
			}
			found = append(found, sub...)
		case isManifestName(e.Name()):
			found = append(found, p)
		}
	}
	return found, nil
}

// forget drops dir and every watched directory below it.
func (l *loop) forget(dir string) {
	for d := range l.dirs {
		if _, ok := relTo(dir, d); ok {
			delete(l.dirs, d)
			_ = l.w.Remove(d) // fsnotify may already have dropped it
		}
	}
}

// lose handles the disappearance of base: without it no event can arrive,
// and watches below it (which follow their inodes) would report stale names.
func (l *loop) lose() {
	l.log.Warn("watch: the watched directory was removed or renamed; waiting for it to reappear", "dir", l.base)
	for _, p := range l.w.WatchList() {
		_ = l.w.Remove(p)
	}
	clear(l.dirs)
	l.lost = true
	l.pending.add(l.root)
}

// baseWatched reports whether fsnotify still holds the watch on base.
func (l *loop) baseWatched() bool {
	return slices.Contains(l.w.WatchList(), l.base)
}

// reattach checks whether base is back and, if so, watches it again and
// records everything in it as changed.
func (l *loop) reattach() (bool, error) {
	fi, err := os.Stat(l.base)
	if err != nil || !fi.IsDir() {
		return false, nil
	}
	if err := l.attach(); err != nil {
		if gone(err) {
			return false, nil
		}
		return false, err
	}
	if !l.baseWatched() {
		return false, nil // addTree skipped it: vanished again, or unreadable
	}
	l.lost = false
	l.pending.add(l.root)
	l.log.Info("watch: the watched directory is back", "dir", l.base)
	return true, nil
}

// rescan follows a queue overflow: events (including directory creations)
// were lost, so watch every directory again and treat every manifest as
// changed.
func (l *loop) rescan() error {
	l.pending.rescan = true
	if l.lost {
		return nil
	}
	if _, err := os.Stat(l.base); err != nil {
		l.lose()
		return nil
	}
	if l.recursive {
		// Drop watches whose directory no longer exists under that name.
		for d := range l.dirs {
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				delete(l.dirs, d)
				_ = l.w.Remove(d)
			}
		}
	}
	return l.attach()
}

// gone reports whether err says the path vanished while we looked.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// limitHint explains the inotify limits when err says one was hit.
func limitHint(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return " (the inotify watch limit is reached: one watch is needed per directory; raise it with " +
			"`sudo sysctl fs.inotify.max_user_watches=524288` and persist it in /etc/sysctl.d/)"
	case errors.Is(err, syscall.EMFILE):
		return " (too many inotify instances, or open files: raise `fs.inotify.max_user_instances` with " +
			"`sudo sysctl fs.inotify.max_user_instances=512`, or stop other file watchers)"
	}
	return ""
}
