package conformance

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/createapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/updateapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/indexprivilege"
)

// TestErrors checks that every error the emulator gives reaches the official
// client as a *types.ElasticsearchError with Elasticsearch's status, type,
// root cause and reason.
func TestErrors(t *testing.T) {
	f := newFixture(t)
	// A key that may only read an index: no cluster privilege at all.
	reader, err := f.admin.Security.CreateApiKey().Name("reader").RoleDescriptors(map[string]types.RoleDescriptor{
		"r": {Indices: []types.IndicesPrivileges{{Names: []string{"books"}, Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Read}}}},
	}).Do(ctx(t))
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}
	// A key with the admin's own privileges (no role descriptors).
	full, err := f.admin.Security.CreateApiKey().Name("full").Do(ctx(t))
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}
	// A key made by that key: owned by the API key realm, not by the admin.
	derived, err := f.withKey(t, full.Encoded).Security.CreateApiKey().Name("derived").
		RoleDescriptors(map[string]types.RoleDescriptor{"noop": {}}).Do(ctx(t))
	if err != nil {
		t.Fatalf("derived CreateApiKey with an empty descriptor: %v", err)
	}
	f.strict(t, derived)
	shortLived, err := f.admin.Security.CreateApiKey().Name("short").Expiration("1h").Do(ctx(t))
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}

	noAuth := f.typed(t, elasticsearch.Config{})
	unknownKey := f.withKey(t, base64.StdEncoding.EncodeToString([]byte("AAAAAAAAAAAAAAAAAAAA:not-a-secret")))
	wrongPassword := f.typed(t, elasticsearch.Config{Username: f.user, Password: "wrong"})

	tests := []struct {
		name   string
		call   func() error
		status int
		typ    string
		reason string // substring of the reason
		extra  string // substring of ErrorCause.Metadata rendered as JSON
	}{
		{"no credentials", func() error { _, err := noAuth.Security.Authenticate().Do(ctx(t)); return err },
			401, "security_exception", "missing authentication credentials for REST request [/_security/_authenticate]", "WWW-Authenticate"},
		{"unknown API key", func() error { _, err := unknownKey.Security.GetApiKey().Do(ctx(t)); return err },
			401, "security_exception", "unable to authenticate with provided credentials", "unable to find apikey with id AAAAAAAAAAAAAAAAAAAA"},
		{"wrong password", func() error { _, err := wrongPassword.Info().Do(ctx(t)); return err },
			401, "security_exception", "unable to authenticate user [" + f.user + "]", ""},
		{"key without cluster privileges creates a key", func() error {
			_, err := f.withKey(t, reader.Encoded).Security.CreateApiKey().Name("x").
				RoleDescriptors(map[string]types.RoleDescriptor{"noop": {}}).Do(ctx(t))
			return err
		}, 403, "security_exception", "action [cluster:admin/xpack/security/api_key/create] is unauthorized for API key id [" + reader.Id + "]", ""},
		{"key without cluster privileges lists keys", func() error {
			_, err := f.withKey(t, reader.Encoded).Security.GetApiKey().Name("*").Do(ctx(t))
			return err
		}, 403, "security_exception", "action [cluster:admin/xpack/security/api_key/get] is unauthorized", ""},
		{"name validation", func() error { _, err := f.admin.Security.CreateApiKey().Name("_hidden").Do(ctx(t)); return err },
			400, "action_request_validation_exception", "Validation Failed: 1: api key name may not begin with an underscore;", ""},
		{"metadata validation", func() error {
			_, err := f.admin.Security.CreateApiKey().Name("m").Metadata(md("_x", "y")).Do(ctx(t))
			return err
		}, 400, "action_request_validation_exception", "API key metadata keys may not start with [_]", ""},
		{"unknown privilege", func() error {
			_, err := f.admin.Security.CreateApiKey().Name("p").RoleDescriptors(map[string]types.RoleDescriptor{
				"r": {Indices: []types.IndicesPrivileges{{Names: []string{"i"}, Privileges: []indexprivilege.IndexPrivilege{{Name: "reed"}}}}},
			}).Do(ctx(t))
			return err
		}, 400, "action_request_validation_exception", "unknown index privilege [reed]", ""},
		{"unknown field", func() error {
			_, err := f.admin.Security.CreateApiKey().Raw(strings.NewReader(`{"name":"u","colour":"red"}`)).Do(ctx(t))
			return err
		}, 400, "x_content_parse_exception", "[api_key_request] unknown field [colour]", ""},
		{"update expiration not in the future", func() error {
			_, err := f.admin.Security.UpdateApiKey(full.Id).Request(&updateapikey.Request{Expiration: "0s"}).Do(ctx(t))
			return err
		}, 400, "action_request_validation_exception", "API key expiration must be in the future", ""},
		{"update of a key the admin does not own", func() error {
			_, err := f.admin.Security.UpdateApiKey(derived.Id).Request(&updateapikey.Request{Metadata: md("a", "b")}).Do(ctx(t))
			return err
		}, 404, "resource_not_found_exception", "no API key owned by requesting user found for ID [" + derived.Id + "]", ""},
		{"update of a missing key", func() error {
			_, err := f.admin.Security.UpdateApiKey("BBBBBBBBBBBBBBBBBBBB").Request(&updateapikey.Request{}).Do(ctx(t))
			return err
		}, 404, "resource_not_found_exception", "no API key owned by requesting user found for ID [BBBBBBBBBBBBBBBBBBBB]", ""},
		{"update with an API key", func() error {
			_, err := f.withKey(t, full.Encoded).Security.UpdateApiKey(full.Id).Request(&updateapikey.Request{Metadata: md("a", "b")}).Do(ctx(t))
			return err
		}, 400, "illegal_argument_exception", "authentication via API key not supported: only the owner user can update an API key", ""},
		{"derived key without role descriptors", func() error {
			_, err := f.withKey(t, full.Encoded).Security.CreateApiKey().Name("d2").Do(ctx(t))
			return err
		}, 400, "illegal_argument_exception", "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)", ""},
		{"derived key with privileges", func() error {
			_, err := f.withKey(t, full.Encoded).Security.CreateApiKey().Request(&createapikey.Request{
				Name: ptr("d3"), RoleDescriptors: map[string]types.RoleDescriptor{"r": booksReader()}}).Do(ctx(t))
			return err
		}, 400, "illegal_argument_exception", "creating derived api keys requires an explicit role descriptor that is empty", ""},
		{"get with id and name", func() error {
			_, err := f.admin.Security.GetApiKey().Id(full.Id).Name("full").Do(ctx(t))
			return err
		}, 400, "action_request_validation_exception", "only one of [api key id, api key name] can be specified", ""},
		{"invalidate without a selector", func() error {
			_, err := f.admin.Security.InvalidateApiKey().Raw(strings.NewReader(`{}`)).Do(ctx(t))
			return err
		}, 400, "action_request_validation_exception", "One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false", ""},
		{"bulk update with an empty id list", func() error {
			_, err := f.admin.Security.BulkUpdateApiKeys().Raw(strings.NewReader(`{"ids":[]}`)).Do(ctx(t))
			return err
		}, 400, "action_request_validation_exception", "Field [ids] cannot be empty", ""},
		{"query on a field that is not allowed", func() error {
			_, err := f.admin.Security.QueryApiKeys().Query(&types.ApiKeyQueryContainer{
				Term: map[string]types.TermQuery{"api_key_hash": {Value: "x"}}}).Do(ctx(t))
			return err
		}, 400, "illegal_argument_exception", "Field [api_key_hash] is not allowed for API Key query", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ee := esError(t, tc.call(), tc.status, tc.typ)
			f.strict(t, ee)
			if !strings.Contains(reason(ee.ErrorCause), tc.reason) {
				t.Errorf("reason = %q, want it to contain %q", reason(ee.ErrorCause), tc.reason)
			}
			if len(ee.ErrorCause.RootCause) != 1 || ee.ErrorCause.RootCause[0].Type == "" || reason(ee.ErrorCause.RootCause[0]) == "" {
				t.Errorf("root_cause = %+v, want one entry with type and reason", ee.ErrorCause.RootCause)
			}
			if tc.extra != "" {
				b, _ := json.Marshal(ee.ErrorCause.Metadata)
				if !strings.Contains(string(b), tc.extra) {
					t.Errorf("extra members %s, want them to mention %q", b, tc.extra)
				}
			}
			if tc.status == 401 {
				if h := f.rec.last(t).header.Values("WWW-Authenticate"); len(h) == 0 {
					t.Errorf("401 without WWW-Authenticate")
				}
			}
		})
	}

	t.Run("expired key", func(t *testing.T) {
		f.clock.Advance(2 * time.Hour)
		_, err := f.withKey(t, shortLived.Encoded).Security.Authenticate().Do(ctx(t))
		ee := esError(t, err, 401, "security_exception")
		if got := string(ee.ErrorCause.Metadata["additional_unsuccessful_credentials"]); !strings.Contains(got, "api key is expired") {
			t.Errorf("additional_unsuccessful_credentials = %s", got)
		}
		_, err = f.admin.Security.UpdateApiKey(shortLived.Id).Request(&updateapikey.Request{Metadata: md("a", "b")}).Do(ctx(t))
		ee = esError(t, err, 400, "illegal_argument_exception")
		if want := "cannot update expired API key [" + shortLived.Id + "]"; reason(ee.ErrorCause) != want {
			t.Errorf("reason = %q, want %q", reason(ee.ErrorCause), want)
		}
	})

	// The low-level client hands back the same body undecoded.
	t.Run("esapi", func(t *testing.T) {
		low, err := elasticsearch.NewClient(f.config(elasticsearch.Config{}))
		if err != nil {
			t.Fatal(err)
		}
		res, err := low.Security.Authenticate()
		if err != nil {
			t.Fatalf("esapi Authenticate: %v", err)
		}
		defer res.Body.Close()
		var ee types.ElasticsearchError
		if !res.IsError() || res.StatusCode != 401 || json.NewDecoder(res.Body).Decode(&ee) != nil ||
			ee.Status != 401 || ee.ErrorCause.Type != "security_exception" {
			t.Errorf("esapi 401: %d %+v", res.StatusCode, ee)
		}
	})
}
