package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/plan"
)

// AdoptCmd puts one existing project under management without editing the
// manifests first: the one-off form of `adopt: true`.
type AdoptCmd struct {
	ManifestFlags
	CloudFlags
	ProjectKey  string `arg:"" name:"project-key" help:"The project's key in the manifests."`
	ID          string `name:"id" placeholder:"PROJECT_ID" help:"Adopt the live project with this id (when no alias matches, or several do)."`
	AutoApprove bool   `name:"auto-approve" help:"Adopt without asking for confirmation (required when stdin is not a terminal)."`
}

func (c *AdoptCmd) Help() string {
	return `Finds the unmanaged live project that the manifest's project PROJECT_KEY describes (same
type and alias, or --id) and tags it slsync-owner/slsync-key with If-Match, applying the
field updates the manifest asks for on that project. Nothing is recreated; the id stays.
Only the project is adopted: its API keys are planned by the next 'slsync plan'. To keep the
adoption in Git, add 'adopt: true' to the project instead and run plan/apply.`
}

func (c *AdoptCmd) Run(app *App) error {
	ctx := app.Ctx
	set, err := loadManifests(app, c.File)
	if err != nil {
		return err
	}
	l, err := c.CloudFlags.connect(app)
	if err != nil {
		return err
	}
	dp, ok := set.Projects[c.ProjectKey]
	if !ok {
		return withExitCode(exitError, fmt.Errorf("no project %q in %s; the manifests define: %s",
			c.ProjectKey, c.File, strings.Join(set.ProjectKeys(), ", ")))
	}
	switch {
	case c.ID != "":
		dp.Adopt = c.ID
	case dp.Adopt == "":
		dp.Adopt = "true"
	}
	unlock, err := apply.Lock(l.CredsPath)
	if err != nil {
		return err
	}
	defer unlock()

	_, full, err := planSet(ctx, app, &c.CloudFlags, l, set, false)
	if err != nil {
		return err
	}
	addr := "project." + c.ProjectKey
	a := full.Action(addr)
	if a == nil || a.Kind != plan.Adopt {
		for _, pr := range full.Problems {
			if pr.Address == addr {
				return withExitCode(exitError, problemError(pr))
			}
		}
		if a == nil {
			return withExitCode(exitError, fmt.Errorf("project %s is already managed by owner %s and matches its manifest; nothing to adopt", c.ProjectKey, set.Owner))
		}
		return withExitCode(exitError, fmt.Errorf("project %s is already managed by owner %s (the plan would %s it); nothing to adopt", c.ProjectKey, set.Owner, a.Kind))
	}
	p := full.Only(addr)
	if err := plan.Render(app.Stdout, p, "text", UseColor(app.Stdout)); err != nil {
		return err
	}
	opts := applyOptions(app, l, apply.NewMultiSink(), c.parallelism(), 0)
	if err := apply.Check(p, opts); err != nil {
		return withExitCode(exitError, err)
	}
	if !c.AutoApprove {
		if err := confirm(app); err != nil {
			return err
		}
	}
	rep, err := runApply(ctx, app.Stdout, p, opts)
	if err != nil {
		return withExitCode(exitError, err)
	}
	if !rep.OK() {
		return withExitCode(exitError, nil)
	}
	fmt.Fprintf(app.Stdout, "Project %s is now managed by %s. Its API keys show in the next 'slsync plan'.\n", c.ProjectKey, set.Owner)
	return nil
}

// problemError turns a located plan problem into an error naming the place.
func problemError(pr plan.Problem) error {
	if loc := pr.Location.String(); loc != "" {
		return fmt.Errorf("%s: %s", loc, pr.Message)
	}
	return errors.New(pr.Message)
}
