package emulator_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
)

func TestFilterPath(t *testing.T) {
	env, pid := project(t, emulator.Options{})
	env.CreateAPIKey(t, pid, `{"name":"a","metadata":{"team":"x","deep":{"v":1}}}`)
	env.CreateAPIKey(t, pid, `{"name":"b"}`)

	cases := []struct {
		name, method, path, body string
		want                     string
	}{
		{"include leaf in array", "GET", "/_security/api_key?filter_path=api_keys.name", "",
			`{"api_keys":[{"name":"a"},{"name":"b"}]}`},
		{"wildcard name", "POST", "/_security/_query/api_key?filter_path=api_keys.na*,total", `{"sort":["name"]}`,
			`{"api_keys":[{"name":"a"},{"name":"b"}],"total":2}`},
		{"double wildcard", "POST", "/_security/_query/api_key?filter_path=**.team", `{"sort":["name"]}`,
			`{"api_keys":[{"metadata":{"team":"x"}}]}`},
		{"exclude", "POST", "/_security/_query/api_key?filter_path=-api_keys", `{}`,
			`{"count":2,"total":2}`},
		{"include then exclude", "POST", "/_security/_query/api_key?filter_path=api_keys.metadata,-**.deep", `{"sort":["name"]}`,
			`{"api_keys":[{"metadata":{"team":"x"}},{"metadata":{}}]}`},
		{"nothing left", "GET", "/_security/api_key?filter_path=nope", "", `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := env.ES(t, pid, tc.method, tc.path, body)
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var got, want any
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal([]byte(tc.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %s, want %s", r.Body, tc.want)
			}
		})
	}

	// Errors are never filtered.
	r := env.ES(t, pid, "PUT", "/_security/api_key/nope?filter_path=x", `{}`)
	wantESError(t, r, 404, "resource_not_found_exception", "nope")
}
