package conformance

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/security/bulkupdateapikeys"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/createapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/getapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/invalidateapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/updateapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/apikeytype"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/clusterprivilege"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/indexprivilege"
)

// booksReader is a role descriptor using every part of the API-key role
// descriptor Serverless supports: cluster, indices with names, privileges,
// field_security and a DLS query, applications and metadata.
func booksReader() types.RoleDescriptor {
	return types.RoleDescriptor{
		Cluster: []clusterprivilege.ClusterPrivilege{clusterprivilege.Monitor},
		Indices: []types.IndicesPrivileges{{
			Names:         []string{"books", "authors-*"},
			Privileges:    []indexprivilege.IndexPrivilege{indexprivilege.Read, indexprivilege.Viewindexmetadata},
			FieldSecurity: &types.FieldSecurity{Grant: []string{"title", "author", "isbn"}, Except: []string{"isbn"}},
			Query:         map[string]any{"term": map[string]any{"public": true}},
		}},
		Applications: []types.ApplicationPrivileges{{Application: "myapp", Privileges: []string{"read"}, Resources: []string{"*"}}},
		Metadata:     types.Metadata{"purpose": json.RawMessage(`"conformance"`)},
	}
}

func TestCreateAndGetAPIKey(t *testing.T) {
	f := newFixture(t)
	before := f.clock.Now().UnixMilli()
	created, err := f.admin.Security.CreateApiKey().Request(&createapikey.Request{
		Name:            ptr("books-reader"),
		Expiration:      "30d",
		RoleDescriptors: map[string]types.RoleDescriptor{"books-read": booksReader()},
		Metadata:        types.Metadata{"team": json.RawMessage(`"books"`), "tier": json.RawMessage(`{"level":2}`)},
	}).Do(ctx(t))
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}
	f.strict(t, created)
	after := f.clock.Now().UnixMilli()
	if created.Name != "books-reader" || len(created.Id) != 20 || created.ApiKey == "" {
		t.Errorf("CreateApiKey decoded to id %q name %q", created.Id, created.Name)
	}
	if want := base64.StdEncoding.EncodeToString([]byte(created.Id + ":" + created.ApiKey)); created.Encoded != want {
		t.Errorf("encoded is not base64(id:api_key)")
	}
	const d30 = 30 * 24 * 3600 * 1000
	if created.Expiration == nil || *created.Expiration < before+d30-1000 || *created.Expiration > after+d30 {
		t.Errorf("expiration = %v, want about now+30d (%d..%d)", created.Expiration, before+d30, after+d30)
	}

	got, err := f.admin.Security.GetApiKey().Id(created.Id).WithLimitedBy(true).Do(ctx(t))
	if err != nil {
		t.Fatalf("GetApiKey by id: %v", err)
	}
	f.strict(t, got)
	if len(got.ApiKeys) != 1 {
		t.Fatalf("GetApiKey by id: %d keys", len(got.ApiKeys))
	}
	k := got.ApiKeys[0]
	if k.Id != created.Id || k.Name != "books-reader" || k.Type != apikeytype.Rest || k.Invalidated || k.Invalidation != nil ||
		k.Username != f.user || k.Realm == "" || k.RealmType == nil || k.Creation < before || k.Creation > after ||
		k.Expiration == nil || *k.Expiration != *created.Expiration {
		t.Errorf("GetApiKey decoded to %+v", k)
	}
	if metaString(t, k.Metadata, "team") != "books" || string(k.Metadata["tier"]) != `{"level":2}` {
		t.Errorf("metadata = %v", k.Metadata)
	}
	rd, ok := k.RoleDescriptors["books-read"]
	if !ok || len(k.RoleDescriptors) != 1 {
		t.Fatalf("role_descriptors = %v", k.RoleDescriptors)
	}
	if !slices.Equal(rd.Cluster, []clusterprivilege.ClusterPrivilege{clusterprivilege.Monitor}) {
		t.Errorf("cluster = %v", rd.Cluster)
	}
	if len(rd.Indices) != 1 {
		t.Fatalf("indices = %+v", rd.Indices)
	}
	ip := rd.Indices[0]
	if !slices.Equal(ip.Names, []string{"books", "authors-*"}) ||
		!slices.Equal(ip.Privileges, []indexprivilege.IndexPrivilege{indexprivilege.Read, indexprivilege.Viewindexmetadata}) ||
		ip.FieldSecurity == nil || !slices.Equal(ip.FieldSecurity.Grant, []string{"title", "author", "isbn"}) ||
		!slices.Equal(ip.FieldSecurity.Except, []string{"isbn"}) ||
		ip.AllowRestrictedIndices == nil || *ip.AllowRestrictedIndices {
		t.Errorf("indices[0] = %+v (field_security %+v)", ip, ip.FieldSecurity)
	}
	// Elasticsearch returns the DLS query as a string of JSON whatever was sent.
	qs, isString := ip.Query.(string)
	var q any
	if !isString || json.Unmarshal([]byte(qs), &q) != nil ||
		!reflect.DeepEqual(q, map[string]any{"term": map[string]any{"public": true}}) {
		t.Errorf("query = %#v, want the JSON text of the term query", ip.Query)
	}
	if len(rd.Applications) != 1 || rd.Applications[0].Application != "myapp" ||
		!slices.Equal(rd.Applications[0].Privileges, []string{"read"}) || !slices.Equal(rd.Applications[0].Resources, []string{"*"}) {
		t.Errorf("applications = %+v", rd.Applications)
	}
	if rd.RunAs == nil || len(rd.RunAs) != 0 || metaString(t, rd.Metadata, "purpose") != "conformance" ||
		string(rd.TransientMetadata["enabled"]) != "true" {
		t.Errorf("run_as/metadata/transient_metadata = %v %v %v", rd.RunAs, rd.Metadata, rd.TransientMetadata)
	}
	if len(k.LimitedBy) != 1 || len(k.LimitedBy[0]) == 0 {
		t.Errorf("limited_by = %v, want one owner-role snapshot", k.LimitedBy)
	}
	for _, owner := range k.LimitedBy {
		for name, ord := range owner {
			if len(ord.Cluster) == 0 {
				t.Errorf("limited_by role %s has no cluster privileges: %+v", name, ord)
			}
		}
	}

	// The key authenticates, and without with_limited_by there is none.
	plain, err := f.admin.Security.GetApiKey().Id(created.Id).Do(ctx(t))
	if err != nil || len(plain.ApiKeys) != 1 || plain.ApiKeys[0].LimitedBy != nil {
		t.Errorf("GetApiKey without with_limited_by: %v %+v", err, plain)
	}
	if _, err := f.withKey(t, created.Encoded).Security.Authenticate().Do(ctx(t)); err != nil {
		t.Errorf("the created key does not authenticate: %v", err)
	}
}

