package emulator_test

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

const projects = "/api/v1/serverless/projects/"

type projectJSON struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Alias     string            `json:"alias"`
	RegionID  string            `json:"region_id"`
	Type      string            `json:"type"`
	CloudID   string            `json:"cloud_id"`
	Endpoints map[string]string `json:"endpoints"`
	Metadata  struct {
		CreatedAt      string            `json:"created_at"`
		CreatedBy      string            `json:"created_by"`
		OrganizationID string            `json:"organization_id"`
		Tags           map[string]string `json:"tags"`
		SystemTags     map[string]string `json:"system_tags"`
		SuspendedAt    string            `json:"suspended_at"`
	} `json:"metadata"`
	OptimizedFor         string         `json:"optimized_for"`
	SearchLake           map[string]any `json:"search_lake"`
	ProductTier          string         `json:"product_tier"`
	ProductTypes         []any          `json:"product_types"`
	AdminFeaturesPackage string         `json:"admin_features_package"`
	TrafficFilters       []any          `json:"traffic_filters"`
	Linked               map[string]any `json:"linked"`
	Credentials          *struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"credentials"`
}

func TestCreateGetListProject(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	r := env.Cloud(t, "POST", projects+"elasticsearch",
		`{"name":"Search (prod)","alias":"search-prod","region_id":"aws-us-east-1","metadata":{"tags":{"team":"search","env":"prod"}},"search_lake":{"search_power":200}}`)
	if r.Status != http.StatusCreated || r.Header.Get("ETag") == "" {
		t.Fatalf("create: %d %v %s", r.Status, r.Header, r.Body)
	}
	p := decode[projectJSON](t, r)
	if !regexp.MustCompile(`^[a-z0-9]{32}$`).MatchString(p.ID) {
		t.Fatalf("id %q is not 32 [a-z0-9]", p.ID)
	}
	if p.Alias != "search-prod-"+p.ID[:6] {
		t.Fatalf("alias %q, want search-prod-%s", p.Alias, p.ID[:6])
	}
	if p.Endpoints["elasticsearch"] != env.URL+"/es/"+p.ID || p.Endpoints["kibana"] == "" {
		t.Fatalf("endpoints %v", p.Endpoints)
	}
	if p.Credentials == nil || p.Credentials.Username != "admin" || len(p.Credentials.Password) < 16 {
		t.Fatalf("credentials %+v", p.Credentials)
	}
	label, enc, ok := strings.Cut(p.CloudID, ":")
	if _, err := base64.StdEncoding.DecodeString(enc); !ok || label != p.Alias || err != nil {
		t.Fatalf("cloud_id %q", p.CloudID)
	}
	if _, err := time.Parse(time.RFC3339, p.Metadata.CreatedAt); err != nil || p.Metadata.CreatedBy == "" || p.Metadata.OrganizationID == "" {
		t.Fatalf("metadata %+v", p.Metadata)
	}
	if p.Metadata.SystemTags["_alias"] != "search-prod" || p.Metadata.Tags["team"] != "search" {
		t.Fatalf("tags %+v", p.Metadata)
	}
	if p.OptimizedFor != "general_purpose" || p.SearchLake["search_power"] != 200.0 || p.SearchLake["boost_window"] != 7.0 {
		t.Fatalf("defaults: %s", r.Body)
	}

	g := env.Cloud(t, "GET", projects+"elasticsearch/"+p.ID, nil)
	got := decode[projectJSON](t, g)
	if g.Status != 200 || g.Header.Get("ETag") != r.Header.Get("ETag") || got.Credentials != nil || got.Alias != p.Alias {
		t.Fatalf("get: %d etag %q vs %q, %s", g.Status, g.Header.Get("ETag"), r.Header.Get("ETag"), g.Body)
	}
	// The wrong type's path does not find it.
	wantCloudError(t, env.Cloud(t, "GET", projects+"security/"+p.ID, nil), 404, "not found")

	// Derived alias; list and tag filters.
	r2 := env.Cloud(t, "POST", projects+"elasticsearch", `{"name":"Logs: Staging #2","region_id":"gcp-us-central1","metadata":{"tags":{"team":"logs"}}}`)
	p2 := decode[projectJSON](t, r2)
	if p2.Alias != "logs-staging-2-"+p2.ID[:6] {
		t.Fatalf("derived alias %q", p2.Alias)
	}
	list := func(q string) []string {
		t.Helper()
		lr := env.Cloud(t, "GET", projects+"elasticsearch"+q, nil)
		var body struct {
			Items []projectJSON `json:"items"`
		}
		lr.JSON(t, &body)
		if lr.Status != 200 {
			t.Fatalf("list: %d %s", lr.Status, lr.Body)
		}
		var ids []string
		for _, it := range body.Items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	if ids := list(""); len(ids) != 2 || ids[0] != p.ID {
		t.Fatalf("list all: %v", ids)
	}
	if ids := list("?tags[team]=search"); len(ids) != 1 || ids[0] != p.ID {
		t.Fatalf("tag filter: %v", ids)
	}
	if ids := list("?tags%5Bteam%5D=search&tags%5Benv%5D=dev"); len(ids) != 0 {
		t.Fatalf("two tag filters must all match: %v", ids)
	}
	if ids := list("?tags[team]=logs"); len(ids) != 1 || ids[0] != p2.ID {
		t.Fatalf("tag filter logs: %v", ids)
	}
	r3 := env.Cloud(t, "GET", projects+"observability", nil)
	if r3.Status != 200 || strings.TrimSpace(string(r3.Body)) != `{"items":[]}` {
		t.Fatalf("other type list: %s", r3.Body)
	}
}

func TestTypeSpecificDefaults(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	o := decode[projectJSON](t, env.Cloud(t, "POST", projects+"observability", `{"name":"o","region_id":"aws-eu-west-1"}`))
	if o.ProductTier != "complete" || o.Endpoints["apm"] == "" || o.Endpoints["ingest"] == "" {
		t.Fatalf("observability: %+v", o)
	}
	s := decode[projectJSON](t, env.Cloud(t, "POST", projects+"security", `{"name":"s","region_id":"azure-eastus"}`))
	if len(s.ProductTypes) != 3 || s.AdminFeaturesPackage != "standard" || s.SearchLake["data_retention"] == nil || s.Endpoints["ingest"] == "" {
		t.Fatalf("security: %+v", s)
	}
	s2 := env.Cloud(t, "POST", projects+"security", `{"name":"s","region_id":"azure-eastus","product_types":[{"product_line":"security","product_tier":"essentials"}],"admin_features_package":"enterprise","search_lake":{"data_retention":{"max_retention_days":30,"default_retention_days":14}}}`)
	if s2.Status != 201 || !strings.Contains(string(s2.Body), `"max_retention_days":30`) || !strings.Contains(string(s2.Body), `"enterprise"`) {
		t.Fatalf("security create: %d %s", s2.Status, s2.Body)
	}
}

func TestCreateValidation(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	cases := []struct {
		name, typ, body string
		status          int
		wants           []string
	}{
		{"missing name and region", "elasticsearch", `{}`, 400, []string{"[name]", "[region_id]"}},
		{"unknown field", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","colour":"red"}`, 400, []string{"unknown field [colour]"}},
		{"field of another type", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","product_tier":"complete"}`, 400, []string{"unknown field [product_tier]"}},
		{"unknown region", "elasticsearch", `{"name":"a","region_id":"aws-mars-1"}`, 422, []string{"unknown region [aws-mars-1]"}},
		{"region closed", "elasticsearch", `{"name":"a","region_id":"gcp-asia-south1"}`, 422, []string{"does not accept new projects"}},
		{"bad alias", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","alias":"9lives-"}`, 422, []string{"RFC-1035"}},
		{"long alias", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","alias":"` + strings.Repeat("a", 51) + `"}`, 422, []string{"1 to 50"}},
		{"empty name", "elasticsearch", `{"name":"","region_id":"aws-us-east-1"}`, 422, []string{"1 to 255"}},
		{"enum", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","optimized_for":"speed"}`, 422, []string{"general_purpose, vector"}},
		{"range", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","search_lake":{"search_power":5,"boost_window":181}}`, 422, []string{"search_power] must be between 28 and 3000", "boost_window] must be between 1 and 180"}},
		{"wrong type", "elasticsearch", `{"name":7,"region_id":"aws-us-east-1"}`, 400, []string{"[name] must be a string"}},
		{"bad tag key", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","metadata":{"tags":{"Team":"x"}}}`, 422, []string{"tag key [Team]"}},
		{"bad tag value", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","metadata":{"tags":{"team":"Search Team"}}}`, 422, []string{"tag [team] value"}},
		{"metadata other", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","metadata":{"owner":"x"}}`, 400, []string{"metadata.owner"}},
		{"tier enum", "observability", `{"name":"a","region_id":"aws-us-east-1","product_tier":"gold"}`, 422, []string{"complete, logs_essentials"}},
		{"product types", "security", `{"name":"a","region_id":"aws-us-east-1","product_types":[]}`, 422, []string{"1 to 3"}},
		{"product line", "security", `{"name":"a","region_id":"aws-us-east-1","product_types":[{"product_line":"xdr","product_tier":"complete"}]}`, 422, []string{"security, cloud, endpoint"}},
		{"retention", "security", `{"name":"a","region_id":"aws-us-east-1","search_lake":{"data_retention":{"max_retention_days":3}}}`, 422, []string{"between 7 and 3681"}},
		{"not json", "elasticsearch", `{"name":`, 400, []string{"not a valid JSON object"}},
		{"empty body", "elasticsearch", ``, 400, []string{"empty"}},
		{"unknown linked", "elasticsearch", `{"name":"a","region_id":"aws-us-east-1","linked":{"projects":{"nope":{}}}}`, 422, []string{"linked project [nope] does not exist"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCloudError(t, env.Cloud(t, "POST", projects+c.typ, c.body), c.status, c.wants...)
		})
	}
	tags := `{`
	for i := 0; i < 65; i++ {
		if i > 0 {
			tags += ","
		}
		tags += `"k` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `":"v"`
	}
	tags += `}`
	wantCloudError(t, env.Cloud(t, "POST", projects+"elasticsearch", `{"name":"a","region_id":"aws-us-east-1","metadata":{"tags":`+tags+`}}`), 422, "at most 64")
	wantCloudError(t, env.Cloud(t, "GET", projects+"kibana", nil), 404, "unknown project type")
	if l := env.Cloud(t, "GET", projects+"elasticsearch", nil); strings.TrimSpace(string(l.Body)) != `{"items":[]}` {
		t.Fatalf("a failed create must not leave a project: %s", l.Body)
	}
}

func TestAuthRequired(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{APIKey: "secret-key"})
	if env.APIKey != "secret-key" {
		t.Fatalf("APIKey %q", env.APIKey)
	}
	for _, auth := range []string{"", "ApiKey wrong", "Bearer secret-key", "Basic c2VjcmV0LWtleQ=="} {
		for _, path := range []string{projects + "elasticsearch", "/api/v1/serverless/regions", "/_emulator/stats", "/api/v1/nope"} {
			r := env.Do(t, "GET", env.URL+path, auth, nil)
			wantCloudError(t, r, 401, "authentication")
			if strings.Contains(string(r.Body), "secret-key") {
				t.Fatal("the key leaked into an error")
			}
		}
	}
	if r := env.Do(t, "GET", env.URL+projects+"elasticsearch", "ApiKey secret-key", nil); r.Status != 200 {
		t.Fatalf("good key: %d %s", r.Status, r.Body)
	}
	// Generated keys are random.
	a, _ := emulator.New(emulator.Options{})
	b, _ := emulator.New(emulator.Options{})
	if a.APIKey() == "" || a.APIKey() == b.APIKey() {
		t.Fatalf("generated keys %q %q", a.APIKey(), b.APIKey())
	}
}

func TestPatchSemantics(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	c := env.Cloud(t, "POST", projects+"elasticsearch", `{"name":"p","alias":"p","region_id":"aws-us-east-1","metadata":{"tags":{"a":"1","b":"2"}},"search_lake":{"search_power":300,"boost_window":30},"traffic_filters":[{"id":"tf1"}]}`)
	p := decode[projectJSON](t, c)
	etag0 := c.Header.Get("ETag")
	url := projects + "elasticsearch/" + p.ID

	r := env.Cloud(t, "PATCH", url, `{"name":"renamed","metadata":{"tags":{"a":null,"b":"20","c":"3"}},"search_lake":{"search_power":null}}`)
	got := decode[projectJSON](t, r)
	etag1 := r.Header.Get("ETag")
	if r.Status != 200 || etag1 == "" || etag1 == etag0 {
		t.Fatalf("patch: %d etag %q (before %q) %s", r.Status, etag1, etag0, r.Body)
	}
	if got.Name != "renamed" || len(got.Metadata.Tags) != 2 || got.Metadata.Tags["b"] != "20" || got.Metadata.Tags["c"] != "3" {
		t.Fatalf("tags change map: %+v", got.Metadata.Tags)
	}
	if got.SearchLake["search_power"] != 100.0 || got.SearchLake["boost_window"] != 30.0 {
		t.Fatalf("null member resets to default, others kept: %v", got.SearchLake)
	}
	if len(got.TrafficFilters) != 1 {
		t.Fatalf("untouched traffic filters kept: %v", got.TrafficFilters)
	}
	r = env.Cloud(t, "PATCH", url, `{"search_lake":null,"traffic_filters":null}`)
	got = decode[projectJSON](t, r)
	if got.SearchLake["boost_window"] != 7.0 || got.TrafficFilters != nil {
		t.Fatalf("null resets: %s", r.Body)
	}
	// No change: same ETag.
	etag2 := r.Header.Get("ETag")
	if r = env.Cloud(t, "PATCH", url, `{"name":"renamed"}`); r.Header.Get("ETag") != etag2 {
		t.Fatalf("a patch that changes nothing must keep the ETag")
	}
	// Not patchable.
	for _, f := range []string{`{"region_id":"aws-eu-west-1"}`, `{"optimized_for":"vector"}`, `{"type":"security"}`} {
		wantCloudError(t, env.Cloud(t, "PATCH", url, f), 400, "cannot be changed")
	}
	wantCloudError(t, env.Cloud(t, "PATCH", url, `{"product_tier":"complete"}`), 400, "unknown field [product_tier]")
	// If-Match: stale fails with 412 and changes nothing; current succeeds.
	wantCloudError(t, env.Cloud(t, "PATCH", url, `{"name":"x"}`, "If-Match: "+etag0), 412, "does not match")
	if g := decode[projectJSON](t, env.Cloud(t, "GET", url, nil)); g.Name != "renamed" {
		t.Fatalf("412 must change nothing, name is %q", g.Name)
	}
	if r := env.Cloud(t, "PATCH", url, `{"name":"x"}`, "If-Match: "+etag2); r.Status != 200 {
		t.Fatalf("current If-Match: %d %s", r.Status, r.Body)
	}
	// Alias change keeps the id suffix.
	r = env.Cloud(t, "PATCH", url, `{"alias":"new-alias"}`)
	if got = decode[projectJSON](t, r); got.Alias != "new-alias-"+p.ID[:6] {
		t.Fatalf("alias patch: %s", got.Alias)
	}
	// Observability tier and security fields are patchable.
	o := decode[projectJSON](t, env.Cloud(t, "POST", projects+"observability", `{"name":"o","region_id":"aws-us-east-1"}`))
	if r := decode[projectJSON](t, env.Cloud(t, "PATCH", projects+"observability/"+o.ID, `{"product_tier":"logs_essentials"}`)); r.ProductTier != "logs_essentials" {
		t.Fatalf("product_tier patch: %+v", r)
	}
	s := decode[projectJSON](t, env.Cloud(t, "POST", projects+"security", `{"name":"s","region_id":"aws-us-east-1"}`))
	r = env.Cloud(t, "PATCH", projects+"security/"+s.ID, `{"admin_features_package":"enterprise","product_types":[{"product_line":"cloud","product_tier":"essentials"}]}`)
	if ps := decode[projectJSON](t, r); ps.AdminFeaturesPackage != "enterprise" || len(ps.ProductTypes) != 1 {
		t.Fatalf("security patch: %s", r.Body)
	}
}

func TestAliasConflictAndDeletion(t *testing.T) {
	clk := newClock()
	env := emulatortest.Start(t, emulator.Options{Clock: clk.Now, InitDelay: 3 * time.Second, DeleteDelay: 2 * time.Second})
	a := decode[projectJSON](t, env.Cloud(t, "POST", projects+"elasticsearch", `{"name":"a","alias":"shared","region_id":"aws-us-east-1"}`))
	// Alias taken by a live project of any type: 409.
	wantCloudError(t, env.Cloud(t, "POST", projects+"observability", `{"name":"b","alias":"shared","region_id":"aws-us-east-1"}`), 409, "already used")
	b := decode[projectJSON](t, env.Cloud(t, "POST", projects+"elasticsearch", `{"name":"b","alias":"other","region_id":"aws-us-east-1"}`))
	wantCloudError(t, env.Cloud(t, "PATCH", projects+"elasticsearch/"+b.ID, `{"alias":"shared"}`), 409, "already used")

	// Phases move with the clock.
	status := func(id string) string { return env.Phase(t, "elasticsearch", id) }
	if ph := status(a.ID); ph != "initializing" {
		t.Fatalf("phase %s", ph)
	}
	clk.Advance(3 * time.Second)
	st := decode[map[string]string](t, env.Cloud(t, "GET", projects+"elasticsearch/"+a.ID+"/status", nil))
	if st["phase"] != "initialized" || st["phase_change_timestamp"] != clk.Now().Format(time.RFC3339Nano) {
		t.Fatalf("status %v (now %v)", st, clk.Now())
	}

	// Delete with a stale If-Match: 412.
	cur := env.Cloud(t, "GET", projects+"elasticsearch/"+a.ID, nil).Header.Get("ETag")
	wantCloudError(t, env.Cloud(t, "DELETE", projects+"elasticsearch/"+a.ID, nil, `If-Match: "stale"`), 412, "does not match")
	d := env.Cloud(t, "DELETE", projects+"elasticsearch/"+a.ID, nil, "If-Match: "+cur)
	if d.Status != 200 || d.Header.Get("ETag") == "" || d.Header.Get("ETag") == cur {
		t.Fatalf("delete: %d %v", d.Status, d.Header)
	}
	if ph := status(a.ID); ph != "deleting" {
		t.Fatalf("after delete: %s", ph)
	}
	wantCloudError(t, env.Cloud(t, "PATCH", projects+"elasticsearch/"+a.ID, `{"name":"z"}`), 409, "being deleted")
	// Still listed and still holding the alias while deleting.
	wantCloudError(t, env.Cloud(t, "POST", projects+"elasticsearch", `{"name":"c","alias":"shared","region_id":"aws-us-east-1"}`), 409, "already used")
	clk.Advance(2 * time.Second)
	wantCloudError(t, env.Cloud(t, "GET", projects+"elasticsearch/"+a.ID, nil), 404, "not found")
	if r := env.Cloud(t, "POST", projects+"elasticsearch", `{"name":"c","alias":"shared","region_id":"aws-us-east-1"}`); r.Status != 201 {
		t.Fatalf("alias must be free once the project is gone: %d %s", r.Status, r.Body)
	}
}

func TestResetResumeCanDelete(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	id, _, _, pw := env.CreateProject(t, "elasticsearch", `{"name":"p","region_id":"aws-us-east-1"}`)
	base := projects + "elasticsearch/" + id
	etag := env.Cloud(t, "GET", base, nil).Header.Get("ETag")

	// Credentials: the old password stops working.
	if r := env.ES(t, id, "GET", "/_security/_authenticate", nil); r.Status != 200 {
		t.Fatalf("authenticate: %d %s", r.Status, r.Body)
	}
	wantCloudError(t, env.Cloud(t, "POST", base+"/_reset-credentials", nil, `If-Match: "0000"`), 412, "does not match")
	r := env.Cloud(t, "POST", base+"/_reset-credentials", nil, "If-Match: "+etag)
	creds := decode[map[string]string](t, r)
	if r.Status != 200 || creds["username"] != "admin" || creds["password"] == "" || creds["password"] == pw {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	wantESError(t, env.ES(t, id, "GET", "/_security/_authenticate", nil), 401, "security_exception", "unable to authenticate user [admin]")
	env.SetCredentials(id, "admin", creds["password"])
	if r := env.ES(t, id, "GET", "/_security/_authenticate", nil); r.Status != 200 {
		t.Fatalf("new password: %d %s", r.Status, r.Body)
	}

	// Resume: only a suspended project.
	wantCloudError(t, env.Cloud(t, "POST", base+"/_resume", nil), 409, "not suspended")
	if r := env.Cloud(t, "POST", "/_emulator/projects/"+id+"/_suspend", nil); r.Status != 200 {
		t.Fatalf("suspend: %d %s", r.Status, r.Body)
	}
	if ph := env.Phase(t, "elasticsearch", id); ph != "suspended" {
		t.Fatalf("phase %s", ph)
	}
	if r := env.Do(t, "GET", env.ESURL(id, "/"), env.AdminAuth(t, id), nil); r.Status != 503 {
		t.Fatalf("a suspended project's Elasticsearch must refuse: %d", r.Status)
	}
	r = env.Cloud(t, "POST", base+"/_resume", nil)
	if r.Status != 200 || decode[projectJSON](t, r).ID != id {
		t.Fatalf("resume: %d %s", r.Status, r.Body)
	}
	if ph := env.Phase(t, "elasticsearch", id); ph != "initialized" {
		t.Fatalf("after resume: %s", ph)
	}

	// _can-delete: blocked while another project links to it.
	cd := decode[map[string]any](t, env.Cloud(t, "GET", base+"/_can-delete", nil))
	if cd["can_be_deleted"] != true {
		t.Fatalf("can-delete %v", cd)
	}
	o := env.Cloud(t, "POST", projects+"observability", `{"name":"o","region_id":"aws-us-east-1","linked":{"projects":{"`+id+`":{"type":"elasticsearch"}}}}`)
	if o.Status != 201 || !strings.Contains(string(o.Body), `"status":"enabled"`) {
		t.Fatalf("linked create: %d %s", o.Status, o.Body)
	}
	cd = decode[map[string]any](t, env.Cloud(t, "GET", base+"/_can-delete", nil))
	if cd["can_be_deleted"] != false || len(cd["linked_projects"].([]any)) != 1 {
		t.Fatalf("can-delete with link %v", cd)
	}
	wantCloudError(t, env.Cloud(t, "POST", projects+"elasticsearch/0123/_reset-credentials", nil), 404, "not found")
}

func TestRegions(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	var regions []map[string]any
	env.Cloud(t, "GET", "/api/v1/serverless/regions", nil).JSON(t, &regions)
	csps := map[string]bool{}
	closed := 0
	for _, r := range regions {
		csps[r["csp"].(string)] = true
		for _, f := range []string{"id", "name", "csp", "csp_region", "country_code", "project_creation_enabled"} {
			if _, ok := r[f]; !ok {
				t.Fatalf("region without %s: %v", f, r)
			}
		}
		if r["project_creation_enabled"] == false {
			closed++
		}
	}
	if !csps["aws"] || !csps["gcp"] || !csps["azure"] || closed == 0 {
		t.Fatalf("regions: %v", regions)
	}
	one := decode[map[string]any](t, env.Cloud(t, "GET", "/api/v1/serverless/regions/aws-eu-west-1", nil))
	if one["csp_region"] != "eu-west-1" {
		t.Fatalf("region: %v", one)
	}
	wantCloudError(t, env.Cloud(t, "GET", "/api/v1/serverless/regions/aws-nowhere", nil), 404, "not found")
}

func TestUnknownRoutes(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	wantCloudError(t, env.Cloud(t, "GET", "/api/v1/nothing", nil), 404, "no API resource")
	wantCloudError(t, env.Cloud(t, "PUT", projects+"elasticsearch", `{}`), 405, "not allowed")
}

// TestPatchTrafficFilterIDsWithCommas: traffic filter ids are opaque strings,
// so ["a","b"] and ["a,b"] are different lists and the patch must apply.
func TestPatchTrafficFilterIDsWithCommas(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	c := env.Cloud(t, "POST", projects+"elasticsearch", `{"name":"p","region_id":"aws-us-east-1","traffic_filters":[{"id":"a"},{"id":"b"}]}`)
	p := decode[projectJSON](t, c)
	r := env.Cloud(t, "PATCH", projects+"elasticsearch/"+p.ID, `{"traffic_filters":[{"id":"a,b"}]}`)
	if r.Status != 200 || r.Header.Get("ETag") == c.Header.Get("ETag") {
		t.Fatalf("patch: %d, ETag %q (before %q)", r.Status, r.Header.Get("ETag"), c.Header.Get("ETag"))
	}
	got := decode[projectJSON](t, env.Cloud(t, "GET", projects+"elasticsearch/"+p.ID, nil))
	if len(got.TrafficFilters) != 1 || got.TrafficFilters[0].(map[string]any)["id"] != "a,b" {
		t.Fatalf("traffic filters after patch: %v", got.TrafficFilters)
	}
}
