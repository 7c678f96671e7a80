package state

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
	"github.com/slsync/slsync/internal/model"
)

const (
	emuKey = "essu_test_cloud_key"
	owner  = "team"
)

// clock is a settable clock for the emulator (key expiry).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is an emulator on loopback plus clients that set it up out of band
// over HTTP, the way another tool (or a person) would.
type fixture struct {
	emu    *emulator.Server
	url    string
	clock  *clock
	pc     *cloud.ProjectClient
	creds  *cloud.Credentials
	opts   cloud.Options
	byName map[string]*cloud.CreatedProject
}

func newFixture(t testing.TB, opts emulator.Options) *fixture {
	t.Helper()
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts.APIKey = emuKey
	if opts.Clock == nil {
		opts.Clock = clk.Now
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	env := emulatortest.Start(t, opts)
	copts := cloud.Options{UserAgent: cloud.UserAgent("test"),
		Retry: cloud.RetryPolicy{MaxAttempts: 12, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}}
	pc, err := cloud.NewProjectClient(env.URL, emuKey, copts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{emu: env.Server, url: env.URL, clock: clk, pc: pc, opts: copts,
		creds: cloud.NewCredentials(filepath.Join(t.TempDir(), "credentials.json")), byName: map[string]*cloud.CreatedProject{}}
}

// project creates a project; with key != "" it carries the owner's tags.
func (f *fixture) project(t testing.TB, typ model.ProjectType, projOwner, key, alias string, tags map[string]string, mod func(*cloud.CreateProjectRequest)) *cloud.CreatedProject {
	t.Helper()
	all := map[string]string{}
	for k, v := range tags {
		all[k] = v
	}
	if key != "" {
		all[model.TagOwner], all[model.TagKey] = projOwner, key
	}
	req := &cloud.CreateProjectRequest{Name: "Project " + alias, Alias: alias, RegionID: "aws-us-east-1", Metadata: &cloud.CreateMetadata{Tags: all}}
	if mod != nil {
		mod(req)
	}
	p, err := f.pc.Create(context.Background(), typ, req)
	if err != nil {
		t.Fatalf("create %s: %v", alias, err)
	}
	if err := f.creds.Put(cloud.CredentialEntry{ProjectID: p.ID, Key: key, Owner: projOwner, Username: p.Credentials.Username,
		Password: p.Credentials.Password, Endpoint: p.Endpoints["elasticsearch"]}); err != nil {
		t.Fatal(err)
	}
	f.byName[alias] = p
	return p
}

func (f *fixture) es(t testing.TB, p *cloud.CreatedProject) *cloud.ESClient {
	t.Helper()
	c, err := cloud.NewESClient(p.Endpoints["elasticsearch"], p.Credentials.Username, p.Credentials.Password, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// key creates an API key; meta is the whole metadata.
func (f *fixture) key(t testing.TB, p *cloud.CreatedProject, name, expiration string, meta map[string]any) *cloud.CreatedAPIKey {
	t.Helper()
	k, err := f.es(t, p).CreateAPIKey(context.Background(), &cloud.CreateAPIKeyRequest{Name: name, Expiration: expiration, Metadata: meta,
		RoleDescriptors: map[string]any{"read-" + name: map[string]any{"indices": []any{map[string]any{"names": []any{"books"}, "privileges": []any{"read"}}}}}})
	if err != nil {
		t.Fatalf("create key %s: %v", name, err)
	}
	return k
}

func managedMeta(keyName string, extra map[string]any) map[string]any {
	m := map[string]any{model.MetaOwner: owner, model.MetaKey: keyName, model.MetaExpiration: "30d"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func (f *fixture) reader(parallelism int) *Reader {
	return &Reader{Projects: f.pc, Credentials: f.creds, NewKeyAPI: ESClients(f.opts), Parallelism: parallelism}
}

func desiredSet(projects map[string][]string) *model.Set {
	s := &model.Set{Owner: owner, Projects: map[string]*model.Project{}}
	for key, keys := range projects {
		p := &model.Project{Key: key, APIKeys: map[string]*model.APIKey{}}
		for _, k := range keys {
			p.APIKeys[k] = &model.APIKey{Key: k, Name: k}
		}
		s.Projects[key] = p
	}
	return s
}

func TestReadNormalisesAndSeparatesOwnership(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ctx := context.Background()
	search := f.project(t, model.Elasticsearch, owner, "search", "search", map[string]string{"env": "prod"},
		func(r *cloud.CreateProjectRequest) { r.OptimizedFor = "vector" })
	f.project(t, model.Observability, owner, "obs", "logs", nil, func(r *cloud.CreateProjectRequest) { r.ProductTier = "logs_essentials" })
	f.project(t, model.Security, owner, "sec", "siem", map[string]string{"team": "sec"},
		func(r *cloud.CreateProjectRequest) { r.AdminFeaturesPackage = "enterprise" })
	handmade := f.project(t, model.Elasticsearch, "", "", "handmade", map[string]string{"env": "dev"}, nil)
	theirs := f.project(t, model.Elasticsearch, "other", "search", "theirs", nil, nil)

	reader := f.key(t, search, "books-reader", "", managedMeta("books", map[string]any{"team": "books"}))
	f.key(t, search, "writer", "1h", managedMeta("writer", nil)) // will expire
	gone := f.key(t, search, "gone", "", managedMeta("gone", nil))
	f.key(t, search, "someone-elses", "", map[string]any{model.MetaOwner: "other", model.MetaKey: "x"})
	f.key(t, search, "personal", "", nil)
	if _, err := f.es(t, search).InvalidateAPIKeys(ctx, []string{gone.ID}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(2 * time.Hour)

	desired := desiredSet(map[string][]string{"search": {"books", "writer"}, "obs": nil, "sec": {"k"}, "new": nil})
	f.emu.ResetStats()
	st, err := f.reader(4).Read(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}

	var keys []string
	for _, lp := range st.Managed {
		keys = append(keys, lp.Key)
	}
	if strings.Join(keys, ",") != "obs,search,sec" {
		t.Fatalf("managed = %v", keys)
	}
	var others []string
	for _, lp := range st.Others {
		others = append(others, lp.ID)
	}
	if len(others) != 2 || !contains(others, handmade.ID) || !contains(others, theirs.ID) {
		t.Fatalf("others = %v, want handmade and the other owner's", others)
	}
	for _, lp := range st.Others {
		if lp.ID == theirs.ID && (lp.Owner != "other" || lp.Key != "search" || lp.Managed(owner)) {
			t.Fatalf("other owner's project: %+v", lp)
		}
		if lp.ID == handmade.ID && (lp.Owner != "" || lp.Alias != "handmade" || lp.Tags["env"] != "dev") {
			t.Fatalf("handmade project: %+v", lp)
		}
	}

	es, obs, sec := st.Managed[1], st.Managed[0], st.Managed[2]
	if es.Type != model.Elasticsearch || es.Alias != "search" || es.FullAlias != "search-"+search.ID[:6] ||
		es.OptimizedFor != "vector" || es.RegionID != "aws-us-east-1" || es.Name != "Project search" ||
		len(es.Tags) != 1 || es.Tags["env"] != "prod" || es.Endpoints["elasticsearch"] != f.url+"/es/"+search.ID ||
		es.CloudID == "" || es.ETag != "" || es.Phase != "" {
		t.Fatalf("elasticsearch project: %+v", es)
	}
	if obs.Type != model.Observability || obs.ProductTier != "logs_essentials" || obs.Alias != "logs" || obs.Tags == nil || len(obs.Tags) != 0 {
		t.Fatalf("observability project: %+v", obs)
	}
	if sec.Type != model.Security || sec.AdminFeaturesPackage != "enterprise" || len(sec.ProductTypes) == 0 || sec.Tags["team"] != "sec" {
		t.Fatalf("security project: %+v", sec)
	}

	// Keys: this owner's, not invalidated, expired included.
	var names []string
	for _, k := range es.Keys {
		names = append(names, k.Name)
	}
	if strings.Join(names, ",") != "books-reader,writer" {
		t.Fatalf("keys = %v", names)
	}
	br, wr := es.Keys[0], es.Keys[1]
	if br.ID != reader.ID || br.Key != "books" || br.Expiration != "30d" || br.Owner != owner || br.Username == "" ||
		br.ExpiresAt != nil || len(br.Metadata) != 1 || br.Metadata["team"] != "books" || br.RoleDescriptors["read-books-reader"] == nil ||
		!br.Creation.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("books-reader = %+v", br)
	}
	if wr.ExpiresAt == nil || !wr.Expired(f.clock.Now()) {
		t.Fatalf("writer should be read and expired: %+v", wr)
	}
	if len(sec.Keys) != 0 || len(obs.Keys) != 0 || len(st.KeyErrors) != 0 {
		t.Fatalf("sec keys %v, obs keys %v, key errors %v", sec.Keys, obs.Keys, st.KeyErrors)
	}
	// "new" is to be created, so regions were read.
	if r, ok := st.Regions["aws-us-east-1"]; !ok || r.ID != "aws-us-east-1" {
		t.Fatalf("regions = %v", st.Regions)
	}
	stats := f.emu.Stats()
	// 3 lists + 3 key queries + 1 regions.
	if stats.Total != 7 {
		t.Fatalf("calls = %d (%v), want 7", stats.Total, stats.ByRoute)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestNoChangeReadCosts3PlusP is the cost contract of `slsync plan`.
func TestNoChangeReadCosts3PlusP(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	const p = 6
	want := map[string][]string{}
	for i := range p {
		key := fmt.Sprintf("proj-%d", i)
		typ := model.ProjectTypes[i%3]
		cp := f.project(t, typ, owner, key, key, nil, nil)
		for j := range 3 {
			name := fmt.Sprintf("k%d", j)
			f.key(t, cp, name, "", managedMeta(name, nil))
			want[key] = append(want[key], name)
		}
	}
	f.project(t, model.Elasticsearch, "", "", "unmanaged", nil, nil)
	f.emu.ResetStats()
	st, err := f.reader(3).Read(context.Background(), desiredSet(want))
	if err != nil {
		t.Fatal(err)
	}
	stats := f.emu.Stats()
	if stats.Total != 3+p {
		t.Fatalf("calls = %d, want 3+%d; by route: %v", stats.Total, p, stats.ByRoute)
	}
	lists, queries := 0, 0
	for route, n := range stats.ByRoute {
		switch {
		case strings.HasPrefix(route, "GET /api/v1/serverless/projects/"):
			lists += n
		case strings.HasSuffix(route, "/_security/_query/api_key"):
			queries += n
		}
	}
	if lists != 3 || queries != p {
		t.Fatalf("lists = %d, queries = %d; by route: %v", lists, queries, stats.ByRoute)
	}
	if st.Regions != nil || len(st.Managed) != p || len(st.KeyErrors) != 0 {
		t.Fatalf("regions %v, managed %d, key errors %v", st.Regions, len(st.Managed), st.KeyErrors)
	}
	for _, lp := range st.Managed {
		if len(lp.Keys) != 3 {
			t.Fatalf("%s has %d keys", lp.Key, len(lp.Keys))
		}
	}
}

func TestReadPagesBeyondOnePageOfKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,500 keys")
	}
	f := newFixture(t, emulator.Options{})
	cp := f.project(t, model.Elasticsearch, owner, "big", "big", nil, nil)
	es := f.es(t, cp)
	const n = 1500
	err := ForEach(context.Background(), n, 16, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("key-%04d", i)
		_, err := es.CreateAPIKey(ctx, &cloud.CreateAPIKeyRequest{Name: name, Metadata: managedMeta(name, nil)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.emu.ResetStats()
	st, err := f.reader(8).Read(context.Background(), desiredSet(map[string][]string{"big": {"key-0000"}}))
	if err != nil {
		t.Fatal(err)
	}
	keys := st.Managed[0].Keys
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k.ID] = true
	}
	if len(keys) != n || len(seen) != n {
		t.Fatalf("read %d keys (%d distinct), want %d", len(keys), len(seen), n)
	}
	if q := countRoute(f.emu.Stats(), "_query/api_key"); q != 2 {
		t.Fatalf("query calls = %d, want 2 (1000 + 500)", q)
	}
}

func countRoute(s emulator.Stats, suffix string) int {
	n := 0
	for route, c := range s.ByRoute {
		if strings.HasSuffix(route, suffix) {
			n += c
		}
	}
	return n
}

func TestReadReportsKeyErrorsPerProject(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ok := f.project(t, model.Elasticsearch, owner, "ok", "ok", nil, nil)
	f.key(t, ok, "a", "", managedMeta("a", nil))
	nocreds := f.project(t, model.Elasticsearch, owner, "nocreds", "nocreds", nil, nil)
	f.key(t, nocreds, "a", "", managedMeta("a", nil))
	f.creds.Remove(nocreds.ID)
	quiet := f.project(t, model.Observability, owner, "quiet", "quiet", nil, nil) // no keys declared, no creds
	f.creds.Remove(quiet.ID)
	stale := f.project(t, model.Security, owner, "stale", "stale", nil, nil)
	e, _ := f.creds.Lookup(stale.ID)
	const wrongPW = "WRONG-password-123"
	e.Password = wrongPW
	_ = f.creds.Put(e)

	f.emu.ResetStats()
	st, err := f.reader(2).Read(context.Background(), desiredSet(map[string][]string{"ok": {"a"}, "nocreds": {"a"}, "quiet": nil, "stale": {"x"}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.KeyErrors) != 2 {
		t.Fatalf("key errors = %v", st.KeyErrors)
	}
	var mc *MissingCredentialsError
	if err := st.KeyErrors["nocreds"]; !errors.As(err, &mc) || mc.ProjectID != nocreds.ID ||
		!strings.Contains(err.Error(), f.creds.Path()) || !strings.Contains(err.Error(), "slsync credentials set nocreds") ||
		!strings.Contains(err.Error(), "--allow-credential-reset") {
		t.Fatalf("nocreds: %v", err)
	}
	if err := st.KeyErrors["stale"]; !cloud.IsUnauthorized(err) || !strings.Contains(err.Error(), "credentials") ||
		strings.Contains(err.Error(), wrongPW) {
		t.Fatalf("stale: %v", err)
	}
	var okp *model.LiveProject
	for _, lp := range st.Managed {
		if lp.Key == "ok" {
			okp = lp
		}
	}
	if okp == nil || len(okp.Keys) != 1 {
		t.Fatalf("the healthy project was not read: %+v", okp)
	}
	// 3 lists + ok + stale (nocreds and quiet cost nothing).
	if got := f.emu.Stats().Total; got != 5 {
		t.Fatalf("calls = %d, want 5: %v", got, f.emu.Stats().ByRoute)
	}
}

func TestReadSurvivesFaultsOnReads(t *testing.T) {
	f := newFixture(t, emulator.Options{Seed: 7})
	want := map[string][]string{}
	for i := range 4 {
		key := fmt.Sprintf("p%d", i)
		cp := f.project(t, model.ProjectTypes[i%3], owner, key, key, nil, nil)
		f.key(t, cp, "k", "", managedMeta("k", nil))
		want[key] = []string{"k"}
	}
	clean, err := f.reader(4).Read(context.Background(), desiredSet(want))
	if err != nil {
		t.Fatal(err)
	}
	f.emu.SetFaults(emulator.Faults{P429: 0.2, P5xx: 0.2, PReset: 0.1})
	f.emu.ResetStats()
	faulty, err := f.reader(4).Read(context.Background(), desiredSet(want))
	if err != nil {
		t.Fatal(err)
	}
	s := f.emu.Stats()
	injected := 0
	for _, n := range s.Injected {
		injected += n
	}
	if injected == 0 || s.Total != 3+4+injected {
		t.Fatalf("calls = %d with %d injected faults (%v); want 7 + one retry per fault", s.Total, injected, s.Injected)
	}
	if len(faulty.Managed) != len(clean.Managed) {
		t.Fatalf("managed %d vs %d", len(faulty.Managed), len(clean.Managed))
	}
	for i := range clean.Managed {
		a, b := clean.Managed[i], faulty.Managed[i]
		if a.ID != b.ID || len(a.Keys) != len(b.Keys) || a.Keys[0].ID != b.Keys[0].ID {
			t.Fatalf("faulty read differs at %d: %+v vs %+v", i, a, b)
		}
	}
	t.Logf("%d calls, injected %v", s.Total, s.Injected)
}

func TestReadSkipsProjectsAlreadyBeingDeleted(t *testing.T) {
	f := newFixture(t, emulator.Options{DeleteDelay: time.Hour})
	keep := f.project(t, model.Elasticsearch, owner, "keep", "keep", nil, nil)
	doomed := f.project(t, model.Elasticsearch, owner, "doomed", "doomed", nil, nil)
	orphan := f.project(t, model.Observability, owner, "orphan", "orphan", nil, nil)
	if err := f.pc.Delete(context.Background(), model.Elasticsearch, doomed.ID, ""); err != nil {
		t.Fatal(err)
	}
	f.emu.ResetStats()
	st, err := f.reader(2).Read(context.Background(), desiredSet(map[string][]string{"keep": nil}))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, lp := range st.Managed {
		ids = append(ids, lp.ID)
	}
	if len(ids) != 2 || !contains(ids, keep.ID) || !contains(ids, orphan.ID) {
		t.Fatalf("managed = %v; want keep and orphan (doomed is deleting)", ids)
	}
	for _, lp := range st.Managed {
		if lp.ID == orphan.ID && lp.Phase != model.PhaseInitialized {
			t.Fatalf("orphan phase = %q", lp.Phase)
		}
	}
	// 3 lists + 2 status (doomed, orphan) + keep's keys.
	if got := f.emu.Stats().Total; got != 6 {
		t.Fatalf("calls = %d: %v", got, f.emu.Stats().ByRoute)
	}
}

func TestFetchETags(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.project(t, model.Security, owner, "a", "a", nil, nil)
	st, err := f.reader(2).Read(context.Background(), desiredSet(map[string][]string{"a": nil}))
	if err != nil {
		t.Fatal(err)
	}
	if err := FetchETags(context.Background(), f.pc, st.Managed, 2); err != nil {
		t.Fatal(err)
	}
	lp := st.Managed[0]
	if lp.ETag == "" {
		t.Fatal("no ETag")
	}
	// The ETag is the one If-Match wants.
	name := "renamed"
	if _, err := f.pc.Patch(context.Background(), lp.Type, lp.ID, &cloud.PatchProjectRequest{Name: &name}, lp.ETag); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pc.Patch(context.Background(), lp.Type, lp.ID, &cloud.PatchProjectRequest{Name: &name}, lp.ETag); !cloud.IsPreconditionFailed(err) {
		t.Fatalf("stale ETag: err = %v, want 412", err)
	}
}

// A project whose type, region_id or optimized_for changed is replaced, i.e.
// created anew: the read fetches the regions so that the plan can refuse a
// region that does not exist before apply deletes the old project. A desired
// project that leaves those fields out, or keeps them, costs no regions call.
func TestReadFetchesRegionsForReplacements(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.project(t, model.Elasticsearch, owner, "search", "search", nil, func(r *cloud.CreateProjectRequest) { r.OptimizedFor = "general_purpose" })
	tests := []struct {
		name string
		mod  func(*model.Project)
		want bool
	}{
		{"unspecified", func(*model.Project) {}, false},
		{"same", func(p *model.Project) {
			p.Type, p.RegionID, p.OptimizedFor = model.Elasticsearch, "aws-us-east-1", "general_purpose"
		}, false},
		{"region", func(p *model.Project) { p.Type, p.RegionID = model.Elasticsearch, "nowhere-1" }, true},
		{"type", func(p *model.Project) { p.Type = model.Observability }, true},
		{"optimized_for", func(p *model.Project) { p.Type, p.OptimizedFor = model.Elasticsearch, "vector" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := desiredSet(map[string][]string{"search": nil})
			tt.mod(set.Projects["search"])
			st, err := f.reader(2).Read(context.Background(), set)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Regions != nil; got != tt.want {
				t.Fatalf("regions read = %v, want %v", got, tt.want)
			}
		})
	}
}
