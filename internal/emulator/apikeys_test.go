package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

type keyJSON struct {
	ID              string                    `json:"id"`
	Name            string                    `json:"name"`
	Type            string                    `json:"type"`
	Creation        int64                     `json:"creation"`
	Expiration      *int64                    `json:"expiration"`
	Invalidated     bool                      `json:"invalidated"`
	Invalidation    *int64                    `json:"invalidation"`
	Username        string                    `json:"username"`
	Realm           string                    `json:"realm"`
	Metadata        map[string]any            `json:"metadata"`
	RoleDescriptors map[string]map[string]any `json:"role_descriptors"`
	LimitedBy       []map[string]any          `json:"limited_by"`
	Sort            []any                     `json:"_sort"`
}

// project starts an emulator with one initialized project.
func project(t *testing.T, opts emulator.Options) (*emulatortest.Env, string) {
	t.Helper()
	env := emulatortest.Start(t, opts)
	id, _, _, _ := env.CreateProject(t, "elasticsearch", `{"name":"keys","region_id":"aws-us-east-1"}`)
	env.WaitInitialized(t, "elasticsearch", id)
	return env, id
}

func getKeys(t *testing.T, env *emulatortest.Env, pid, query string) (int, []keyJSON) {
	t.Helper()
	r := env.ES(t, pid, "GET", "/_security/api_key"+query, nil)
	var body struct {
		APIKeys []keyJSON `json:"api_keys"`
	}
	r.JSON(t, &body)
	return r.Status, body.APIKeys
}

func TestCreateKeyAndReadBackWithDefaults(t *testing.T) {
	clk := newClock()
	env, pid := project(t, emulator.Options{Clock: clk.Now})
	r := env.ES(t, pid, "POST", "/_security/api_key", `{
		"name":"books-reader","expiration":"30d","metadata":{"team":"books","n":1,"nested":{"a":[1,2]}},
		"role_descriptors":{"reader":{"index":[{"names":"books","privileges":["read"],"query":{"term":{"public":true}},"field_security":{"grant":["*"]}}],
		"transient_metadata":{"enabled":false}}}}`)
	if r.Status != 200 || r.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var created struct {
		ID, Name, APIKey, Encoded string
		Expiration                int64
	}
	var raw map[string]json.RawMessage
	r.JSON(t, &raw)
	json.Unmarshal(raw["id"], &created.ID)
	json.Unmarshal(raw["api_key"], &created.APIKey)
	json.Unmarshal(raw["encoded"], &created.Encoded)
	json.Unmarshal(raw["expiration"], &created.Expiration)
	if len(created.ID) != 20 || len(created.APIKey) != 22 {
		t.Fatalf("id/api_key lengths: %s", r.Body)
	}
	if created.Encoded != base64.StdEncoding.EncodeToString([]byte(created.ID+":"+created.APIKey)) {
		t.Fatalf("encoded is not base64(id:api_key)")
	}
	now := clk.Now().UnixMilli()
	if created.Expiration != now+30*24*3600*1000 {
		t.Fatalf("expiration %d, want now+30d %d", created.Expiration, now+30*24*3600*1000)
	}
	if !strings.HasPrefix(string(r.Body), `{"id":`) {
		t.Fatalf("field order: %s", r.Body)
	}

	st, keys := getKeys(t, env, pid, "?id="+created.ID+"&with_limited_by=true")
	if st != 200 || len(keys) != 1 {
		t.Fatalf("get: %d %v", st, keys)
	}
	k := keys[0]
	if k.Type != "rest" || k.Creation != now || k.Invalidated || k.Username != "admin" || k.Realm == "" || k.Metadata["team"] != "books" {
		t.Fatalf("key: %+v", k)
	}
	rd := k.RoleDescriptors["reader"]
	want := map[string]any{
		"cluster": []any{}, "applications": []any{}, "run_as": []any{}, "metadata": map[string]any{},
		"transient_metadata": map[string]any{"enabled": true},
		"indices": []any{map[string]any{"names": []any{"books"}, "privileges": []any{"read"},
			"field_security": map[string]any{"grant": []any{"*"}}, "query": `{"term":{"public":true}}`, "allow_restricted_indices": false}},
	}
	if !reflect.DeepEqual(rd, want) {
		got, _ := json.Marshal(rd)
		t.Fatalf("role descriptor read back:\n got %s", got)
	}
	if len(k.LimitedBy) != 1 || k.LimitedBy[0]["superuser"] == nil {
		t.Fatalf("limited_by: %v", k.LimitedBy)
	}
	// Without with_limited_by there is none.
	if _, keys = getKeys(t, env, pid, "?id="+created.ID); keys[0].LimitedBy != nil {
		t.Fatal("limited_by without with_limited_by")
	}
	// No descriptors: {}.
	id2, _ := env.CreateAPIKey(t, pid, `{"name":"inherit"}`)
	if _, keys = getKeys(t, env, pid, "?id="+id2); keys[0].RoleDescriptors == nil || len(keys[0].RoleDescriptors) != 0 || keys[0].Expiration != nil {
		t.Fatalf("inheriting key: %+v", keys[0])
	}
	// A sub-second expiration expires at creation time.
	r = env.ES(t, pid, "POST", "/_security/api_key", `{"name":"short","expiration":"500ms"}`)
	var short map[string]any
	r.JSON(t, &short)
	if int64(short["expiration"].(float64)) != now {
		t.Fatalf("500ms expiration: %v (now %d)", short["expiration"], now)
	}
}

