package plan

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/model"
)

// TestKeyDiffRules mutates the matching pair's "search" project keys one
// rule at a time.
func TestKeyDiffRules(t *testing.T) {
	day := 24 * time.Hour
	// keys returns the live keys of the "search" project.
	keys := func(l *model.LiveState) []*model.LiveAPIKey { return l.Managed[1].Keys }
	byID := func(l *model.LiveState, id string) *model.LiveAPIKey {
		for _, k := range keys(l) {
			if k.ID == id {
				return k
			}
		}
		panic("no key " + id)
	}
	tests := []struct {
		name   string
		mutate func(t *testing.T, s *model.Set, l *model.LiveState)
		want   []string
		check  func(t *testing.T, p *Plan)
	}{
		{
			name: "desired key missing live: create",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["new"] = &model.APIKey{Key: "new"}
			},
			want: []string{"create api_key.search.new"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("api_key.search.new")
				if len(a.DependsOn) != 0 || a.Observed.ProjectID != "a1b2c3d4e5f60718293a4b5c6d7e8f90" {
					t.Errorf("key create in a live project: deps %v, observed %+v", a.DependsOn, a.Observed)
				}
				expectChange(t, a, "name", nil, "new")
			},
		},
		{
			name: "expired key: rotate",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				e := now.Add(-time.Second)
				byID(l, "k1").ExpiresAt = &e
			},
			want: []string{"rotate api_key.search.reader"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("api_key.search.reader")
				if !strings.Contains(a.Reason, "expired") || a.Observed.KeyID != "k1" {
					t.Errorf("reason %q, observed %+v", a.Reason, a.Observed)
				}
			},
		},
		{
			name: "key expiring exactly now counts as expired",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				e := now
				byID(l, "k1").ExpiresAt = &e
			},
			want: []string{"rotate api_key.search.reader"},
		},
		{
			name: "name changed: rotate",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["reader"].Name = "books-reader"
			},
			want: []string{"rotate api_key.search.reader"},
			check: func(t *testing.T, p *Plan) {
				expectChange(t, p.Action("api_key.search.reader"), "name", "reader", "books-reader")
			},
		},
		{
			name: "within rotate_before of expiry: rotate",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				e := now.Add(6 * day)
				byID(l, "k1").ExpiresAt = &e
			},
			want: []string{"rotate api_key.search.reader"},
			check: func(t *testing.T, p *Plan) {
				if a := p.Action("api_key.search.reader"); !strings.Contains(a.Reason, "rotate_before 7d") {
					t.Errorf("reason %q", a.Reason)
				}
			},
		},
		{
			name: "just outside rotate_before: nothing",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				e := now.Add(7*day + time.Second)
				byID(l, "k1").ExpiresAt = &e
			},
			want: nil,
		},
		{
			name: "role descriptors changed: update with a line diff",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["reader"].RoleDescriptors = js(t, `{"books-read-only":{"indices":[{"names":["books"],"privileges":["read","view_index_metadata","write"]}]}}`)
			},
			want: []string{"update api_key.search.reader"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("api_key.search.reader")
				if len(a.Changes) != 1 || a.Changes[0].Path != "role_descriptors" {
					t.Fatalf("changes %+v", a.Changes)
				}
				want := "--- live\n+++ manifest\n@@ -7,7 +7,8 @@\n" +
					"         ],\n         \"privileges\": [\n           \"read\",\n-          \"view_index_metadata\"\n+          \"view_index_metadata\",\n+          \"write\"\n         ]\n       }\n     ]\n"
				if a.Changes[0].Diff != want {
					t.Errorf("diff:\n%s\nwant:\n%s", a.Changes[0].Diff, want)
				}
				if a.Observed.KeyID != "k1" {
					t.Errorf("update must name the key id: %+v", a.Observed)
				}
			},
		},
		{
			name: "role descriptors reordered: nothing",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["reader"].RoleDescriptors = js(t, `{"books-read-only":{"indices":[{"names":["books","books"],"privileges":["VIEW_INDEX_METADATA","read"]}],"cluster":[]}}`)
			},
			want: nil,
		},
		{
			name: "nil role descriptors are not compared",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["reader"].RoleDescriptors = nil
			},
			want: nil,
		},
		{
			name: "metadata changed: update",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["reader"].Metadata["version"] = 4
			},
			want: []string{"update api_key.search.reader"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("api_key.search.reader")
				if !a.Changed("metadata") || a.Observed.KeyMetadata["version"] != 3.0 {
					t.Errorf("changes %+v observed %+v", a.Changes, a.Observed)
				}
			},
		},
		{
			name: "nil metadata is not compared",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["reader"].Metadata = nil
			},
			want: nil,
		},
		{
			name: "expiration changed: update, compared as durations",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["reader"].Expiration = "90d"
			},
			want: []string{"update api_key.search.reader"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("api_key.search.reader")
				expectChange(t, a, "expiration", "30d", "90d")
				if !strings.Contains(a.Reason, "restarts the clock") {
					t.Errorf("reason %q", a.Reason)
				}
			},
		},
		{
			name: "same duration spelled differently: nothing",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["reader"].Expiration = "720h"
			},
			want: nil,
		},
		{
			name: "expiry instant moved but duration unchanged: nothing (instants never compared)",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				e := now.Add(12 * day)
				byID(l, "k1").ExpiresAt = &e
			},
			want: nil,
		},
		{
			name: "expiration removed from the manifest: rotate",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["reader"].Expiration = ""
				s.Projects["search"].APIKeys["reader"].RotateBefore = ""
			},
			want: []string{"rotate api_key.search.reader"},
		},
		{
			name: "expiration added in the manifest: update",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				s.Projects["search"].APIKeys["noop"].Expiration = "1d"
			},
			want: []string{"update api_key.search.noop"},
		},
		{
			name:   "live key absent from the manifest: invalidate",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) { delete(s.Projects["search"].APIKeys, "noop") },
			want:   []string{"invalidate api_key.search.noop"},
			check: func(t *testing.T, p *Plan) {
				if a := p.Action("api_key.search.noop"); a.Observed.KeyID != "k2" {
					t.Errorf("observed %+v", a.Observed)
				}
			},
		},
		{
			name:   "project without api_keys: its managed keys are invalidated",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) { s.Projects["search"].APIKeys = nil },
			want:   []string{"invalidate api_key.search.inherit", "invalidate api_key.search.noop", "invalidate api_key.search.reader"},
		},
		{
			name: "duplicate live keys: keep the newest, invalidate the rest",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				old := *byID(l, "k1")
				old.ID, old.Creation = "k1-older", old.Creation.Add(-time.Hour)
				l.Managed[1].Keys = append(l.Managed[1].Keys, &old)
			},
			want: []string{"invalidate api_key.search.reader[k1-older]"},
		},
		{
			name: "duplicate live keys where the newest has the wrong name: keep the matching one",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				newer := *byID(l, "k1")
				newer.ID, newer.Creation, newer.Name = "k1-newer", newer.Creation.Add(time.Hour), "something-else"
				l.Managed[1].Keys = append(l.Managed[1].Keys, &newer)
			},
			want: []string{"invalidate api_key.search.reader[k1-newer]"},
		},
		{
			name: "duplicate live keys none of which matches: rotate the newest, invalidate the rest after it",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				e := now.Add(-time.Hour)
				byID(l, "k1").ExpiresAt = &e
				old := *byID(l, "k1")
				old.ID, old.Creation = "k1-older", old.Creation.Add(-time.Hour)
				l.Managed[1].Keys = append(l.Managed[1].Keys, &old)
			},
			want:  []string{"invalidate api_key.search.reader[k1-older]", "rotate api_key.search.reader"},
			check: rotatesBeforeInvalidating("k1", "newest", "api_key.search.reader[k1-older]"),
		},
		{
			name: "duplicate live keys absent from the manifest: each invalidated by id",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				delete(s.Projects["search"].APIKeys, "noop")
				dup := *byID(l, "k2")
				dup.ID = "k2-dup"
				l.Managed[1].Keys = append(l.Managed[1].Keys, &dup)
			},
			want: []string{"invalidate api_key.search.noop[k2-dup]", "invalidate api_key.search.noop[k2]"},
		},
		{
			name: "key still pending delivery (an apply stopped before its secret reached the sinks): rotate",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				byID(l, "k1").Pending = true
			},
			want: []string{"rotate api_key.search.reader"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("api_key.search.reader")
				if !strings.Contains(a.Reason, "not known to have been delivered") || !strings.Contains(a.Reason, model.MetaPending) || a.Observed.KeyID != "k1" {
					t.Errorf("reason %q, observed %+v", a.Reason, a.Observed)
				}
				if len(a.Changes) != 0 {
					t.Errorf("a key that matches its manifest has no field change: %+v", a.Changes)
				}
			},
		},
		{
			name: "pending key that also differs from the manifest: one rotation carrying the change",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				byID(l, "k1").Pending = true
				s.Projects["search"].APIKeys["reader"].Metadata["version"] = 4
			},
			want: []string{"rotate api_key.search.reader"},
			check: func(t *testing.T, p *Plan) {
				if a := p.Action("api_key.search.reader"); !a.Changed("metadata") {
					t.Errorf("changes %+v", a.Changes)
				}
			},
		},
		{
			name: "rotation stopped after the new key was created: the pending new key is rotated, the old one invalidated after it",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				// Whether the sinks hold the old key's secret or the new
				// one's is unknown, so neither is kept.
				newer := *byID(l, "k1")
				newer.ID, newer.Creation, newer.Pending = "k1-new", newer.Creation.Add(time.Hour), true
				l.Managed[1].Keys = append(l.Managed[1].Keys, &newer)
			},
			want:  []string{"invalidate api_key.search.reader[k1]", "rotate api_key.search.reader"},
			check: rotatesBeforeInvalidating("k1-new", "pending", "api_key.search.reader[k1]"),
		},
		{
			name: "project still tagged slsync-pending: every managed key rotated, then the tag removed",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				l.Managed[1].KeysPending, l.Managed[1].KeysUsername = true, "admin"
				// A key of another owner in the project is not ours to rotate.
				k := liveKey(t, &model.APIKey{Key: "theirs"}, "k9", `{}`, now, 0)
				k.Owner = "other-team"
				l.Managed[1].Keys = append(l.Managed[1].Keys, k)
			},
			want: []string{"rotate api_key.search.inherit", "rotate api_key.search.noop", "rotate api_key.search.reader", "update project.search"},
			check: func(t *testing.T, p *Plan) {
				for _, addr := range []string{"api_key.search.inherit", "api_key.search.noop", "api_key.search.reader"} {
					a := p.Action(addr)
					if !strings.Contains(a.Reason, "not known to have been delivered") || !strings.Contains(a.Reason, "project search still carries the tag "+model.TagPending) {
						t.Errorf("%s: reason %q", addr, a.Reason)
					}
				}
				pa := p.Action("project.search")
				if fmt.Sprint(pa.DependsOn) != "[api_key.search.inherit api_key.search.noop api_key.search.reader]" || pa.Observed.ProjectID == "" {
					t.Errorf("the tag must go only after the rotations: depends on %v, observed %+v", pa.DependsOn, pa.Observed)
				}
				if len(pa.Changes) != 1 {
					t.Fatalf("changes %+v", pa.Changes)
				}
				expectChange(t, pa, "tags."+model.TagPending, model.TagPendingKeys, nil)
			},
		},
		{
			name: "tagged project whose keys the manifest drops: invalidations, then the tag removed",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				l.Managed[1].KeysPending, l.Managed[1].KeysUsername = true, "admin"
				s.Projects["search"].APIKeys = map[string]*model.APIKey{}
			},
			want: []string{"invalidate api_key.search.inherit", "invalidate api_key.search.noop", "invalidate api_key.search.reader", "update project.search"},
			check: func(t *testing.T, p *Plan) {
				if d := p.Action("project.search").DependsOn; fmt.Sprint(d) != "[api_key.search.inherit api_key.search.noop api_key.search.reader]" {
					t.Errorf("depends on %v", d)
				}
			},
		},
		{
			name: "tagged project without managed keys: just the tag removal",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				l.Managed[1].KeysPending, l.Managed[1].KeysUsername = true, "admin"
				l.Managed[1].Keys = nil
				s.Projects["search"].APIKeys = map[string]*model.APIKey{}
			},
			want: []string{"update project.search"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("project.search")
				if len(a.DependsOn) != 0 || !strings.Contains(a.Reason, "no live managed key") {
					t.Errorf("depends on %v, reason %q", a.DependsOn, a.Reason)
				}
			},
		},
		{
			name: "tagged project that also changes: one update, after the rotations",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				l.Managed[1].KeysPending, l.Managed[1].KeysUsername = true, "admin"
				s.Projects["search"].Name = "Renamed"
			},
			want: []string{"rotate api_key.search.inherit", "rotate api_key.search.noop", "rotate api_key.search.reader", "update project.search"},
			check: func(t *testing.T, p *Plan) {
				a := p.Action("project.search")
				if !a.Changed("name") || !a.Changed("tags."+model.TagPending) || len(a.DependsOn) != 3 || !strings.Contains(a.Reason, model.TagPending) {
					t.Errorf("update %+v", a)
				}
			},
		},
		{
			name: "tagged project whose keys were not read (no credentials, no keys declared): the tag stays, with a warning",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				l.Managed[1].KeysPending, l.Managed[1].Keys = true, nil
				s.Projects["search"].APIKeys = map[string]*model.APIKey{}
			},
			want: nil,
			check: func(t *testing.T, p *Plan) {
				if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].Message, "the tag stays") {
					t.Errorf("warnings %+v", p.Warnings)
				}
			},
		},
		{
			name: "tagged project whose keys cannot be read: neither rotations nor tag removal",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				l.Managed[1].KeysPending, l.Managed[1].KeysUsername = true, "admin"
				l.KeyErrors = map[string]error{"search": fmt.Errorf("no credentials")}
			},
			want: []string{"problem project.search"},
			check: func(t *testing.T, p *Plan) {
				if len(p.Problems) != 1 {
					t.Errorf("problems %+v", p.Problems)
				}
			},
		},
		{
			name: "another owner's key in the live list is never touched",
			mutate: func(t *testing.T, s *model.Set, l *model.LiveState) {
				k := liveKey(t, &model.APIKey{Key: "theirs"}, "k9", `{}`, now, 0)
				k.Owner = "other-team"
				l.Managed[1].Keys = append(l.Managed[1].Keys, k)
			},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, live := matchingPair(t)
			tt.mutate(t, set, live)
			p := Compute(set, live, Options{Now: now})
			if got := summaryOf(p); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("actions:\n  got  %q\n  want %q\n%s", got, tt.want, renderString(t, p))
			}
			for _, a := range p.Actions {
				if a.Resource == ResourceAPIKey && (a.Kind == Update || a.Kind == Rotate) {
					if a.Observed.KeyID == "" || a.Key == nil {
						t.Errorf("%s lacks what apply needs: key id %q, desired %v", a.Address, a.Observed.KeyID, a.Key)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

// rotatesBeforeInvalidating checks that api_key.search.reader rotates away
// from the live key fromID (the one described as which) and that the extra
// key at invalidated stays valid until the new key is delivered.
func rotatesBeforeInvalidating(fromID, which, invalidated string) func(t *testing.T, p *Plan) {
	return func(t *testing.T, p *Plan) {
		if a := p.Action("api_key.search.reader"); a.Observed.KeyID != fromID {
			t.Errorf("rotate should start from the %s key %s: %+v", which, fromID, a.Observed)
		}
		if d := p.Action(invalidated).DependsOn; fmt.Sprint(d) != "[api_key.search.reader]" {
			t.Errorf("the old key must stay valid until the new one is delivered; invalidation of %s depends on %v", invalidated, d)
		}
	}
}

func TestAdopt(t *testing.T) {
	hand := func(id, alias string, typ model.ProjectType) *model.LiveProject {
		lp := liveProject(&model.Project{Type: typ, Name: "by hand " + alias, Alias: alias, RegionID: "aws-us-east-1"}, id)
		lp.Owner, lp.Key = "", ""
		return lp
	}
	const id1, id2 = "11111111111111111111111111111111", "22222222222222222222222222222222"
	desired := func(adopt string) *model.Project {
		return &model.Project{Key: "site", Type: model.Elasticsearch, Name: "Site", Alias: "site", RegionID: "aws-us-east-1", Adopt: adopt, At: at(42),
			APIKeys: map[string]*model.APIKey{"reader": {Key: "reader"}}}
	}
	tests := []struct {
		name    string
		adopt   string
		others  []*model.LiveProject
		mutate  func(d *model.Project)
		want    []string
		message string // substring of the problem or refusal
	}{
		{name: "by alias", adopt: "true", others: []*model.LiveProject{hand(id1, "site", model.Elasticsearch), hand(id2, "site", model.Security)},
			want: []string{"adopt project.site", "create api_key.site.reader"}},
		{name: "by id", adopt: id2, others: []*model.LiveProject{hand(id1, "site", model.Elasticsearch), hand(id2, "site", model.Elasticsearch)},
			want: []string{"adopt project.site", "create api_key.site.reader"}},
		{name: "ambiguous alias", adopt: "true", others: []*model.LiveProject{hand(id1, "site", model.Elasticsearch), hand(id2, "site", model.Elasticsearch)},
			want: []string{"problem project.site"}, message: "adopt: <project id>"},
		{name: "no match", adopt: "true", others: []*model.LiveProject{hand(id1, "other", model.Elasticsearch)},
			want: []string{"problem project.site"}, message: `no unmanaged elasticsearch project has alias "site"`},
		{name: "no alias to match by", adopt: "true", mutate: func(d *model.Project) { d.Alias = "" },
			want: []string{"problem project.site"}, message: "sets no alias"},
		{name: "unknown id", adopt: "33333333333333333333333333333333", others: []*model.LiveProject{hand(id1, "site", model.Elasticsearch)},
			want: []string{"problem project.site"}, message: "no live project"},
		{name: "id of another type", adopt: id1, others: []*model.LiveProject{hand(id1, "site", model.Security)},
			want: []string{"problem project.site"}, message: "is a security project"},
		{name: "another owner's project is never adopted by alias",
			adopt: "true",
			others: func() []*model.LiveProject {
				lp := hand(id1, "site", model.Elasticsearch)
				lp.Owner, lp.Key = "other-team", "their-site"
				return []*model.LiveProject{lp}
			}(),
			want: []string{"problem project.site"}, message: `managed by slsync owner "other-team"`},
		{name: "another owner's project adopted deliberately by id",
			adopt: id1,
			others: func() []*model.LiveProject {
				lp := hand(id1, "site", model.Elasticsearch)
				lp.Owner, lp.Key = "other-team", "their-site"
				return []*model.LiveProject{lp}
			}(),
			want: []string{"adopt project.site", "create api_key.site.reader"}, message: "taken over"},
		{name: "region differs: refused", adopt: "true", others: []*model.LiveProject{hand(id1, "site", model.Elasticsearch)},
			mutate: func(d *model.Project) { d.RegionID = "aws-eu-west-1" },
			want:   []string{"adopt project.site refused", "create api_key.site.reader"}, message: "region_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := desired(tt.adopt)
			if tt.mutate != nil {
				tt.mutate(d)
			}
			set := &model.Set{Owner: owner, Projects: map[string]*model.Project{"site": d}}
			live := &model.LiveState{Owner: owner, Others: tt.others}
			p := Compute(set, live, Options{Now: now})
			if got := summaryOf(p); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("actions:\n  got  %q\n  want %q\n%s", got, tt.want, renderString(t, p))
			}
			var text string
			for _, pr := range p.Problems {
				text += pr.Message
				if pr.Location != d.At {
					t.Errorf("problem location %v, want %v", pr.Location, d.At)
				}
			}
			if a := p.Action("project.site"); a != nil {
				text += a.Reason + a.Refused
				if !a.Changed("tags."+model.TagOwner) || !a.Changed("tags."+model.TagKey) {
					t.Errorf("adopt must add both ownership tags: %+v", a.Changes)
				}
				if a.Observed.ProjectID == "" || a.Observed.ETag == "" {
					t.Errorf("adopt must record id and ETag: %+v", a.Observed)
				}
				if k := p.Action("api_key.site.reader"); fmt.Sprint(k.DependsOn) != "[project.site]" {
					t.Errorf("key create depends on %v", k.DependsOn)
				}
			}
			if !strings.Contains(text, tt.message) {
				t.Errorf("message should contain %q:\n%s", tt.message, text)
			}
		})
	}
}

// An adopt that also asks for field changes carries them on the adopt action,
// and the adopted project's alias does not conflict with itself.
func TestAdoptWithChanges(t *testing.T) {
	lp := liveProject(&model.Project{Type: model.Elasticsearch, Name: "old name", Alias: "site", RegionID: "aws-us-east-1", Tags: map[string]string{"a": "1"}}, "11111111111111111111111111111111")
	lp.Owner, lp.Key = "", ""
	d := &model.Project{Key: "site", Type: model.Elasticsearch, Name: "Site", Alias: "site", RegionID: "aws-us-east-1", Adopt: "true", Tags: map[string]string{"a": "2"}}
	p := Compute(&model.Set{Owner: owner, Projects: map[string]*model.Project{"site": d}}, &model.LiveState{Others: []*model.LiveProject{lp}}, Options{Now: now})
	a := p.Action("project.site")
	if a == nil || a.Kind != Adopt || a.Refused != "" {
		t.Fatalf("want a clean adopt:\n%s", renderString(t, p))
	}
	expectChange(t, a, "tags."+model.TagOwner, nil, owner)
	expectChange(t, a, "tags."+model.TagKey, nil, "site")
	expectChange(t, a, "name", "old name", "Site")
	expectChange(t, a, "tags.a", "1", "2")
	if p.Summary.Adopt != 1 || p.Summary.Update != 0 {
		t.Errorf("summary %+v", p.Summary)
	}
}
