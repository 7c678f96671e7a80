package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
)

// ApplyCmd makes the live organisation match the manifests.
type ApplyCmd struct {
	ManifestFlags
	CloudFlags
	SecretFlags
	Plan                 string        `name:"plan" placeholder:"FILE" help:"Apply exactly this saved plan (from 'slsync plan --out FILE'); refused if the manifests or the live state moved since."`
	AutoApprove          bool          `name:"auto-approve" help:"Apply without asking for confirmation (required when stdin is not a terminal)."`
	AllowReplace         bool          `name:"allow-replace" help:"Allow replacing (delete + create) projects whose type, region_id or optimized_for changed."`
	MaxDeletes           int           `name:"max-deletes" default:"3" help:"Refuse to delete or replace more than N projects in one apply."`
	WaitTimeout          time.Duration `name:"wait-timeout" default:"30m" help:"How long to wait for a project to become initialized (or to be gone)."`
	AllowCredentialReset bool          `name:"allow-credential-reset" help:"Issue new admin credentials (_reset-credentials) for projects whose credentials slsync lacks; their old admin password stops working."`
}

func (c *ApplyCmd) Help() string {
	return `Plans (or loads --plan FILE), shows the plan, asks for confirmation on a terminal
(type "yes"; --auto-approve skips it and is required without a terminal), then executes the
actions in dependency order with --parallelism API actions at a time. Created projects' admin
credentials go to the credentials file; created API keys' secrets go to --secrets-dir and/or
--secrets-exec before anything depending on them proceeds.
Exit codes: 0 everything succeeded (or nothing to do), 1 a refusal or a failed action.`
}

func (c *ApplyCmd) Run(app *App) error {
	tuneGCForManifests(c.File) // a short-lived process (watch, long-lived, does not)
	ctx := app.Ctx
	// Manifest errors first: they need no credentials and no network.
	set, err := loadManifests(app, c.File)
	if err != nil {
		return err
	}
	l, err := c.CloudFlags.connect(app)
	if err != nil {
		return err
	}
	sink, err := c.sink()
	if err != nil {
		return withExitCode(exitError, err)
	}
	// Take the lock before reading anything: a second apply on this
	// machine must not plan against a state the first one is changing.
	unlock, err := apply.Lock(l.CredsPath)
	if err != nil {
		return err
	}
	defer unlock()

	p, err := c.makePlan(ctx, app, l, set)
	if err != nil {
		return err
	}
	if err := plan.Render(app.Stdout, p, "text", UseColor(app.Stdout)); err != nil {
		return err
	}
	if !p.HasChanges() && !p.HasErrors() {
		fmt.Fprintln(app.Stdout, "Nothing to apply: the live organisation matches the manifests.")
		return nil
	}
	opts := applyOptions(app, l, sink, c.parallelism(), c.MaxDeletes)
	opts.WaitTimeout = c.WaitTimeout
	opts.AllowCredentialReset = c.AllowCredentialReset
	if err := apply.Check(p, opts); err != nil {
		return withExitCode(exitError, err)
	}
	if c.Plan == "" && !c.AutoApprove {
		if err := confirm(app); err != nil {
			return err
		}
	}
	c.SecretFlags.warnExposed(ctx, app, l.CredsPath)

	fmt.Fprintln(app.Stdout)
	rep, err := runApply(ctx, app.Stdout, p, opts)
	if err != nil {
		return withExitCode(exitError, err)
	}
	if !rep.OK() {
		if ctx.Err() != nil {
			return withExitCode(exitError, errors.New("interrupted; running apply again picks up where this one stopped"))
		}
		return withExitCode(exitError, nil)
	}
	return nil
}

// makePlan plans afresh, or loads and checks --plan FILE.
func (c *ApplyCmd) makePlan(ctx context.Context, app *App, l *live, set *model.Set) (*plan.Plan, error) {
	if c.Plan == "" {
		st, p, err := planSet(ctx, app, &c.CloudFlags, l, set, c.AllowReplace)
		if err != nil {
			return nil, err
		}
		if !c.AllowCredentialReset {
			return p, nil
		}
		reset, err := resetMissing(ctx, app, l, st)
		if err != nil {
			return nil, err
		}
		if reset {
			// New credentials were stored: plan again, reading the keys
			// with them.
			_, p, err = planSet(ctx, app, &c.CloudFlags, l, set, c.AllowReplace)
			if err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	p, err := plan.Load(c.Plan)
	if err != nil {
		return nil, withExitCode(exitError, err)
	}
	if p.ManifestDigest != set.Digest {
		return nil, withExitCode(exitError, &apply.StalePlanError{Reasons: []string{
			fmt.Sprintf("the manifests in %s changed since the plan was made", c.File)}})
	}
	st, err := l.read(ctx, app, set, c.parallelism())
	if err != nil {
		return nil, fmt.Errorf("reading the live organisation: %w", err)
	}
	if err := apply.CheckSaved(ctx, p, set, st, l.Projects, c.parallelism()); err != nil {
		return nil, withExitCode(exitError, err)
	}
	return p, nil
}

// resetMissing issues and stores new admin credentials for managed
// projects whose keys could not be read for lack of them, and reports
// whether it stored any.
func resetMissing(ctx context.Context, app *App, l *live, st *model.LiveState) (bool, error) {
	reset, err := apply.ResetMissing(ctx, l.Projects, l.CredsPath, st)
	for _, k := range reset {
		fmt.Fprintf(app.Stderr, "Reset the admin credentials of project %s (--allow-credential-reset); stored in %s\n", k, l.CredsPath)
	}
	return len(reset) > 0, err
}

// confirm asks on a terminal; without one it refuses (CI must say
// --auto-approve).
func confirm(app *App) error {
	f, ok := app.Stdin.(*os.File)
	if !ok || !IsTerminal(f) {
		return withExitCode(exitError, errors.New("stdin is not a terminal, so apply cannot ask for confirmation; review the plan above and re-run with --auto-approve (or apply a reviewed saved plan with --plan FILE)"))
	}
	fmt.Fprint(app.Stdout, "\nDo you want to apply these changes? Only 'yes' will be accepted: ")
	line, _ := bufio.NewReader(f).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return withExitCode(exitError, errors.New("apply cancelled; nothing was changed"))
	}
	return nil
}

// keyAPIs makes Elasticsearch clients sharing the run's HTTP client.
func keyAPIs(opts cloud.Options) apply.KeyAPIFactory {
	return func(endpoint, username string, password model.Secret) (apply.KeyAPI, error) {
		return cloud.NewESClient(endpoint, username, password, opts)
	}
}
