package main

import (
	"fmt"
	"time"

	"github.com/slsync/slsync/internal/plan"
)

// PlanCmd shows what apply would change.
type PlanCmd struct {
	ManifestFlags
	CloudFlags
	Format           string `name:"format" short:"o" enum:"text,markdown,json" default:"text" help:"Output: text (for people), markdown (a pull-request comment) or json (for machines; see README)."`
	Out              string `name:"out" placeholder:"FILE" help:"Also save the plan to FILE for 'slsync apply --plan FILE' (refused there if the manifests or the live state moved since)."`
	DetailedExitcode bool   `name:"detailed-exitcode" help:"Exit 0 when there are no changes, 2 when there are, 1 on error."`
	AllowReplace     bool   `name:"allow-replace" help:"Plan replacements (delete + create) of projects whose type, region_id or optimized_for changed."`
}

func (c *PlanCmd) Help() string {
	return `Reads the manifests and the live organisation (one list call per project type, plus one
API key query per managed project) and prints the ordered actions that would make them match.
Nothing is changed. Exit codes: 0 success, 1 error or a refused action; with
--detailed-exitcode, 2 when there are changes.`
}

func (c *PlanCmd) Run(app *App) error {
	tuneGCForManifests(c.File) // a short-lived process (watch, long-lived, does not)
	// Manifest errors first: they need no credentials and no network.
	set, err := loadManifests(app, c.File)
	if err != nil {
		return err
	}
	l, err := c.CloudFlags.connect(app)
	if err != nil {
		return err
	}
	_, p, err := planSet(app.Ctx, app, &c.CloudFlags, l, set, c.AllowReplace)
	if err != nil {
		return err
	}
	if err := plan.Render(app.Stdout, p, c.Format, c.Format == "text" && UseColor(app.Stdout)); err != nil {
		return err
	}
	if c.Out != "" {
		if err := plan.Save(c.Out, p); err != nil {
			return fmt.Errorf("saving the plan: %w", err)
		}
		fmt.Fprintf(app.Stderr, "Plan saved to %s; apply it with: slsync apply -f %s --plan %s\n", c.Out, c.File, c.Out)
	}
	if p.HasErrors() {
		return withExitCode(exitError, nil)
	}
	if c.DetailedExitcode && p.HasChanges() {
		return withExitCode(exitChanges, nil)
	}
	return nil
}

// nowUTC is the clock of a run (a function so that a test build could pin it).
func nowUTC() time.Time { return time.Now().UTC() }
