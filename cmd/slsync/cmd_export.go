package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/slsync/slsync/internal/export"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/state"
)

// ExportCmd writes manifests for projects that already exist.
type ExportCmd struct {
	CloudFlags
	Owner  string   `name:"owner" required:"" placeholder:"NAME" help:"Owner of the manifests to write (tag-value syntax); projects this owner manages keep their project key, other owners' projects are left out."`
	Type   []string `name:"type" placeholder:"TYPE" help:"Export only projects of this type (elasticsearch, observability, security); repeatable."`
	Tag    []string `name:"tag" placeholder:"KEY=VALUE" help:"Export only projects carrying this tag; repeatable (all must match)."`
	Output string   `name:"output" short:"o" default:"-" placeholder:"DIR|-" help:"Directory to write one <project key>.yaml per project into, or - for one manifest on stdout."`
	Force  bool     `name:"force" help:"Overwrite files that already exist in the output directory."`
}

func (c *ExportCmd) Help() string {
	return `Reads the live organisation (one list call per project type, plus one API key query per
exported project whose admin credentials are in the credentials file) and writes manifests
that 'slsync validate' accepts: the alias without its system suffix, service defaults left
out, user tags kept, live ids as comments, and 'adopt: true' on every project slsync does not
manage yet. API keys are exported as definitions only (never a secret), for projects whose
credentials are known, and only those the credentials' user owns (others cannot be adopted).
What is left out, and why, is listed on stderr. Planning the exported manifests against the
same organisation shows only adopt actions.`
}

var ownerRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func (c *ExportCmd) Run(app *App) error {
	if !ownerRE.MatchString(c.Owner) || len(c.Owner) > 128 {
		return withExitCode(exitUsage, fmt.Errorf("--owner %q: an owner is 1-128 characters, a lowercase letter or digit first, then lowercase letters, digits, '_' or '-'", c.Owner))
	}
	opts := export.Options{Owner: c.Owner, Now: nowUTC()}
	for _, t := range c.Type {
		switch typ := model.ProjectType(t); typ {
		case model.Elasticsearch, model.Observability, model.Security:
			opts.Types = append(opts.Types, typ)
		default:
			return withExitCode(exitUsage, fmt.Errorf("--type %q: use elasticsearch, observability or security", t))
		}
	}
	for _, kv := range c.Tag {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return withExitCode(exitUsage, fmt.Errorf("--tag %q: write KEY=VALUE, e.g. --tag env=prod", kv))
		}
		if opts.Tags == nil {
			opts.Tags = map[string]string{}
		}
		opts.Tags[k] = v
	}
	l, err := c.CloudFlags.connect(app)
	if err != nil {
		return err
	}
	creds, err := l.credentials()
	if err != nil {
		return err
	}
	ex := &export.Exporter{Projects: l.Projects, Credentials: creds, NewKeyAPI: state.ESClients(l.Opts), Parallelism: c.parallelism()}
	res, err := ex.Export(app.Ctx, opts)
	if err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintf(app.Stderr, "note: %s\n", n)
	}
	if len(res.Projects) == 0 {
		return errors.New("no project matched; nothing was written (check --type and --tag, and that EC_ENDPOINT points at the right organisation)")
	}
	if c.Output == "-" {
		_, err := app.Stdout.Write(res.Combined)
		return err
	}
	return c.writeFiles(app, res)
}

// writeFiles writes one file per project into the output directory; it
// checks every target first, so that it writes all files or none.
func (c *ExportCmd) writeFiles(app *App, res *export.Result) error {
	if err := os.MkdirAll(c.Output, 0o755); err != nil {
		return fmt.Errorf("creating the output directory: %w", err)
	}
	if !c.Force {
		var exist []string
		for _, f := range res.Files {
			if _, err := os.Lstat(filepath.Join(c.Output, f.Name)); err == nil {
				exist = append(exist, f.Name)
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("%s already holds %s; nothing was written — export into an empty directory, or pass --force to overwrite", c.Output, strings.Join(exist, ", "))
		}
	}
	for _, f := range res.Files {
		if err := os.WriteFile(filepath.Join(c.Output, f.Name), f.Data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name, err)
		}
	}
	adopt := 0
	for _, p := range res.Projects {
		if p.Spec.Adopt != nil {
			adopt++
		}
	}
	fmt.Fprintf(app.Stderr, "Wrote %d manifest file(s) to %s (%d project(s) to adopt). Review them, commit them, then run: slsync plan -f %s\n",
		len(res.Files), c.Output, adopt, c.Output)
	return nil
}
