package plan

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/model"
)

// matchingPair is a desired set and a live state that already match: one
// project of each type, keys whose role descriptors come back from
// Elasticsearch with its defaults filled in, tags without the reserved ones,
// integers read back as float64.
func matchingPair(t testing.TB) (*model.Set, *model.LiveState) {
	t.Helper()
	set := &model.Set{Owner: owner, Digest: "abc123", Projects: map[string]*model.Project{
		"search": {
			Key: "search", Type: model.Elasticsearch, Name: "Search", Alias: "search", RegionID: "aws-us-east-1",
			OptimizedFor: "general_purpose", SearchLake: &model.SearchLake{SearchPower: ptr(100), BoostWindow: ptr(7)},
			Tags: map[string]string{"team": "search"}, Protect: true,
			APIKeys: map[string]*model.APIKey{
				"reader": {Key: "reader", Expiration: "30d", RotateBefore: "7d", RoleDescriptors: js(t, booksReadManifest),
					Metadata: map[string]any{"team": "books", "version": 3, "nested": map[string]any{"n": 1}}},
				"noop":    {Key: "noop", Name: "derived-noop", RoleDescriptors: map[string]any{"noop": map[string]any{}}},
				"inherit": {Key: "inherit", Expiration: "720h", RoleDescriptors: map[string]any{}},
			},
		},
		"logs": {
			Key: "logs", Type: model.Observability, Name: "Logs", Alias: "logs", RegionID: "aws-us-east-1",
			ProductTier: "logs_essentials", Tags: map[string]string{},
		},
		"siem": {
			Key: "siem", Type: model.Security, Name: "SIEM", RegionID: "aws-us-east-1",
			ProductTypes:         []model.ProductType{{ProductLine: "security", ProductTier: "complete"}, {ProductLine: "cloud", ProductTier: "essentials"}},
			AdminFeaturesPackage: "enterprise",
			SearchLake:           &model.SearchLake{DataRetention: &model.DataRetention{MaxRetentionDays: ptr(365)}},
		},
	}}
	day := 24 * time.Hour
	search := liveProject(set.Projects["search"], "a1b2c3d4e5f60718293a4b5c6d7e8f90")
	rk := set.Projects["search"].APIKeys
	search.Keys = []*model.LiveAPIKey{
		liveKey(t, rk["reader"], "k1", booksReadLive, now.Add(-day), 29*day),
		liveKey(t, rk["noop"], "k2", `{"noop":{"cluster":[],"indices":[],"applications":[],"run_as":[],"metadata":{},"transient_metadata":{"enabled":true}}}`, now.Add(-day), 0),
		// Expiration recorded as "30d" while the manifest says "720h": the
		// same duration.
		liveKey(t, &model.APIKey{Key: "inherit", Expiration: "30d"}, "k3", `{}`, now.Add(-day), 29*day),
		// An invalidated key of ours is ignored.
		func() *model.LiveAPIKey {
			k := liveKey(t, &model.APIKey{Key: "gone"}, "k4", `{}`, now.Add(-2*day), 0)
			k.Invalidated = true
			return k
		}(),
	}
	logs := liveProject(set.Projects["logs"], "b2c3d4e5f60718293a4b5c6d7e8f90a1")
	siem := liveProject(set.Projects["siem"], "c3d4e5f60718293a4b5c6d7e8f90a1b2")
	siem.Alias = "siem-derived-from-name"
	siem.ProductTypes = []model.ProductType{{ProductLine: "cloud", ProductTier: "essentials"}, {ProductLine: "security", ProductTier: "complete"}}
	siem.SearchLake = &model.SearchLake{DataRetention: &model.DataRetention{MaxRetentionDays: ptr(365), DefaultRetentionDays: ptr(14)}}
	siem.Tags = map[string]string{"set-by-hand": "x"} // not compared: the manifest has no tags
	handMade := liveProject(&model.Project{Type: model.Elasticsearch, Name: "hand made", Alias: "hand", RegionID: "aws-us-east-1"}, "d4e5f60718293a4b5c6d7e8f90a1b2c3")
	handMade.Owner, handMade.Key = "", ""
	return set, &model.LiveState{Owner: owner, Managed: []*model.LiveProject{logs, search, siem}, Others: []*model.LiveProject{handMade}}
}

