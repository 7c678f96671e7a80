package export

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/manifest"
	"github.com/slsync/slsync/internal/state"
)

// ProjectLister lists projects (*cloud.ProjectClient); the same as state's.
type ProjectLister = state.ProjectLister

// Exporter reads the live organisation and builds manifests from it.
// Projects and NewKeyAPI are required.
type Exporter struct {
	Projects ProjectLister
	// Credentials hold project admin credentials by project id; only the
	// keys of projects listed there are read (nil: none).
	Credentials *cloud.Credentials
	NewKeyAPI   state.KeyAPIFactory
	Parallelism int
}

// File is one manifest file of an export.
type File struct {
	Name       string // <project key>.yaml
	ProjectKey string
	Data       []byte
}

// Result is an export: the projects, one file per project, the whole set as
// one document, and notes on what was left out.
type Result struct {
	Owner    string
	Projects []*Project
	Files    []File
	// Combined is every project in one manifest document (for stdout).
	Combined []byte
	Notes    []string
}

// Export lists every project (three list calls: adoption by alias must see
// all of them), reads the keys of the selected projects whose credentials
// are known (one query each), and builds the manifests. The result is
// checked with the manifest loader before it is returned, so that what
// export writes always passes `slsync validate`.
func (e *Exporter) Export(ctx context.Context, opts Options) (*Result, error) {
	if opts.Owner == "" {
		return nil, errors.New("export needs an owner (--owner): the manifests' ownership scope")
	}
	if e.Projects == nil || e.NewKeyAPI == nil {
		return nil, errors.New("export: Exporter needs Projects and NewKeyAPI")
	}
	live, err := state.ListAll(ctx, e.Projects)
	if err != nil {
		return nil, err
	}
	sources := make([]Source, len(live))
	for i, lp := range live {
		sources[i] = Source{Project: lp}
	}

	// Read the keys of the projects that will be exported and that slsync
	// has credentials for.
	b := &builder{opts: opts}
	var jobs []int
	for i, s := range sources {
		lp := s.Project
		if !b.selected(lp) || (lp.Owner != "" && lp.Owner != opts.Owner) {
			continue
		}
		if _, ok := e.Credentials.Lookup(lp.ID); ok {
			jobs = append(jobs, i)
		}
	}
	query := &cloud.QueryAPIKeysRequest{
		Query: map[string]any{"bool": map[string]any{"filter": []any{map[string]any{"term": map[string]any{"invalidated": false}}}}},
		Sort:  cloud.DefaultKeySort(),
		Size:  cloud.DefaultQuerySize,
	}
	err = state.ForEach(ctx, len(jobs), e.Parallelism, func(ctx context.Context, j int) error {
		s := &sources[jobs[j]]
		entry, _ := e.Credentials.Lookup(s.Project.ID)
		keys, err := state.ReadProjectKeys(ctx, e.NewKeyAPI, s.Project, entry, query)
		if err != nil {
			return fmt.Errorf("reading the API keys of project %q (id %s): %w; check its entry with `slsync credentials list`", s.Project.Name, s.Project.ID, err)
		}
		// Export writes keys in the order they were made.
		sort.SliceStable(keys, func(a, c int) bool { return keys[a].Creation.Before(keys[c].Creation) })
		s.Keys, s.KeysRead, s.Username = keys, true, entry.Username
		return nil
	})
	if err != nil {
		return nil, err
	}

	projects, notes := Build(sources, opts)
	res := &Result{Owner: opts.Owner, Projects: projects, Notes: notes}
	for _, p := range projects {
		data, err := Marshal(opts.Owner, []*Project{p})
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, File{Name: p.Key + ".yaml", ProjectKey: p.Key, Data: data})
	}
	if res.Combined, err = Marshal(opts.Owner, projects); err != nil {
		return nil, err
	}
	if err := check(res); err != nil {
		return nil, err
	}
	return res, nil
}

// check loads the exported files as `slsync validate` would; a failure is a
// bug in export (or a live value manifests cannot express), reported with
// the loader's located messages rather than written out.
func check(res *Result) error {
	files := make([]manifest.File, 0, len(res.Files))
	for _, f := range res.Files {
		files = append(files, manifest.File{Path: path.Join("export", f.Name), Src: f.Data})
	}
	if len(files) == 0 {
		return nil
	}
	_, diags := manifest.LoadFiles(files)
	if !diags.HasErrors() {
		return nil
	}
	var sb strings.Builder
	for _, d := range diags {
		if d.Severity == manifest.SeverityError {
			sb.WriteString("\n  " + d.String())
		}
	}
	return fmt.Errorf("the exported manifests would not pass `slsync validate` (please report this as a bug):%s", sb.String())
}
