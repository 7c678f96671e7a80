package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/plan"
	"github.com/slsync/slsync/internal/watch"
)

// WatchCmd re-validates and re-plans on every save.
type WatchCmd struct {
	ManifestFlags
	CloudFlags
	Debounce     time.Duration `name:"debounce" default:"300ms" help:"Quiet time after the last change before re-planning."`
	AllowReplace bool          `name:"allow-replace" help:"Plan replacements of projects whose type, region_id or optimized_for changed."`
	Apply        bool          `name:"apply" hidden:"" help:"Also apply every valid plan (loopback endpoints only, unless --auto-approve)."`
	AutoApprove  bool          `name:"auto-approve" hidden:"" help:"With --apply against a non-loopback endpoint: apply without asking."`
	MaxDeletes   int           `name:"max-deletes" default:"3" hidden:"" help:"With --apply: never delete more projects than this in one apply."`
}

func (c *WatchCmd) Help() string {
	return `Watches the manifest file or directory (including subdirectories created later) and, on
every save, validates and plans again: invalid manifests show their located errors, valid ones
show the plan with what changed since the previous one marked (*). A change that arrives while a
plan runs cancels it and starts again. An unreachable endpoint is reported and retried. Ctrl-C
ends it (exit 0).`
}

func (c *WatchCmd) Run(app *App) error {
	if c.Apply {
		if !c.AutoApprove && !isLoopbackURL(c.CloudFlags.endpoint()) {
			return withExitCode(exitUsage, errors.New("watch --apply against a non-loopback endpoint also needs --auto-approve"))
		}
		return withExitCode(exitUsage, errors.New("watch --apply is not available yet; run `slsync apply` after watching the plan"))
	}
	l, err := c.CloudFlags.connect(app)
	if err != nil {
		return err
	}
	s := &watchSession{cmd: c, app: app, live: l, term: IsTerminal(app.Stdout)}
	err = watch.Run(app.Ctx, c.File, watch.Options{Debounce: c.Debounce, Logger: app.Log}, s.onChange)
	if err != nil {
		return err
	}
	fmt.Fprintln(app.Stderr, "slsync watch: stopped")
	return nil
}

// watchSession is the state one watch keeps between saves.
type watchSession struct {
	cmd  *WatchCmd
	app  *App
	live *live
	term bool
	prev *plan.Plan
}

// retry bounds for an unreachable endpoint: keep trying, but back off.
const (
	watchRetryFirst = time.Second
	watchRetryMax   = 30 * time.Second
)

func (s *watchSession) onChange(ctx context.Context, ev watch.Change) {
	delay := watchRetryFirst
	for {
		var out bytes.Buffer
		sub := *s.app
		sub.Stdout, sub.Stderr = &out, &out
		_, _, p, err := planOnce(ctx, &sub, &s.cmd.ManifestFlags, &s.cmd.CloudFlags, s.live, s.cmd.AllowReplace)
		if ctx.Err() != nil {
			return // superseded by a newer change, or shutting down
		}
		s.show(&out, ev, p, err)
		if err == nil || isManifestError(err) {
			if p != nil {
				s.prev = p
			}
			return
		}
		// The endpoint could not be reached or answered an error: retry with
		// backoff until it works or the next change supersedes this one.
		fmt.Fprintf(s.app.Stdout, "retrying in %s…\n", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, watchRetryMax)
	}
}

// show prints one round: a header, the diagnostics or the plan, and what
// changed since the previous plan.
func (s *watchSession) show(out *bytes.Buffer, ev watch.Change, p *plan.Plan, err error) {
	w := s.app.Stdout
	if s.term {
		io.WriteString(w, "\x1b[H\x1b[2J") // clear and home: redraw in place
	} else if s.prev != nil || !ev.Initial {
		fmt.Fprintln(w)
	}
	what := "start"
	if !ev.Initial {
		what = "changed: " + strings.Join(ev.Paths, ", ")
		if ev.Rescan {
			what = "rescanned"
		}
	}
	fmt.Fprintf(w, "── slsync watch %s · %s · %s\n", s.cmd.File, time.Now().Format("15:04:05"), what)
	w.Write(out.Bytes())
	if err != nil {
		if !isManifestError(err) {
			fmt.Fprintf(w, "error: %v\n", err)
		} else {
			fmt.Fprintln(w, "Manifests are invalid; fix them and save again.")
		}
		return
	}
	d := plan.Compare(s.prev, p)
	var buf bytes.Buffer
	_ = plan.Render(&buf, p, "text", s.term && UseColor(w))
	markChanged(w, buf.String(), d)
	if len(d.Gone) > 0 {
		fmt.Fprintf(w, "No longer planned since the last save: %s\n", strings.Join(d.Gone, ", "))
	}
}

// markChanged prints a rendered text plan, prefixing with "*" the header
// line of each action that is new or different since the previous plan.
func markChanged(w io.Writer, text string, d plan.Delta) {
	for _, line := range strings.SplitAfter(text, "\n") {
		mark := "  "
		for addr := range d.Added {
			if strings.Contains(line, " "+addr+" (") && !strings.HasPrefix(line, " ") {
				mark = "* "
				break
			}
		}
		if line != "" {
			io.WriteString(w, mark+line)
		}
	}
}

// isManifestError reports whether err is the "manifests are invalid" result
// of loadManifests (already shown with locations), as opposed to a failure to
// reach the API.
func isManifestError(err error) bool {
	var ie *invalidManifestsError
	return errors.As(err, &ie)
}

// isLoopbackURL reports whether u points at this machine.
func isLoopbackURL(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := pu.Hostname()
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}