func TestNoPerpetualDiff(t *testing.T) {
	set, live := matchingPair(t)
	p := Compute(set, live, Options{Now: now})
	if len(p.Actions) != 0 || len(p.Problems) != 0 {
		t.Fatalf("a live state that matches its manifests planned something:\n%s", renderString(t, p))
	}
	if p.HasChanges() || p.HasErrors() || p.ExitCode() != 0 {
		t.Errorf("HasChanges=%v HasErrors=%v ExitCode=%d, want false false 0", p.HasChanges(), p.HasErrors(), p.ExitCode())
	}
	if got := p.SummaryLine(); got != "No changes. Live state matches the manifests." {
		t.Errorf("SummaryLine = %q", got)
	}
}

func renderString(t testing.TB, p *Plan) string {
	t.Helper()
	var sb strings.Builder
	if err := RenderText(&sb, p, false); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// summaryOf lists "kind address [refused]" for each action, sorted, for
// compact expectations.
func summaryOf(p *Plan) []string {
	var out []string
	for _, a := range p.Actions {
		s := string(a.Kind) + " " + a.Address
		if a.Refused != "" {
			s += " refused"
		}
		out = append(out, s)
	}
	for _, pr := range p.Problems {
		out = append(out, "problem "+pr.Address)
	}
	sort.Strings(out)
	return out
}

// TestProjectDiffRules mutates the matching pair one rule at a time and
// checks exactly which actions result.
func TestProjectDiffRules(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		mutate  func(set *model.Set, live *model.LiveState)
		want    []string
		check   func(t *testing.T, p *Plan)
		wantErr bool
	}{
		{
			name:   "renamed out of band",
			mutate: func(s *model.Set, l *model.LiveState) { l.Managed[0].Name = "Logs (old)" },
			want:   []string{"update project.logs"},
			check: func(t *testing.T, p *Plan) {
				expectChange(t, p.Action("project.logs"), "name", "Logs (old)", "Logs")
			},
		},
		{
			name:   "alias changed in the manifest",
			mutate: func(s *model.Set, l *model.LiveState) { s.Projects["logs"].Alias = "logs-v2" },
			want:   []string{"update project.logs"},
			check: func(t *testing.T, p *Plan) {
				expectChange(t, p.Action("project.logs"), "alias", "logs", "logs-v2")
			},
		},
		{
			name:   "omitted alias and name are not compared",
			mutate: func(s *model.Set, l *model.LiveState) { s.Projects["logs"].Alias = ""; s.Projects["logs"].Name = "" },
			want:   nil,
		},
		{
			name:   "tag removed out of band",
			mutate: func(s *model.Set, l *model.LiveState) { delete(l.Managed[1].Tags, "team") },
			want:   []string{"update project.search"},
			check: func(t *testing.T, p *Plan) {
				expectChange(t, p.Action("project.search"), "tags.team", nil, "search")
			},
		},
		{
			name:   "tag added out of band is removed when the manifest manages tags",
			mutate: func(s *model.Set, l *model.LiveState) { l.Managed[0].Tags["extra"] = "x" },
			want:   []string{"update project.logs"},
			check: func(t *testing.T, p *Plan) {
				expectChange(t, p.Action("project.logs"), "tags.extra", "x", nil)
			},
		},
		{
			name:   "nil tags are not compared",
			mutate: func(s *model.Set, l *model.LiveState) { s.Projects["logs"].Tags = nil; l.Managed[0].Tags["x"] = "y" },
			want:   nil,
		},
		{
			name: "search_lake compared member-wise",
			mutate: func(s *model.Set, l *model.LiveState) {
				s.Projects["search"].SearchLake = &model.SearchLake{SearchPower: ptr(200)}
			},
			want: []string{"update project.search"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("project.search")
				expectChange(t, a, "search_lake.search_power", 100.0, 200.0)
				if a.Changed("search_lake.boost_window") {
					t.Error("boost_window is not specified and must not be compared")
				}
			},
		},
		{
			name:   "product_tier changed",
			mutate: func(s *model.Set, l *model.LiveState) { l.Managed[0].ProductTier = "complete" },
			want:   []string{"update project.logs"},
		},
		{
			name: "product_types changed",
			mutate: func(s *model.Set, l *model.LiveState) {
				s.Projects["siem"].ProductTypes = append(s.Projects["siem"].ProductTypes, model.ProductType{ProductLine: "endpoint", ProductTier: "complete"})
			},
			want: []string{"update project.siem"},
		},
		{
			name:   "type changed: replace refused without --allow-replace",
			mutate: func(s *model.Set, l *model.LiveState) { s.Projects["logs"].Type = model.Security },
			want:   []string{"replace project.logs refused"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("project.logs")
				if !strings.Contains(a.Refused, "--allow-replace") {
					t.Errorf("refusal should name --allow-replace: %q", a.Refused)
				}
				if p.ExitCode() != 1 {
					t.Errorf("ExitCode = %d, want 1", p.ExitCode())
				}
			},
		},
		{
			name:   "region changed: replace allowed with --allow-replace",
			opts:   Options{AllowReplace: true},
			mutate: func(s *model.Set, l *model.LiveState) { s.Projects["logs"].RegionID = "aws-eu-west-1" },
			want:   []string{"replace project.logs"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("project.logs")
				if a.Observed.ProjectID == "" || a.Observed.ETag == "" {
					t.Errorf("replace must record the old project's id and ETag: %+v", a.Observed)
				}
				if p.ExitCode() != 2 {
					t.Errorf("ExitCode = %d, want 2", p.ExitCode())
				}
			},
		},
		{
			name:   "optimized_for changed on a protected project: refused even with --allow-replace",
			opts:   Options{AllowReplace: true},
			mutate: func(s *model.Set, l *model.LiveState) { s.Projects["search"].OptimizedFor = "vector" },
			want:   []string{"replace project.search refused"},
			check: func(t *testing.T, p *Plan) {
				if a := p.Action("project.search"); !strings.Contains(a.Refused, "protect: true") {
					t.Errorf("refusal should name protect: %q", a.Refused)
				}
			},
		},
		{
			name: "replace re-creates the keys after the new project",
			opts: Options{AllowReplace: true},
			mutate: func(s *model.Set, l *model.LiveState) {
				s.Projects["search"].Protect = false
				s.Projects["search"].RegionID = "aws-eu-west-1"
			},
			want: []string{"create api_key.search.inherit", "create api_key.search.noop", "create api_key.search.reader", "replace project.search"},
			check: func(t *testing.T, p *Plan) {
				for _, a := range p.Actions {
					if a.Resource == ResourceAPIKey && (len(a.DependsOn) != 1 || a.DependsOn[0] != "project.search") {
						t.Errorf("%s depends on %v, want [project.search]", a.Address, a.DependsOn)
					}
				}
			},
		},
		{
			name:   "project missing live: create, its keys depend on it",
			mutate: func(s *model.Set, l *model.LiveState) { l.Managed = l.Managed[:1] },
			want: []string{"create api_key.search.inherit", "create api_key.search.noop", "create api_key.search.reader",
				"create project.search", "create project.siem"},
			check: func(t *testing.T, p *Plan) {
				if a := p.Action("api_key.search.reader"); len(a.DependsOn) != 1 || a.DependsOn[0] != "project.search" {
					t.Errorf("key create depends on %v", a.DependsOn)
				}
				// Projects come before keys.
				if p.Actions[0].Resource != ResourceProject || p.Actions[len(p.Actions)-1].Resource != ResourceAPIKey {
					t.Errorf("actions not ordered projects first")
				}
			},
		},
		{
			name:   "managed project absent from the manifests: delete, no key actions",
			mutate: func(s *model.Set, l *model.LiveState) { delete(s.Projects, "search") },
			want:   []string{"delete project.search"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("project.search")
				if a.Observed.ProjectID != "a1b2c3d4e5f60718293a4b5c6d7e8f90" || a.Observed.ProjectType != model.Elasticsearch {
					t.Errorf("delete must carry id and type: %+v", a.Observed)
				}
			},
		},
		{
			name: "two live projects with one key: a problem naming both ids, no action",
			mutate: func(s *model.Set, l *model.LiveState) {
				twin := *l.Managed[0]
				twin.ID = "ffffffffffffffffffffffffffffffff"
				twin.Name = "changed"
				l.Managed = append(l.Managed, &twin)
			},
			want: []string{"problem project.logs"},
			check: func(t *testing.T, p *Plan) {
				msg := p.Problems[0].Message
				if !strings.Contains(msg, "b2c3d4e5f60718293a4b5c6d7e8f90a1") || !strings.Contains(msg, "ffffffffffffffffffffffffffffffff") {
					t.Errorf("problem should name both ids: %q", msg)
				}
			},
		},
		{
			name: "a project being deleted is ignored: the manifest's project is created anew",
			mutate: func(s *model.Set, l *model.LiveState) {
				l.Managed[0].Phase = model.PhaseDeleting
			},
			want: []string{"create project.logs"},
		},
		{
			name: "another owner's and hand-made projects never appear",
			mutate: func(s *model.Set, l *model.LiveState) {
				theirs := liveProject(&model.Project{Key: "logs", Type: model.Observability, Name: "theirs", Alias: "theirs", RegionID: "x"}, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
				theirs.Owner = "other-team"
				l.Others = append(l.Others, theirs)
			},
			want: nil,
		},
		{
			name: "alias held by an unmanaged project: refused with how to adopt",
			mutate: func(s *model.Set, l *model.LiveState) {
				s.Projects["new"] = &model.Project{Key: "new", Type: model.Elasticsearch, Name: "New", Alias: "hand", RegionID: "aws-us-east-1"}
			},
			want: []string{"create project.new refused"},
			check: func(t *testing.T, p *Plan) {
				r := p.Action("project.new").Refused
				if !strings.Contains(r, "adopt: true") || !strings.Contains(r, "slsync adopt") || !strings.Contains(r, "d4e5f60718293a4b5c6d7e8f90a1b2c3") {
					t.Errorf("conflict should say how to adopt and name the id: %q", r)
				}
				if p.ExitCode() != 1 {
					t.Errorf("ExitCode = %d, want 1", p.ExitCode())
				}
			},
		},
		{
			name: "alias changed to one held by another owner's project: refused",
			mutate: func(s *model.Set, l *model.LiveState) {
				theirs := liveProject(&model.Project{Key: "x", Type: model.Observability, Name: "theirs", Alias: "theirs", RegionID: "x"}, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
				theirs.Owner = "other-team"
				l.Others = append(l.Others, theirs)
				s.Projects["logs"].Alias = "theirs"
			},
			want: []string{"update project.logs refused"},
			check: func(t *testing.T, p *Plan) {
				if r := p.Action("project.logs").Refused; !strings.Contains(r, `"other-team"`) {
					t.Errorf("conflict should name the other owner: %q", r)
				}
			},
		},
		{
			name: "alias freed by a managed project being deleted: create waits for the delete",
			mutate: func(s *model.Set, l *model.LiveState) {
				delete(s.Projects, "logs")
				s.Projects["logs2"] = &model.Project{Key: "logs2", Type: model.Observability, Name: "Logs 2", Alias: "logs", RegionID: "aws-us-east-1"}
			},
			want: []string{"create project.logs2", "delete project.logs"},
			check: func(t *testing.T, p *Plan) {
				if d := p.Action("project.logs2").DependsOn; len(d) != 1 || d[0] != "project.logs" {
					t.Errorf("create depends on %v, want [project.logs]", d)
				}
			},
		},
		{
			name: "region unknown or closed: refused; regions not read: not checked",
			mutate: func(s *model.Set, l *model.LiveState) {
				l.Regions = map[string]model.Region{"aws-us-east-1": {ID: "aws-us-east-1", ProjectCreationEnabled: true}, "closed": {ID: "closed"}}
				s.Projects["a"] = &model.Project{Key: "a", Type: model.Elasticsearch, Name: "A", RegionID: "mars-1"}
				s.Projects["b"] = &model.Project{Key: "b", Type: model.Elasticsearch, Name: "B", RegionID: "closed"}
				s.Projects["c"] = &model.Project{Key: "c", Type: model.Elasticsearch, Name: "C", RegionID: "aws-us-east-1"}
			},
			want: []string{"create project.a refused", "create project.b refused", "create project.c"},
			check: func(t *testing.T, p *Plan) {
				if r := p.Action("project.a").Refused; !strings.Contains(r, `"mars-1" does not exist`) || !strings.Contains(r, "aws-us-east-1") {
					t.Errorf("unknown region refusal: %q", r)
				}
				if r := p.Action("project.b").Refused; !strings.Contains(r, "project_creation_enabled: false") {
					t.Errorf("closed region refusal: %q", r)
				}
			},
		},
		{
			name: "regions not read (nil): not checked",
			mutate: func(s *model.Set, l *model.LiveState) {
				s.Projects["a"] = &model.Project{Key: "a", Type: model.Elasticsearch, Name: "A", RegionID: "mars-1"}
			},
			want: []string{"create project.a"},
		},
		{
			name: "two desired projects with one alias: a problem",
			mutate: func(s *model.Set, l *model.LiveState) {
				s.Projects["zz"] = &model.Project{Key: "zz", Type: model.Elasticsearch, Name: "Z", Alias: "logs", RegionID: "aws-us-east-1", At: at(9)}
			},
			want: []string{"create project.zz refused", "problem project.zz"},
		},
		{
			name: "unreadable keys: a problem for that project only",
			mutate: func(s *model.Set, l *model.LiveState) {
				l.KeyErrors = map[string]error{"search": errors.New("no credentials; run `slsync credentials set search`")}
				l.Managed[0].Name = "renamed"
			},
			want: []string{"problem project.search", "update project.logs"},
			check: func(t *testing.T, p *Plan) {
				if m := p.Problems[0].Message; !strings.Contains(m, "slsync credentials set search") {
					t.Errorf("problem should carry the state's message: %q", m)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, live := matchingPair(t)
			tt.mutate(set, live)
			if tt.opts.Now.IsZero() {
				tt.opts.Now = now
			}
			p := Compute(set, live, tt.opts)
			if got := summaryOf(p); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("actions:\n  got  %q\n  want %q\n%s", got, tt.want, renderString(t, p))
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func expectChange(t *testing.T, a *Action, path string, before, after any) {
	t.Helper()
	if a == nil {
		t.Fatalf("no action")
	}
	for _, c := range a.Changes {
		if c.Path == path {
			if fmt.Sprint(c.Before) != fmt.Sprint(before) || fmt.Sprint(c.After) != fmt.Sprint(after) ||
				(before == nil) != (c.Before == nil) || (after == nil) != (c.After == nil) {
				t.Errorf("%s %s: %v → %v, want %v → %v", a.Address, path, c.Before, c.After, before, after)
			}
			return
		}
	}
	t.Errorf("%s has no change at %s: %+v", a.Address, path, a.Changes)
}
