package export

import (
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/manifest"
	"github.com/slsync/slsync/internal/model"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func live(typ model.ProjectType, id, alias, owner, key string, tags map[string]string) *model.LiveProject {
	if tags == nil {
		tags = map[string]string{}
	}
	return &model.LiveProject{
		Project:   model.Project{Key: key, Type: typ, Name: "Project " + alias, Alias: alias, RegionID: "aws-us-east-1", Tags: tags},
		ID:        id,
		FullAlias: alias + "-" + id[:6],
		Owner:     owner,
	}
}

func id(c byte) string { return strings.Repeat(string(c), 32) }

func TestDeriveKeys(t *testing.T) {
	b := &builder{used: map[string]bool{"search": true}}
	long := strings.Repeat("a", 50)
	cases := []struct {
		lp   *model.LiveProject
		want string
	}{
		{live(model.Elasticsearch, id('1'), "search", "", "", nil), "search-es"},
		{live(model.Security, id('2'), "search", "", "", nil), "search-sec"},
		{live(model.Elasticsearch, id('3'), "search", "", "", nil), "search-333333"},
		{live(model.Observability, id('4'), "logs", "", "", nil), "logs"},
		{live(model.Observability, id('5'), "", "", "", nil), "project-5"},
		{live(model.Elasticsearch, id('6'), "x", "", "kept-key", nil), "kept-key"},
		{live(model.Elasticsearch, id('7'), long, "", "", nil), long},
		{live(model.Security, id('8'), long, "", "", nil), long + "-sec"},
		{live(model.Elasticsearch, id('9'), long, "", "", nil), long + "-es"},
		{live(model.Elasticsearch, id('0'), long, "", "", nil), long + "-000000"},
	}
	for _, c := range cases {
		if c.lp.Alias == "" {
			c.lp.Name = "Project 5 (Main)!"
		}
		got := b.deriveKey(c.lp)
		if c.lp.Alias == "" {
			c.want = "project-5-main"
		}
		if got != c.want || len(got) > 63 || !projectKeyRE.MatchString(got) {
			t.Errorf("alias %q key %q: got %q, want %q", c.lp.Alias, c.lp.Key, got, c.want)
		}
	}
}

func TestRemainingDays(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{time.Minute, "1d"}, {-time.Hour, "1d"}, {24 * time.Hour, "1d"}, {24*time.Hour + time.Second, "2d"}, {29*24*time.Hour + 3*time.Hour, "30d"},
	} {
		if got := remainingDays(c.d); got != c.want {
			t.Errorf("%v: %s, want %s", c.d, got, c.want)
		}
	}
}

