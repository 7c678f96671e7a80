package emulator_test

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
)

func TestQuerySimpleQueryString(t *testing.T) {
	env, pid := project(t, emulator.Options{})
	for _, k := range []string{
		`{"name":"svc-alpha","metadata":{"env":"prod","owner":{"team":"search"}}}`,
		`{"name":"svc-beta","metadata":{"env":"dev"}}`,
		`{"name":"other","metadata":{"env":"dev","note":"a b"}}`,
	} {
		env.CreateAPIKey(t, pid, k)
	}
	cases := []struct {
		name, sqs string
		want      []string
	}{
		{"terms are ORed", `{"query":"svc-alpha other","fields":["name"]}`, []string{"other", "svc-alpha"}},
		{"prefix", `{"query":"svc-*","fields":["name"]}`, []string{"svc-alpha", "svc-beta"}},
		{"all fields by default", `{"query":"prod"}`, []string{"svc-alpha"}},
		{"case-sensitive keywords", `{"query":"PROD"}`, []string{}},
		{"metadata pattern", `{"query":"search","fields":["metadata.*"]}`, []string{"svc-alpha"}},
		{"phrase is one value", `{"query":"\"a b\"","fields":["metadata.note"]}`, []string{"other"}},
		{"AND with NOT", `{"query":"svc-* -svc-beta","fields":["name"],"default_operator":"and"}`, []string{"svc-alpha"}},
		{"OR with NOT is the Lucene trap", `{"query":"svc-alpha -svc-beta","fields":["name"]}`, []string{"other", "svc-alpha"}},
		{"explicit operators and groups", `{"query":"(svc-alpha | svc-beta) + dev","fields":["name","metadata.env"]}`, []string{"svc-beta"}},
		{"boolean field", `{"query":"false","fields":["invalidated"]}`, []string{"other", "svc-alpha", "svc-beta"}},
		{"empty query matches nothing", `{"query":"  "}`, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := env.ES(t, pid, "POST", "/_security/_query/api_key", `{"query":{"simple_query_string":`+tc.sqs+`}}`)
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var body struct {
				Total   int `json:"total"`
				APIKeys []struct {
					Name string `json:"name"`
				} `json:"api_keys"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, k := range body.APIKeys {
				got = append(got, k.Name)
			}
			sort.Strings(got)
			if !slices.Equal(got, tc.want) || body.Total != len(tc.want) {
				t.Errorf("got %v (total %d), want %v", got, body.Total, tc.want)
			}
		})
	}
	r := env.ES(t, pid, "POST", "/_security/_query/api_key", `{"query":{"simple_query_string":{"query":"x","fields":["api_key_hash"]}}}`)
	wantESError(t, r, 400, "illegal_argument_exception", "Field [api_key_hash] is not allowed")
	r = env.ES(t, pid, "POST", "/_security/_query/api_key", `{"query":{"simple_query_string":{"query":"x","colour":1}}}`)
	wantESError(t, r, 400, "parsing_exception", "[simple_query_string] unsupported field [colour]")
}
