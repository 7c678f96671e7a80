package export

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/manifest"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/state"
)

// ProjectLister lists projects (*cloud.ProjectClient).
type ProjectLister interface {
	List(ctx context.Context, typ model.ProjectType, tags map[string]string) ([]cloud.Project, error)
}

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
	lists := make([][]cloud.Project, len(model.ProjectTypes))
	errs := make([]error, len(model.ProjectTypes))
	var wg sync.WaitGroup
	for i, typ := range model.ProjectTypes {
		wg.Go(func() { lists[i], errs[i] = e.Projects.List(ctx, typ, nil) })
	}
	wg.Wait()
	var sources []Source
	for i, typ := range model.ProjectTypes {
		if errs[i] != nil {
			return nil, fmt.Errorf("list %s projects: %w", typ, errs[i])
		}
		for _, p := range lists[i] {
			sources = append(sources, Source{Project: state.NormalizeProject(typ, p)})
		}
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
	err := state.ForEach(ctx, len(jobs), e.Parallelism, func(ctx context.Context, j int) error {
		s := &sources[jobs[j]]
		entry, _ := e.Credentials.Lookup(s.Project.ID)
		endpoint := s.Project.Endpoints["elasticsearch"]
		if endpoint == "" {
			endpoint = entry.Endpoint
		}
		api, err := e.NewKeyAPI(endpoint, entry.Username, entry.Password)
		if err != nil {
			return fmt.Errorf("project %s (id %s): %w", s.Project.Alias, s.Project.ID, err)
		}
		raw, err := api.QueryAPIKeys(ctx, query)
		if err != nil {
			return fmt.Errorf("reading the API keys of project %q (id %s): %w; check its entry with `slsync credentials list`", s.Project.Name, s.Project.ID, err)
		}
		for _, k := range raw {
			if !k.Invalidated {
				s.Keys = append(s.Keys, state.NormalizeKey(k))
			}
		}
		sort.SliceStable(s.Keys, func(a, c int) bool { return s.Keys[a].Creation.Before(s.Keys[c].Creation) })
		s.KeysRead, s.Username = true, entry.Username
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