// Build leaves defaults out, keeps user tags, marks unmanaged projects for
// adoption (by id when the alias is ambiguous), leaves other owners' projects
// and other users' keys out with notes, and the result passes the manifest
// loader.
func TestBuildAndMarshal(t *testing.T) {
	es := live(model.Elasticsearch, id('a'), "search", "", "", map[string]string{"env": "prod"})
	es.OptimizedFor, es.SearchLake = "general_purpose", &model.SearchLake{SearchPower: ptr(100), BoostWindow: ptr(14)}
	vec := live(model.Elasticsearch, id('b'), "vectors", "", "", nil)
	vec.OptimizedFor = "vector"
	// Managed: keeps its key. A tag slsync reserves (here as a live
	// project not normalised by state would carry it) is never exported:
	// the manifest loader refuses it.
	obs := live(model.Observability, id('c'), "logs", "team", "logs", map[string]string{model.TagPending: model.TagPendingKeys, "tier": "silver"})
	obs.ProductTier = "complete"
	sec := live(model.Security, id('d'), "siem", "", "", nil)
	sec.ProductTypes = []model.ProductType{{ProductLine: "security", ProductTier: "essentials"}}
	sec.AdminFeaturesPackage = "standard"
	dup1 := live(model.Elasticsearch, id('e'), "dup", "", "", nil)
	dup2 := live(model.Elasticsearch, id('f'), "dup", "", "", nil)
	theirs := live(model.Elasticsearch, id('9'), "theirs", "other", "theirs", nil)

	exp := now.Add(10*24*time.Hour + time.Hour)
	past := now.Add(-time.Hour)
	rd := map[string]any{"r": map[string]any{"cluster": []any{}, "indices": []any{map[string]any{"names": []any{"books"}, "privileges": []any{"read"},
		"allow_restricted_indices": false, "query": `{"term":{"n":100}}`}}, "applications": []any{}, "run_as": []any{}, "metadata": map[string]any{},
		"transient_metadata": map[string]any{"enabled": true}}}
	key := func(id, name, user, realm string, meta map[string]any, expires *time.Time) *model.LiveAPIKey {
		k := &model.LiveAPIKey{APIKey: model.APIKey{Name: name, RoleDescriptors: rd, Metadata: map[string]any{}}, ID: id, Username: user, Realm: realm, ExpiresAt: expires}
		for mk, mv := range meta {
			switch mk {
			case model.MetaOwner:
				k.Owner = mv.(string)
			case model.MetaKey:
				k.Key = mv.(string)
			case model.MetaExpiration:
				k.Expiration = mv.(string)
			default:
				k.Metadata[mk] = mv
			}
		}
		return k
	}
	sources := []Source{
		{Project: es, KeysRead: true, Username: "admin", Keys: []*model.LiveAPIKey{
			key("k1", "reader", "admin", "default_file", map[string]any{"team": "books"}, &exp),
			key("k2", "kibana", "elastic-user", "saml", nil, nil),
			key("k3", "derived", "admin", model.APIKeyRealm, nil, nil),
			key("k4", "old", "admin", "default_file", nil, &past),
			key("k5", "twin", "admin", "default_file", nil, nil),
			key("k6", "twin", "admin", "default_file", nil, nil),
		}},
		{Project: vec},
		{Project: obs, KeysRead: true, Username: "admin", Keys: []*model.LiveAPIKey{
			key("k7", "ingest-v2", "admin", "default_file", map[string]any{model.MetaOwner: "team", model.MetaKey: "ingest", model.MetaExpiration: "90d"}, &exp),
			key("k8", "foreign", "admin", "default_file", map[string]any{model.MetaOwner: "other", model.MetaKey: "x"}, nil),
		}},
		{Project: sec, KeysRead: true, Username: "admin"},
		{Project: dup1}, {Project: dup2}, {Project: theirs},
	}
	projects, notes := Build(sources, Options{Owner: "team", Now: now})
	var keys []string
	for _, p := range projects {
		keys = append(keys, p.Key)
	}
	if strings.Join(keys, ",") != "dup,dup-eeeeee,logs,search,siem,vectors" && strings.Join(keys, ",") != "dup,dup-es,logs,search,siem,vectors" {
		t.Fatalf("keys = %v", keys)
	}
	data, err := Marshal("team", projects)
	if err != nil {
		t.Fatal(err)
	}
	out := string(data)
	for _, want := range []string{
		Modeline,
		"# elasticsearch project id " + id('a') + ", alias search-aaaaaa",
		"adopt: true",
		"adopt: " + id('f'), // the second "dup" cannot be found by alias
		"optimized_for: vector",
		"boost_window: 14",
		"env: prod",
		"tier: silver",
		"product_line: security",
		"expiration: 11d",
		"# key id k1",
		"name: ingest-v2",
		"expiration: 90d",
		`"n": 100`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"general_purpose", "search_power", "product_tier: complete", "standard", "theirs", "kibana", "derived", "old", "twin",
		"foreign", "allow_restricted_indices", "transient_metadata", "slsync_", "slsync-", "100.0"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("output holds %q:\n%s", unwanted, out)
		}
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{`managed by slsync owner "other" left out`, "belongs to user elastic-user", "an API key of user admin", "has expired",
		"2 keys are named \"twin\"", "alias \"dup\" is also the alias", "no credentials in the credentials file", `managed by slsync owner "other"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes lack %q:\n%s", want, joined)
		}
	}
	set, diags := manifest.LoadFiles([]manifest.File{{Path: "all.yaml", Src: data}})
	if diags.HasErrors() {
		t.Fatalf("export does not validate: %v\n%s", diags, out)
	}
	if set.Projects["search"].Adopt != "true" || set.Projects["logs"].Adopt != "" || set.Projects["logs"].APIKeys["ingest"].Name != "ingest-v2" {
		t.Fatalf("loaded back: %+v", set.Projects)
	}
	// Deterministic.
	again, _ := Build(sources, Options{Owner: "team", Now: now})
	data2, _ := Marshal("team", again)
	if string(data2) != out {
		t.Fatal("two builds of the same state differ")
	}
}

func TestBuildFilters(t *testing.T) {
	a := live(model.Elasticsearch, id('a'), "a", "", "", map[string]string{"env": "prod"})
	b := live(model.Security, id('b'), "b", "", "", map[string]string{"env": "dev"})
	c := live(model.Elasticsearch, id('c'), "c", "team", "c", nil)
	srcs := []Source{{Project: a}, {Project: b}, {Project: c}}
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Owner: "team"}, "a,b,c"},
		{Options{Owner: "team", Types: []model.ProjectType{model.Elasticsearch}}, "a,c"},
		{Options{Owner: "team", Tags: map[string]string{"env": "dev"}}, "b"},
		{Options{Owner: "team", Tags: map[string]string{model.TagOwner: "team"}}, "c"},
		{Options{Owner: "someone"}, "a,b"},
	} {
		ps, _ := Build(srcs, tc.opts)
		var got []string
		for _, p := range ps {
			got = append(got, p.Key)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%+v: got %v, want %s", tc.opts, got, tc.want)
		}
	}
}

// A key whose role descriptors a manifest cannot hold is left out with one
// note, and the note is the same on every run (it names the first offending
// role and field in sorted order, not whichever map iteration found first).
func TestUnsupportedDescriptorNote(t *testing.T) {
	es := live(model.Elasticsearch, id('a'), "search", "", "", nil)
	rd := map[string]any{
		"a-role": map[string]any{"remote_indices": []any{map[string]any{"clusters": []any{"c"}, "names": []any{"x"}, "privileges": []any{"read"}}}},
		"b-role": map[string]any{"restriction": map[string]any{"workflows": []any{"search_application_query"}}},
		"c-role": "not an object",
	}
	k := &model.LiveAPIKey{APIKey: model.APIKey{Name: "wide", RoleDescriptors: rd, Metadata: map[string]any{}}, ID: "k1", Username: "admin", Realm: "default_file"}
	src := []Source{{Project: es, KeysRead: true, Username: "admin", Keys: []*model.LiveAPIKey{k}}}
	want := `project search: key "wide" (id k1) uses remote_indices in role descriptor "a-role", which manifests do not support; not exported`
	for range 20 {
		ps, notes := Build(src, Options{Owner: "team", Now: now})
		if len(ps) != 1 || ps[0].Spec.APIKeys != nil {
			t.Fatalf("the key should be left out: %+v", ps[0].Spec.APIKeys)
		}
		if strings.Join(notes, "\n") != want {
			t.Fatalf("notes:\n%s\nwant:\n%s", strings.Join(notes, "\n"), want)
		}
	}
}
