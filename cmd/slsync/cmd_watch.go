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

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/plan"
	"github.com/slsync/slsync/internal/watch"
)

// WatchCmd re-validates and re-plans on every save.
type WatchCmd struct {
	ManifestFlags
	CloudFlags
	Debounce     time.Duration `name:"debounce" default:"300ms" help:"Quiet time after the last change before re-planning."`
	AllowReplace bool          `name:"allow-replace" help:"Plan replacements of projects whose type, region_id or optimized_for changed."`
	Apply        bool          `name:"apply" help:"Also apply every valid plan. Meant for the emulator or a development organisation: a non-loopback endpoint also needs --auto-approve."`
	AutoApprove  bool          `name:"auto-approve" help:"With --apply against a non-loopback endpoint: apply without asking."`
	MaxDeletes   int           `name:"max-deletes" default:"3" help:"With --apply: refuse a plan that deletes or replaces more than N projects."`
	SecretFlags
}

func (c *WatchCmd) Help() string {
	return `Watches the manifest file or directory (including subdirectories created later) and, on
every save, validates and plans again: invalid manifests show their located errors, valid ones
show the plan with what changed since the previous one marked (*). A change that arrives while a
plan runs cancels it and starts again. An unreachable endpoint is reported and retried. Ctrl-C
ends it (exit 0).`
}

func (c *WatchCmd) Run(app *App) error {
	if c.Apply && !c.AutoApprove && !isLoopbackURL(c.CloudFlags.endpoint()) {
		return withExitCode(exitUsage, fmt.Errorf("watch --apply against %s (not this machine) also needs --auto-approve", c.CloudFlags.endpoint()))
	}
	l, err := c.CloudFlags.connect(app)
	if err != nil {
		return err
	}
	sink, err := c.SecretFlags.sink()
	if err != nil {
		return withExitCode(exitError, err)
	}
	if c.Apply {
		c.SecretFlags.warnExposed(app.Ctx, app, l.CredsPath)
	}
	s := &watchSession{cmd: c, app: app, live: l, term: IsTerminal(app.Stdout), sink: sink}
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
	sink apply.Sink
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
				if s.cmd.Apply {
					s.apply(p)
				}
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

// apply executes a valid plan with changes. It runs under the process's
// context, not the change's: a save that arrives mid-apply must not cut a
// key create off between the server committing it and its secret being
// delivered. The next change is planned once this apply has finished.
func (s *watchSession) apply(p *plan.Plan) {
	if !p.HasChanges() || p.HasErrors() {
		return
	}
	w := s.app.Stdout
	unlock, err := apply.Lock(s.live.CredsPath)
	if err != nil {
		fmt.Fprintf(w, "not applied: %v\n", err)
		return
	}
	defer unlock()
	opts := applyOptions(s.app, s.live, s.sink, s.cmd.parallelism(), s.cmd.MaxDeletes)
	if err := apply.Check(p, opts); err != nil {
		fmt.Fprintf(w, "not applied: %v\n", err)
		return
	}
	fmt.Fprintln(w)
	if _, err := runApply(s.app.Ctx, w, p, opts); err != nil {
		fmt.Fprintf(w, "apply failed: %v\n", err)
		return
	}
	// The live state now matches this plan: whatever the next one holds is
	// news, so compare it with an empty plan.
	s.prev = &plan.Plan{}
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
	return isLoopback(pu.Hostname())
}