// createKeys makes keys as the admin and returns their ids by name.
func createKeys(t *testing.T, f *fixture, specs ...createapikey.Request) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, s := range specs {
		r, err := f.admin.Security.CreateApiKey().Request(&s).Do(ctx(t))
		if err != nil {
			t.Fatalf("CreateApiKey %s: %v", *s.Name, err)
		}
		ids[*s.Name] = r.Id
	}
	return ids
}

func md(kv ...string) types.Metadata {
	m := types.Metadata{}
	for i := 0; i+1 < len(kv); i += 2 {
		b, _ := json.Marshal(kv[i+1])
		m[kv[i]] = b
	}
	return m
}

func names(keys []types.ApiKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	sort.Strings(out)
	return out
}

func TestGetAPIKeyFilters(t *testing.T) {
	f := newFixture(t)
	ids := createKeys(t, f,
		createapikey.Request{Name: ptr("svc-a")},
		createapikey.Request{Name: ptr("svc-b"), Expiration: "1h"},
		createapikey.Request{Name: ptr("other")},
	)
	// A key made by an API key is owned by that key's realm, not the admin.
	derived, err := f.withKey(t, keyEncoded(t, f, "parent")).Security.CreateApiKey().
		Name("svc-derived").RoleDescriptors(map[string]types.RoleDescriptor{"noop": {}}).Do(ctx(t))
	if err != nil {
		t.Fatalf("derived CreateApiKey: %v", err)
	}

	tests := []struct {
		name string
		do   func() (any, []types.ApiKey, error)
		want []string
	}{
		{"by name", func() (any, []types.ApiKey, error) {
			return getKeys(f.admin.Security.GetApiKey().Name("svc-a").Do(ctx(t)))
		}, []string{"svc-a"}},
		{"by name prefix", func() (any, []types.ApiKey, error) {
			return getKeys(f.admin.Security.GetApiKey().Name("svc-*").Do(ctx(t)))
		}, []string{"svc-a", "svc-b", "svc-derived"}},
		{"owner=true", func() (any, []types.ApiKey, error) {
			return getKeys(f.admin.Security.GetApiKey().Owner(true).Do(ctx(t)))
		}, []string{"other", "parent", "svc-a", "svc-b"}},
		{"all", func() (any, []types.ApiKey, error) {
			return getKeys(f.admin.Security.GetApiKey().Do(ctx(t)))
		}, []string{"other", "parent", "svc-a", "svc-b", "svc-derived"}},
		{"derived key reads itself by id", func() (any, []types.ApiKey, error) {
			return getKeys(f.withKey(t, derived.Encoded).Security.GetApiKey().Id(derived.Id).Do(ctx(t)))
		}, []string{"svc-derived"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, keys, err := tc.do()
			if err != nil {
				t.Fatalf("GetApiKey: %v", err)
			}
			f.strict(t, r)
			if got := names(keys); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// active_only drops expired and invalidated keys; without it they stay.
	if _, err := f.admin.Security.InvalidateApiKey().Ids(ids["other"]).Do(ctx(t)); err != nil {
		t.Fatalf("InvalidateApiKey: %v", err)
	}
	f.clock.Advance(2 * time.Hour)
	active, err := f.admin.Security.GetApiKey().Owner(true).ActiveOnly(true).Do(ctx(t))
	if err != nil {
		t.Fatalf("GetApiKey active_only: %v", err)
	}
	if got := names(active.ApiKeys); !slices.Equal(got, []string{"parent", "svc-a"}) {
		t.Errorf("active_only: got %v", got)
	}
	all, err := f.admin.Security.GetApiKey().Owner(true).Do(ctx(t))
	if err != nil {
		t.Fatalf("GetApiKey owner: %v", err)
	}
	for _, k := range all.ApiKeys {
		switch k.Name {
		case "other":
			if !k.Invalidated || k.Invalidation == nil {
				t.Errorf("invalidated key decoded as %+v", k)
			}
		case "svc-b":
			if k.Invalidated || k.Expiration == nil || *k.Expiration >= f.clock.Now().UnixMilli() {
				t.Errorf("expired key decoded as %+v", k)
			}
		}
	}

	// An id that matches nothing: Elasticsearch answers 404 with the normal,
	// empty body. The typed client turns any non-2xx into an error; the
	// low-level client shows the body.
	_, err = f.admin.Security.GetApiKey().Id("AAAAAAAAAAAAAAAAAAAA").Do(ctx(t))
	esError(t, err, 404, "")
	res, err := f.adminLowLvl.Security.GetAPIKey(f.adminLowLvl.Security.GetAPIKey.WithID("AAAAAAAAAAAAAAAAAAAA"))
	if err != nil {
		t.Fatalf("esapi GetAPIKey: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		ApiKeys []types.ApiKey `json:"api_keys"`
	}
	dec := json.NewDecoder(res.Body)
	dec.DisallowUnknownFields()
	if res.StatusCode != 404 || dec.Decode(&body) != nil || body.ApiKeys == nil || len(body.ApiKeys) != 0 {
		t.Errorf("esapi GetAPIKey unknown id: %d %+v, want 404 {\"api_keys\":[]}", res.StatusCode, body)
	}
}

// getKeys adapts a GetApiKey answer to the table above.
func getKeys(r *getapikey.Response, err error) (any, []types.ApiKey, error) {
	if err != nil {
		return nil, nil, err
	}
	return r, r.ApiKeys, nil
}

// keyEncoded creates a key with the admin's privileges and returns its
// encoded value.
func keyEncoded(t *testing.T, f *fixture, name string) string {
	t.Helper()
	r, err := f.admin.Security.CreateApiKey().Name(name).Do(ctx(t))
	if err != nil {
		t.Fatalf("CreateApiKey %s: %v", name, err)
	}
	return r.Encoded
}

func TestUpdateAPIKey(t *testing.T) {
	f := newFixture(t)
	ids := createKeys(t, f, createapikey.Request{Name: ptr("upd"), Metadata: md("team", "a"),
		RoleDescriptors: map[string]types.RoleDescriptor{"r": booksReader()}})
	id := ids["upd"]

	newRole := types.RoleDescriptor{Indices: []types.IndicesPrivileges{{Names: []string{"logs-*"},
		Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Createdoc}}}}
	upd, err := f.admin.Security.UpdateApiKey(id).Request(&updateapikey.Request{
		Metadata: md("team", "b"), RoleDescriptors: map[string]types.RoleDescriptor{"writer": newRole}, Expiration: "7d",
	}).Do(ctx(t))
	if err != nil {
		t.Fatalf("UpdateApiKey: %v", err)
	}
	f.strict(t, upd)
	if !upd.Updated {
		t.Errorf("updated = false after a change")
	}
	got, err := f.admin.Security.GetApiKey().Id(id).Do(ctx(t))
	if err != nil || len(got.ApiKeys) != 1 {
		t.Fatalf("GetApiKey: %v %+v", err, got)
	}
	k := got.ApiKeys[0]
	if metaString(t, k.Metadata, "team") != "b" || len(k.RoleDescriptors) != 1 ||
		!slices.Equal(k.RoleDescriptors["writer"].Indices[0].Privileges, []indexprivilege.IndexPrivilege{indexprivilege.Createdoc}) {
		t.Errorf("after update: %+v", k)
	}
	if d7 := int64(7 * 24 * 3600 * 1000); k.Expiration == nil || *k.Expiration < f.clock.Now().UnixMilli()+d7-5000 {
		t.Errorf("expiration after update = %v, want now+7d", k.Expiration)
	}

	// The same metadata and descriptors again, without expiration: a noop.
	again, err := f.admin.Security.UpdateApiKey(id).Request(&updateapikey.Request{
		Metadata: md("team", "b"), RoleDescriptors: map[string]types.RoleDescriptor{"writer": newRole},
	}).Do(ctx(t))
	if err != nil || again.Updated {
		t.Errorf("repeated update: err %v, updated %v, want a noop", err, again)
	}
}

func TestBulkUpdateAPIKeys(t *testing.T) {
	f := newFixture(t)
	ids := createKeys(t, f,
		createapikey.Request{Name: ptr("b1"), Metadata: md("env", "dev")},
		createapikey.Request{Name: ptr("b2"), Metadata: md("env", "prod")},
		createapikey.Request{Name: ptr("b3")},
	)
	if _, err := f.admin.Security.InvalidateApiKey().Ids(ids["b3"]).Do(ctx(t)); err != nil {
		t.Fatalf("InvalidateApiKey: %v", err)
	}
	const missing = "nope0000000000000000"
	r, err := f.admin.Security.BulkUpdateApiKeys().Request(&bulkupdateapikeys.Request{
		Ids: []string{ids["b1"], ids["b2"], ids["b3"], missing}, Metadata: md("env", "prod"),
	}).Do(ctx(t))
	if err != nil {
		t.Fatalf("BulkUpdateApiKeys: %v", err)
	}
	f.strict(t, r)
	if !slices.Equal(r.Updated, []string{ids["b1"]}) || !slices.Equal(r.Noops, []string{ids["b2"]}) {
		t.Errorf("updated %v noops %v", r.Updated, r.Noops)
	}
	if r.Errors == nil || r.Errors.Count != 2 || len(r.Errors.Details) != 2 {
		t.Fatalf("errors = %+v", r.Errors)
	}
	if e := r.Errors.Details[missing]; e.Type != "resource_not_found_exception" || !strings.Contains(reason(e), missing) {
		t.Errorf("missing id error = %+v", e)
	}
	if e := r.Errors.Details[ids["b3"]]; e.Type != "illegal_argument_exception" || !strings.Contains(reason(e), "invalidated") {
		t.Errorf("invalidated id error = %+v", e)
	}

	// No errors: the member is omitted and the client leaves Errors nil.
	ok, err := f.admin.Security.BulkUpdateApiKeys().Request(&bulkupdateapikeys.Request{
		Ids: []string{ids["b1"], ids["b2"]}, Expiration: "1d",
	}).Do(ctx(t))
	if err != nil || ok.Errors != nil || len(ok.Updated) != 2 || ok.Noops == nil || len(ok.Noops) != 0 {
		t.Errorf("clean bulk update: %v %+v", err, ok)
	}
}

func TestInvalidateAPIKey(t *testing.T) {
	f := newFixture(t)
	ids := createKeys(t, f,
		createapikey.Request{Name: ptr("inv-1")},
		createapikey.Request{Name: ptr("inv-2")},
		createapikey.Request{Name: ptr("keep")},
	)
	byID, err := f.admin.Security.InvalidateApiKey().Request(&invalidateapikey.Request{Ids: []string{ids["inv-1"]}}).Do(ctx(t))
	if err != nil {
		t.Fatalf("InvalidateApiKey ids: %v", err)
	}
	f.strict(t, byID)
	if !slices.Equal(byID.InvalidatedApiKeys, []string{ids["inv-1"]}) || byID.PreviouslyInvalidatedApiKeys == nil ||
		len(byID.PreviouslyInvalidatedApiKeys) != 0 || byID.ErrorCount != 0 || byID.ErrorDetails != nil {
		t.Errorf("invalidate by id = %+v", byID)
	}
	byName, err := f.admin.Security.InvalidateApiKey().Request(&invalidateapikey.Request{Name: ptr("inv-*")}).Do(ctx(t))
	if err != nil || !slices.Equal(byName.InvalidatedApiKeys, []string{ids["inv-2"]}) {
		t.Errorf("invalidate by name prefix: %v %+v", err, byName)
	}
	again, err := f.admin.Security.InvalidateApiKey().Request(&invalidateapikey.Request{Ids: []string{ids["inv-1"]}}).Do(ctx(t))
	if err != nil || len(again.InvalidatedApiKeys) != 0 || again.ErrorCount != 0 {
		t.Errorf("re-invalidate: %v %+v", err, again)
	}

	// The invalidated key no longer authenticates; the kept one does.
	enc := keyEncoded(t, f, "self")
	self, err := f.withKey(t, enc).Security.Authenticate().Do(ctx(t))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	// An API key may invalidate itself by id.
	if r, err := f.withKey(t, enc).Security.InvalidateApiKey().Ids(self.ApiKey.Id).Do(ctx(t)); err != nil ||
		!slices.Equal(r.InvalidatedApiKeys, []string{self.ApiKey.Id}) {
		t.Fatalf("self-invalidate: %v %+v", err, r)
	}
	_, err = f.withKey(t, enc).Security.Authenticate().Do(ctx(t))
	ee := esError(t, err, 401, "security_exception")
	if !strings.Contains(string(ee.ErrorCause.Metadata["additional_unsuccessful_credentials"]), "invalidated") {
		t.Errorf("401 for an invalidated key lacks the reason: %s", ee.ErrorCause.Metadata)
	}

	owned, err := f.admin.Security.InvalidateApiKey().Owner(true).Do(ctx(t))
	if err != nil || !slices.Equal(owned.InvalidatedApiKeys, []string{ids["keep"]}) {
		t.Errorf("invalidate owner=true: %v %+v", err, owned)
	}
}