func TestKeyAuthenticationAndLifecycle(t *testing.T) {
	clk := newClock()
	env, pid := project(t, emulator.Options{Clock: clk.Now})
	id, enc := env.CreateAPIKey(t, pid, `{"name":"k","expiration":"1h"}`)
	keyAuth := "ApiKey " + enc
	r := env.Do(t, "GET", env.ESURL(pid, "/_security/_authenticate"), keyAuth, nil)
	auth := decode[map[string]any](t, r)
	if r.Status != 200 || auth["authentication_type"] != "api_key" || auth["api_key"].(map[string]any)["id"] != id || auth["username"] != "admin" {
		t.Fatalf("authenticate with key: %d %s", r.Status, r.Body)
	}
	// Cluster info with the key (inherits superuser).
	r = env.Do(t, "GET", env.ESURL(pid, "/"), keyAuth, nil)
	info := decode[map[string]any](t, r)
	if r.Status != 200 || info["version"].(map[string]any)["build_flavor"] != "serverless" {
		t.Fatalf("info: %d %s", r.Status, r.Body)
	}
	// Expiry: an expired key no longer authenticates but stays visible.
	clk.Advance(time.Hour + time.Second)
	e := wantESError(t, env.Do(t, "GET", env.ESURL(pid, "/_security/_authenticate"), keyAuth, nil), 401, "security_exception", "unable to authenticate")
	if !strings.Contains(string(mustJSON(e.Error.RootCause)), "api key is expired") {
		t.Fatalf("expired reason: %v", e.Error.RootCause)
	}
	if _, keys := getKeys(t, env, pid, "?id="+id); len(keys) != 1 || keys[0].Invalidated {
		t.Fatalf("expired key must stay visible: %v", keys)
	}
	if _, keys := getKeys(t, env, pid, "?active_only=true"); len(keys) != 0 {
		t.Fatalf("active_only must drop expired keys: %v", keys)
	}
	// Cannot be updated.
	wantESError(t, env.ES(t, pid, "PUT", "/_security/api_key/"+id, `{"metadata":{}}`), 400, "illegal_argument_exception", "cannot update expired API key ["+id+"]")

	// Invalidation.
	id2, enc2 := env.CreateAPIKey(t, pid, `{"name":"k2"}`)
	r = env.ES(t, pid, "DELETE", "/_security/api_key", `{"ids":["`+id2+`"]}`)
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"error_count":0,"invalidated_api_keys":["`+id2+`"],"previously_invalidated_api_keys":[]}` {
		t.Fatalf("invalidate: %d %s", r.Status, r.Body)
	}
	e = wantESError(t, env.Do(t, "GET", env.ESURL(pid, "/_security/_authenticate"), "ApiKey "+enc2, nil), 401, "security_exception", "unable to authenticate")
	if !strings.Contains(string(mustJSON(e.Error.RootCause)), "has been invalidated") {
		t.Fatalf("invalidated reason: %s", mustJSON(e.Error.RootCause))
	}
	if _, keys := getKeys(t, env, pid, "?id="+id2); len(keys) != 1 || !keys[0].Invalidated || keys[0].Invalidation == nil {
		t.Fatalf("invalidated key must stay visible with invalidated:true: %+v", keys)
	}
	wantESError(t, env.ES(t, pid, "PUT", "/_security/api_key/"+id2, `{}`), 400, "illegal_argument_exception", "cannot update invalidated API key")
	// Re-invalidating: empty lists, never 404.
	r = env.ES(t, pid, "DELETE", "/_security/api_key", `{"ids":["`+id2+`"]}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"invalidated_api_keys":[]`) {
		t.Fatalf("re-invalidate: %d %s", r.Status, r.Body)
	}
	// After the 7-day retention both are gone.
	clk.Advance(8 * 24 * time.Hour)
	if st, keys := getKeys(t, env, pid, "?id="+id2); st != 404 || len(keys) != 0 {
		t.Fatalf("retention: %d %v", st, keys)
	}
	// Unknown and garbage keys.
	bogus := base64.StdEncoding.EncodeToString([]byte("nope:secret"))
	e = wantESError(t, env.Do(t, "GET", env.ESURL(pid, "/"), "ApiKey "+bogus, nil), 401, "security_exception", "unable to authenticate")
	if !strings.Contains(string(mustJSON(e.Error.RootCause)), "unable to find apikey with id nope") {
		t.Fatalf("unknown key reason: %s", mustJSON(e.Error.RootCause))
	}
	r = env.Do(t, "GET", env.ESURL(pid, "/_security/api_key"), "", nil)
	wantESError(t, r, 401, "security_exception", "missing authentication credentials for REST request [/_security/api_key]")
	if len(r.Header.Values("WWW-Authenticate")) != 3 {
		t.Fatalf("WWW-Authenticate: %v", r.Header)
	}
	// A key of another project does not authenticate here.
	pid2, _, _, _ := env.CreateProject(t, "elasticsearch", `{"name":"other","region_id":"aws-us-east-1"}`)
	_, enc3 := env.CreateAPIKey(t, pid2, `{"name":"elsewhere"}`)
	wantESError(t, env.Do(t, "GET", env.ESURL(pid, "/"), "ApiKey "+enc3, nil), 401, "security_exception", "unable to authenticate")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestESRefusedBeforeInitializedAndForUnknownProject(t *testing.T) {
	clk := newClock()
	env := emulatortest.Start(t, emulator.Options{Clock: clk.Now, InitDelay: 3 * time.Second})
	id, _, _, _ := env.CreateProject(t, "elasticsearch", `{"name":"p","region_id":"aws-us-east-1"}`)
	r := env.ES(t, id, "GET", "/", nil)
	if r.Status != 503 || !strings.Contains(string(r.Body), "initializing") || r.Header.Get("X-Elastic-Product") != "" {
		t.Fatalf("before initialized: %d %s", r.Status, r.Body)
	}
	clk.Advance(3 * time.Second)
	if r := env.ES(t, id, "GET", "/", nil); r.Status != 200 {
		t.Fatalf("after initialized: %d %s", r.Status, r.Body)
	}
	r = env.Do(t, "GET", env.URL+"/es/doesnotexist/", "", nil)
	if r.Status != 404 || !strings.Contains(string(r.Body), "Unknown resource") {
		t.Fatalf("unknown project: %d %s", r.Status, r.Body)
	}
	// Unknown route and wrong method, in Elasticsearch's words.
	r = env.ES(t, id, "GET", "/_security/api_key/_bulk_update", nil)
	if r.Status != 405 || !strings.Contains(string(r.Body), "Incorrect HTTP method for uri [/_security/api_key/_bulk_update] and method [GET], allowed: [POST") {
		t.Fatalf("405: %d %s", r.Status, r.Body)
	}
	r = env.ES(t, id, "GET", "/_cat/indices", nil)
	if r.Status != 400 || !strings.Contains(string(r.Body), "no handler found for uri [/_cat/indices]") {
		t.Fatalf("no handler: %d %s", r.Status, r.Body)
	}
	// Deleting a project takes its Elasticsearch with it.
	env.Cloud(t, "DELETE", projects+"elasticsearch/"+id, nil)
	if r := env.ES(t, id, "GET", "/", nil); r.Status != 404 {
		t.Fatalf("deleted project ES: %d %s", r.Status, r.Body)
	}
}

func TestCreateKeyValidation(t *testing.T) {
	env, pid := project(t, emulator.Options{})
	cases := []struct {
		name, body, typ, reason string
	}{
		{"no body", ``, "parse_exception", "request body is required"},
		{"missing name", `{}`, "action_request_validation_exception", "Validation Failed: 1: api key name is required;"},
		{"underscore name", `{"name":"_x"}`, "action_request_validation_exception", "api key name may not begin with an underscore"},
		{"whitespace name", `{"name":" x"}`, "action_request_validation_exception", "may not begin or end with whitespace"},
		{"long name", `{"name":"` + strings.Repeat("n", 257) + `"}`, "action_request_validation_exception", "more than 256"},
		{"unknown field", `{"name":"x","foo":1}`, "x_content_parse_exception", "[1:13] [api_key_request] unknown field [foo]"},
		{"name type", `{"name":{}}`, "x_content_parse_exception", "name doesn't support values of type: START_OBJECT"},
		{"bad expiration", `{"name":"x","expiration":"1w"}`, "x_content_parse_exception", "failed to parse field [expiration]"},
		{"metadata underscore", `{"name":"x","metadata":{"_a":1}}`, "action_request_validation_exception", "API key metadata keys may not start with [_]"},
		{"two problems", `{"metadata":{"_a":1}}`, "action_request_validation_exception", "1: api key name is required;2: API key metadata keys may not start with [_];"},
		{"unknown cluster priv", `{"name":"x","role_descriptors":{"r":{"cluster":["fly"]}}}`, "action_request_validation_exception", "unknown cluster privilege [fly]"},
		{"unknown index priv", `{"name":"x","role_descriptors":{"r":{"indices":[{"names":["a"],"privileges":["swim"]}]}}}`, "action_request_validation_exception", "unknown index privilege [swim]"},
		{"description", `{"name":"x","role_descriptors":{"r":{"description":"d"}}}`, "parse_exception", "failed to parse role [r]. unexpected field [description]"},
		{"missing names", `{"name":"x","role_descriptors":{"r":{"indices":[{"privileges":["read"]}]}}}`, "parse_exception", "missing required [names] field"},
		{"except without grant", `{"name":"x","role_descriptors":{"r":{"indices":[{"names":"a","privileges":["read"],"field_security":{"except":["b"]}}]}}}`, "parse_exception", "field_security requires grant if except is given"},
		{"run_as", `{"name":"x","role_descriptors":{"r":{"run_as":["bob"]}}}`, "action_request_validation_exception", "run_as"},
		{"rd metadata underscore", `{"name":"x","role_descriptors":{"r":{"metadata":{"_m":1}}}}`, "action_request_validation_exception", "role descriptor metadata keys may not start with [_]"},
		{"two restrictions", `{"name":"x","role_descriptors":{"a":{"restriction":{"workflows":["search_application_query"]}},"b":{"restriction":{"workflows":["search_application_query"]}}}}`, "illegal_argument_exception", "more than one role descriptor with restriction"},
		{"mixed restriction", `{"name":"x","role_descriptors":{"a":{"restriction":{"workflows":["search_application_query"]}},"b":{}}}`, "illegal_argument_exception", "combining role descriptors with and without restriction"},
		{"bad workflow", `{"name":"x","role_descriptors":{"a":{"restriction":{"workflows":["fly"]}}}}`, "illegal_argument_exception", "Unknown workflow [fly]"},
		{"duplicate field", `{"name":"x","name":"y"}`, "x_content_parse_exception", "Duplicate field 'name'"},
		{"not json", `{"name":`, "x_content_parse_exception", "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantESError(t, env.ES(t, pid, "POST", "/_security/api_key", c.body), 400, c.typ, c.reason)
		})
	}
	wantESError(t, env.ES(t, pid, "POST", "/_security/api_key?colour=red", `{"name":"x"}`), 400, "illegal_argument_exception",
		"request [/_security/api_key] contains unrecognized parameter: [colour]")
	// PUT works like POST; a raw cluster action pattern is a valid privilege.
	if r := env.ES(t, pid, "PUT", "/_security/api_key?refresh=wait_for", `{"name":"x","role_descriptors":{"r":{"cluster":["cluster:monitor/*"]}}}`); r.Status != 200 {
		t.Fatalf("PUT create: %d %s", r.Status, r.Body)
	}
	// Names are not unique.
	env.CreateAPIKey(t, pid, `{"name":"same"}`)
	env.CreateAPIKey(t, pid, `{"name":"same"}`)
	if _, keys := getKeys(t, env, pid, "?name=same"); len(keys) != 2 {
		t.Fatalf("same-name keys: %d", len(keys))
	}
}

func TestDerivedKeyRuleAndKeyCallers(t *testing.T) {
	env, pid := project(t, emulator.Options{})
	id, enc := env.CreateAPIKey(t, pid, `{"name":"parent"}`)
	auth := "ApiKey " + enc
	for _, body := range []string{`{"name":"d"}`, `{"name":"d","role_descriptors":{}}`, `{"name":"d","role_descriptors":{"r":{"cluster":["monitor"]}}}`} {
		wantESError(t, env.Do(t, "POST", env.ESURL(pid, "/_security/api_key"), auth, body), 400, "illegal_argument_exception",
			"creating derived api keys requires an explicit role descriptor that is empty (has no privileges)")
	}
	r := env.Do(t, "POST", env.ESURL(pid, "/_security/api_key"), auth, `{"name":"derived","role_descriptors":{"noop":{}}}`)
	if r.Status != 200 {
		t.Fatalf("derived: %d %s", r.Status, r.Body)
	}
	derived := decode[map[string]any](t, r)
	_, keys := getKeys(t, env, pid, "?id="+derived["id"].(string))
	if want := map[string]any{"cluster": []any{}, "indices": []any{}, "applications": []any{}, "run_as": []any{}, "metadata": map[string]any{}, "transient_metadata": map[string]any{"enabled": true}}; !reflect.DeepEqual(keys[0].RoleDescriptors["noop"], want) {
		t.Fatalf("empty descriptor read back: %v", keys[0].RoleDescriptors)
	}
	// API-key callers cannot update, even their own keys.
	wantESError(t, env.Do(t, "PUT", env.ESURL(pid, "/_security/api_key/"+id), auth, `{}`), 400, "illegal_argument_exception",
		"authentication via API key not supported: only the owner user can update an API key")
	wantESError(t, env.Do(t, "POST", env.ESURL(pid, "/_security/api_key/_bulk_update"), auth, `{"ids":["`+id+`"]}`), 400, "illegal_argument_exception",
		"authentication via API key not supported")
	// The derived key has no privileges: 403, except reading itself.
	denc := derived["encoded"].(string)
	wantESError(t, env.Do(t, "GET", env.ESURL(pid, "/_security/api_key"), "ApiKey "+denc, nil), 403, "security_exception",
		"action [cluster:admin/xpack/security/api_key/get] is unauthorized for API key id ["+derived["id"].(string)+"] of user [admin]")
	if r := env.Do(t, "GET", env.ESURL(pid, "/_security/api_key?id="+derived["id"].(string)), "ApiKey "+denc, nil); r.Status != 200 {
		t.Fatalf("a key reads itself: %d %s", r.Status, r.Body)
	}
	wantESError(t, env.Do(t, "GET", env.ESURL(pid, "/"), "ApiKey "+denc, nil), 403, "security_exception", "cluster:monitor/main")
	// The admin cannot update the derived key: it is owned by the API key.
	wantESError(t, env.ES(t, pid, "PUT", "/_security/api_key/"+derived["id"].(string), `{}`), 404, "resource_not_found_exception",
		"no API key owned by requesting user found for ID")
	// A manage_own_api_key key sees only itself in queries.
	_, ownEnc := env.CreateAPIKey(t, pid, `{"name":"own","role_descriptors":{"r":{"cluster":["manage_own_api_key"]}}}`)
	r = env.Do(t, "POST", env.ESURL(pid, "/_security/_query/api_key"), "ApiKey "+ownEnc, `{}`)
	q := decode[map[string]any](t, r)
	if r.Status != 200 || q["total"] != 1.0 {
		t.Fatalf("own-only query: %d %s", r.Status, r.Body)
	}
	wantESError(t, env.Do(t, "POST", env.ESURL(pid, "/_security/_query/api_key?with_limited_by=true"), "ApiKey "+ownEnc, `{}`), 403, "security_exception", "unauthorized")
	// It may invalidate only itself.
	wantESError(t, env.Do(t, "DELETE", env.ESURL(pid, "/_security/api_key"), "ApiKey "+ownEnc, `{"ids":["`+id+`"]}`), 403, "security_exception", "api_key/invalidate")
	// A manage_api_key key sees everything.
	_, mgrEnc := env.CreateAPIKey(t, pid, `{"name":"mgr","role_descriptors":{"r":{"cluster":["manage_api_key"]}}}`)
	r = env.Do(t, "POST", env.ESURL(pid, "/_security/_query/api_key"), "ApiKey "+mgrEnc, `{"size":100}`)
	if q = decode[map[string]any](t, r); q["total"] != 4.0 {
		t.Fatalf("manage_api_key query: %s", r.Body)
	}
}

func TestGetKeysParams(t *testing.T) {
	env, pid := project(t, emulator.Options{})
	a, _ := env.CreateAPIKey(t, pid, `{"name":"ci-one"}`)
	env.CreateAPIKey(t, pid, `{"name":"ci-two"}`)
	env.CreateAPIKey(t, pid, `{"name":"other"}`)
	cases := []struct {
		q      string
		status int
		n      int
	}{
		{"", 200, 3}, {"?name=ci-*", 200, 2}, {"?name=*", 200, 3}, {"?name=ci-one", 200, 1}, {"?name=nope", 200, 0},
		{"?owner=true", 200, 3}, {"?owner", 200, 3}, {"?username=admin&realm_name=default_file", 200, 3}, {"?username=bob", 200, 0},
		{"?id=" + a, 200, 1}, {"?id=missing", 404, 0},
	}
	for _, c := range cases {
		r := env.ES(t, pid, "GET", "/_security/api_key"+c.q, nil)
		var body struct {
			APIKeys []keyJSON `json:"api_keys"`
		}
		r.JSON(t, &body)
		if r.Status != c.status || len(body.APIKeys) != c.n || body.APIKeys == nil {
			t.Fatalf("GET %s: %d %s", c.q, r.Status, r.Body)
		}
	}
	if r := env.ES(t, pid, "GET", "/_security/api_key?id=missing", nil); strings.TrimSpace(string(r.Body)) != `{"api_keys":[]}` {
		t.Fatalf("404 quirk body: %s", r.Body)
	}
	bad := []struct{ q, reason string }{
		{"?id=x&username=admin", "username or realm name must not be specified when the api key id or api key name is specified"},
		{"?owner=true&realm_name=x", "neither username nor realm-name may be specified when retrieving owned API keys"},
		{"?id=x&name=y", "only one of [api key id, api key name] can be specified"},
	}
	for _, b := range bad {
		wantESError(t, env.ES(t, pid, "GET", "/_security/api_key"+b.q, nil), 400, "action_request_validation_exception", b.reason)
	}
	wantESError(t, env.ES(t, pid, "GET", "/_security/api_key?owner=maybe", nil), 400, "illegal_argument_exception", "only [true] or [false]")
	wantESError(t, env.ES(t, pid, "GET", "/_security/api_key?ids=x", nil), 400, "illegal_argument_exception", "unrecognized parameter: [ids]")
}

func TestUpdateKeys(t *testing.T) {
	clk := newClock()
	env, pid := project(t, emulator.Options{Clock: clk.Now})
	id, _ := env.CreateAPIKey(t, pid, `{"name":"u","metadata":{"a":1},"role_descriptors":{"r1":{"cluster":["monitor"]},"r2":{"indices":[{"names":["x"],"privileges":["read"]}]}}}`)
	upd := func(body string) (int, string) {
		r := env.ES(t, pid, "PUT", "/_security/api_key/"+id, body)
		return r.Status, strings.TrimSpace(string(r.Body))
	}
	if st, b := upd(``); st != 200 || b != `{"updated":false}` {
		t.Fatalf("empty update is a noop: %d %s", st, b)
	}
	// Same descriptors (written differently) and same metadata: noop.
	if st, b := upd(`{"metadata":{"a":1},"role_descriptors":{"r2":{"index":[{"names":"x","privileges":["read"]}]},"r1":{"cluster":["monitor"]}}}`); st != 200 || b != `{"updated":false}` {
		t.Fatalf("equal update: %d %s", st, b)
	}
	if st, b := upd(`{"metadata":{"a":2}}`); b != `{"updated":true}` {
		t.Fatalf("metadata update: %d %s", st, b)
	}
	clk.Advance(time.Minute)
	if _, b := upd(`{"expiration":"1d"}`); b != `{"updated":true}` {
		t.Fatalf("expiration update: %s", b)
	}
	_, keys := getKeys(t, env, pid, "?id="+id)
	if k := keys[0]; k.Metadata["a"] != 2.0 || *k.Expiration != clk.Now().UnixMilli()+86400000 || len(k.RoleDescriptors) != 2 {
		t.Fatalf("after updates: %+v", k)
	}
	// role_descriptors {} clears; name is not updatable.
	upd(`{"role_descriptors":{}}`)
	if _, keys = getKeys(t, env, pid, "?id="+id); len(keys[0].RoleDescriptors) != 0 {
		t.Fatalf("clearing descriptors: %v", keys[0].RoleDescriptors)
	}
	wantESError(t, env.ES(t, pid, "PUT", "/_security/api_key/"+id, `{"name":"n"}`), 400, "x_content_parse_exception", "[update_api_key_request_payload] unknown field [name]")
	wantESError(t, env.ES(t, pid, "PUT", "/_security/api_key/"+id, `{"expiration":"0"}`), 400, "action_request_validation_exception", "API key expiration must be in the future")
	wantESError(t, env.ES(t, pid, "PUT", "/_security/api_key/missing", `{}`), 404, "resource_not_found_exception", "no API key owned by requesting user found for ID [missing]")

	// Bulk.
	id2, _ := env.CreateAPIKey(t, pid, `{"name":"u2"}`)
	inv, _ := env.CreateAPIKey(t, pid, `{"name":"gone"}`)
	env.ES(t, pid, "DELETE", "/_security/api_key", `{"ids":["`+inv+`"]}`)
	r := env.ES(t, pid, "POST", "/_security/api_key/_bulk_update", `{"ids":["`+id+`","`+id2+`","`+inv+`","nope"],"metadata":{"team":"x"}}`)
	var bulk struct {
		Updated []string `json:"updated"`
		Noops   []string `json:"noops"`
		Errors  struct {
			Count   int                       `json:"count"`
			Details map[string]map[string]any `json:"details"`
		} `json:"errors"`
	}
	r.JSON(t, &bulk)
	if r.Status != 200 || len(bulk.Updated) != 2 || bulk.Errors.Count != 2 ||
		bulk.Errors.Details["nope"]["type"] != "resource_not_found_exception" || bulk.Errors.Details[inv]["type"] != "illegal_argument_exception" {
		t.Fatalf("bulk: %d %s", r.Status, r.Body)
	}
	r = env.ES(t, pid, "POST", "/_security/api_key/_bulk_update", `{"ids":"`+id+`","metadata":{"team":"x"}}`)
	if b := strings.TrimSpace(string(r.Body)); b != `{"noops":["`+id+`"],"updated":[]}` {
		t.Fatalf("bulk noop (no errors key): %s", b)
	}
	wantESError(t, env.ES(t, pid, "POST", "/_security/api_key/_bulk_update", `{"ids":[]}`), 400, "action_request_validation_exception", "Field [ids] cannot be empty")
	wantESError(t, env.ES(t, pid, "POST", "/_security/api_key/_bulk_update", `{"metadata":{}}`), 400, "x_content_parse_exception", "Required [ids]")
}

func TestInvalidateValidationAndFilters(t *testing.T) {
	env, pid := project(t, emulator.Options{})
	env.CreateAPIKey(t, pid, `{"name":"ci-a"}`)
	env.CreateAPIKey(t, pid, `{"name":"ci-b"}`)
	env.CreateAPIKey(t, pid, `{"name":"keep"}`)
	bad := []struct{ body, typ, reason string }{
		{``, "parse_exception", "request body is required"},
		{`{}`, "action_request_validation_exception", "One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false"},
		{`{"ids":["a"],"username":"u"}`, "action_request_validation_exception", "username or realm name must not be specified when the api key id(s) or api key name are specified"},
		{`{"owner":true,"realm_name":"r"}`, "action_request_validation_exception", "neither username nor realm-name may be specified when invalidating owned API keys"},
		{`{"ids":["a"],"name":"b"}`, "action_request_validation_exception", "only one of [api key id(s), api key name] can be specified"},
		{`{"ids":[]}`, "action_request_validation_exception", "Field [ids] cannot be an empty array"},
		{`{"ids":["a"," "]}`, "action_request_validation_exception", "blank id at index position: [1]"},
		{`{"id":"a"}`, "x_content_parse_exception", "[invalidate_api_key] unknown field [id]"},
	}
	for _, b := range bad {
		wantESError(t, env.ES(t, pid, "DELETE", "/_security/api_key", b.body), 400, b.typ, b.reason)
	}
	r := env.ES(t, pid, "DELETE", "/_security/api_key", `{"name":"ci-*"}`)
	var inv struct {
		Invalidated []string `json:"invalidated_api_keys"`
	}
	r.JSON(t, &inv)
	if len(inv.Invalidated) != 2 {
		t.Fatalf("name prefix: %s", r.Body)
	}
	r = env.ES(t, pid, "DELETE", "/_security/api_key", `{"owner":"true"}`)
	if r.JSON(t, &inv); len(inv.Invalidated) != 1 {
		t.Fatalf("owner: %s", r.Body)
	}
}
