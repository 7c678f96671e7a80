package emulator_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator"
)

func TestQueryDSL(t *testing.T) {
	clk := newClock()
	env, pid := project(t, emulator.Options{Clock: clk.Now})
	// Keys created one minute apart: k0 oldest.
	ids := map[string]string{}
	specs := []struct{ name, body string }{
		{"ci-ingest", `"metadata":{"slsync_owner":"platform","slsync_key":"ingest","env":{"tier":"prod"},"n":3},"expiration":"10d"`},
		{"ci-search", `"metadata":{"slsync_owner":"platform","slsync_key":"search","flag":true}`},
		{"personal", `"metadata":{"team":"Books"}`},
		{"old", `"metadata":{"slsync_owner":"other"},"expiration":"1h"`},
	}
	for _, s := range specs {
		id, _ := env.CreateAPIKey(t, pid, `{"name":"`+s.name+`",`+s.body+`}`)
		ids[s.name] = id
		clk.Advance(time.Minute)
	}
	env.ES(t, pid, "DELETE", "/_security/api_key", `{"ids":["`+ids["personal"]+`"]}`)
	clk.Advance(2 * time.Hour) // "old" is now expired
	created0 := newClock().Now().UnixMilli()

	cases := []struct {
		name, query string
		want        []string // names, any order unless sorted
	}{
		{"match_all", `{"match_all":{}}`, []string{"ci-ingest", "ci-search", "personal", "old"}},
		{"term metadata", `{"term":{"metadata.slsync_owner":"platform"}}`, []string{"ci-ingest", "ci-search"}},
		{"term object form", `{"term":{"metadata.slsync_owner":{"value":"PLATFORM","case_insensitive":true}}}`, []string{"ci-ingest", "ci-search"}},
		{"term is case-sensitive", `{"term":{"metadata.slsync_owner":"Platform"}}`, nil},
		{"nested metadata path", `{"term":{"metadata.env.tier":"prod"}}`, []string{"ci-ingest"}},
		{"numeric metadata as keyword", `{"term":{"metadata.n":3}}`, []string{"ci-ingest"}},
		{"boolean metadata", `{"term":{"metadata.flag":"true"}}`, []string{"ci-search"}},
		{"any metadata value", `{"term":{"metadata":"Books"}}`, []string{"personal"}},
		{"terms", `{"terms":{"name":["old","personal","nope"]}}`, []string{"old", "personal"}},
		{"match", `{"match":{"name":{"query":"old"}}}`, []string{"old"}},
		{"prefix", `{"prefix":{"name":"ci-"}}`, []string{"ci-ingest", "ci-search"}},
		{"wildcard", `{"wildcard":{"name":{"value":"*-s?arch"}}}`, []string{"ci-search"}},
		{"wildcard short form", `{"wildcard":{"name":"p*l"}}`, []string{"personal"}},
		{"exists expiration", `{"exists":{"field":"expiration"}}`, []string{"ci-ingest", "old"}},
		{"exists metadata key", `{"exists":{"field":"metadata.team"}}`, []string{"personal"}},
		{"invalidated", `{"term":{"invalidated":true}}`, []string{"personal"}},
		{"ids", `{"ids":{"values":["` + ids["old"] + `"]}}`, []string{"old"}},
		{"username", `{"term":{"username":"admin"}}`, []string{"ci-ingest", "ci-search", "personal", "old"}},
		{"realm_name", `{"term":{"realm_name":"default_file"}}`, []string{"ci-ingest", "ci-search", "personal", "old"}},
		{"type", `{"term":{"type":"rest"}}`, []string{"ci-ingest", "ci-search", "personal", "old"}},
		{"range creation epoch", fmt.Sprintf(`{"range":{"creation":{"gte":%d,"lt":%d}}}`, created0+60000, created0+180000), []string{"ci-search", "personal"}},
		{"range creation iso", `{"range":{"creation":{"gt":"2025-03-01T12:00:00Z"}}}`, []string{"ci-search", "personal", "old"}},
		{"range date math", `{"range":{"creation":{"gte":"now-1d/d"}}}`, []string{"ci-ingest", "ci-search", "personal", "old"}},
		{"range keyword", `{"range":{"name":{"gte":"ci-search","lte":"old"}}}`, []string{"ci-search", "old"}},
		{"active keys (reference recipe)", `{"bool":{"filter":[{"term":{"invalidated":false}},{"bool":{"should":[{"range":{"expiration":{"gt":"now"}}},{"bool":{"must_not":{"exists":{"field":"expiration"}}}}]}}]}}`, []string{"ci-ingest", "ci-search"}},
		{"bool must_not", `{"bool":{"must":{"prefix":{"name":"ci"}},"must_not":[{"term":{"name":"ci-ingest"}}]}}`, []string{"ci-search"}},
		{"bool should min", `{"bool":{"should":[{"term":{"name":"old"}},{"term":{"name":"personal"}},{"term":{"metadata.team":"Books"}}],"minimum_should_match":2}}`, []string{"personal"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.ES(t, pid, "POST", "/_security/_query/api_key", `{"query":`+c.query+`,"size":100}`)
			var body struct {
				Total, Count int
				APIKeys      []keyJSON `json:"api_keys"`
			}
			r.JSON(t, &body)
			if r.Status != 200 || body.Total != len(c.want) || body.Count != len(c.want) {
				t.Fatalf("%d: want %v, got %s", r.Status, c.want, r.Body)
			}
			got := map[string]bool{}
			for _, k := range body.APIKeys {
				got[k.Name] = true
			}
			for _, w := range c.want {
				if !got[w] {
					t.Fatalf("want %v, got %s", c.want, r.Body)
				}
			}
		})
	}

	// GET without a body is match_all; size/from/total/count.
	r := env.ES(t, pid, "GET", "/_security/_query/api_key", nil)
	if b := decode[map[string]any](t, r); b["total"] != 4.0 || b["count"] != 4.0 {
		t.Fatalf("match_all GET: %s", r.Body)
	}
	r = env.ES(t, pid, "POST", "/_security/_query/api_key", `{"size":1,"from":1,"sort":["name"]}`)
	var page struct {
		Total, Count int
		APIKeys      []keyJSON `json:"api_keys"`
	}
	r.JSON(t, &page)
	if page.Total != 4 || page.Count != 1 || page.APIKeys[0].Name != "ci-search" || page.APIKeys[0].Sort[0] != "ci-search" {
		t.Fatalf("paging: %s", r.Body)
	}
	// Sorting with missing values and _sort; search_after pages through.
	r = env.ES(t, pid, "POST", "/_security/_query/api_key", `{"sort":[{"expiration":{"order":"asc"}},"name"],"size":2}`)
	r.JSON(t, &page)
	if page.APIKeys[0].Name != "old" || page.APIKeys[1].Name != "ci-ingest" {
		t.Fatalf("sort by expiration: %s", r.Body)
	}
	last := page.APIKeys[1].Sort
	r = env.ES(t, pid, "POST", "/_security/_query/api_key", fmt.Sprintf(`{"sort":[{"expiration":{"order":"asc"}},"name"],"size":5,"search_after":[%v,%q]}`, int64(last[0].(float64)), last[1]))
	r.JSON(t, &page)
	if page.Total != 4 || page.Count != 2 || page.APIKeys[0].Name != "ci-search" || page.APIKeys[1].Name != "personal" {
		t.Fatalf("search_after: %s", r.Body)
	}
	if v := page.APIKeys[0].Sort[0].(float64); v != math.MaxInt64 {
		t.Fatalf("missing date sorts as Long.MAX_VALUE ascending, got %v", v)
	}
	r = env.ES(t, pid, "POST", "/_security/_query/api_key", `{"sort":[{"creation":"desc"}],"size":1}`)
	if r.JSON(t, &page); page.APIKeys[0].Name != "old" {
		t.Fatalf("desc: %s", r.Body)
	}

	bad := []struct{ body, typ, reason string }{
		{`{"query":{"query_string":{"query":"x"}}}`, "illegal_argument_exception", "Query type [query_string] is not supported for API Key query"},
		{`{"query":{"bogus":{}}}`, "parsing_exception", "unknown query [bogus]"},
		{`{"query":{"term":{"role_descriptors":"x"}}}`, "illegal_argument_exception", "Field [role_descriptors] is not allowed for API Key query"},
		{`{"query":{"term":{"id":"x"}}}`, "illegal_argument_exception", "Field [id] is not allowed"},
		{`{"query":{"term":{"realm":"x"}}}`, "illegal_argument_exception", "Field [realm] is not allowed"},
		{`{"query":{"prefix":{"creation":"1"}}}`, "query_shard_exception", "Can only use prefix queries on keyword and text fields"},
		{`{"from":-1}`, "illegal_argument_exception", "[from] parameter cannot be negative but was [-1]"},
		{`{"size":10001}`, "illegal_argument_exception", "Result window is too large"},
		{`{"sort":["id"]}`, "illegal_argument_exception", "Field [id] is not allowed"},
		{`{"search_after":[1]}`, "illegal_argument_exception", "search_after"},
		{`{"colour":1}`, "x_content_parse_exception", "[query_api_key_request_payload] unknown field [colour]"},
		{`{"query":{"range":{"creation":{"gt":"yesterday"}}}}`, "parse_exception", "failed to parse date field"},
	}
	for _, b := range bad {
		wantESError(t, env.ES(t, pid, "POST", "/_security/_query/api_key", b.body), 400, b.typ, b.reason)
	}
	if !strings.Contains(string(env.ES(t, pid, "POST", "/_security/_query/api_key?with_limited_by=true", `{"size":1}`).Body), `"limited_by":[{"superuser"`) {
		t.Fatal("with_limited_by on query")
	}
}
