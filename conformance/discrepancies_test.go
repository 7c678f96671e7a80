package conformance

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/security/createapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/operator"
)

// Calls the official client offers on every endpoint or on the query API
// that this suite found the emulator answering differently from
// Elasticsearch (filter_path ignored; simple_query_string and aggregations
// refused), kept as regression tests now that the emulator does them.

// TestFilterPath: every typed request has FilterPath; Elasticsearch then
// returns only the named members.
func TestFilterPath(t *testing.T) {
	f := newFixture(t)
	createKeys(t, f, createapikey.Request{Name: ptr("fp"), Metadata: md("a", "b")})
	r, err := f.admin.Security.GetApiKey().FilterPath("api_keys.id", "api_keys.name").Do(ctx(t))
	if err != nil {
		t.Fatalf("GetApiKey filter_path: %v", err)
	}
	if len(r.ApiKeys) != 1 || r.ApiKeys[0].Name != "fp" || r.ApiKeys[0].Id == "" {
		t.Errorf("decoded %+v", r.ApiKeys)
	}
	var raw struct {
		ApiKeys []map[string]json.RawMessage `json:"api_keys"`
	}
	if err := json.Unmarshal(f.rec.last(t).body, &raw); err != nil || len(raw.ApiKeys) != 1 {
		t.Fatalf("raw body %s: %v", f.rec.last(t).body, err)
	}
	if got := sortedKeys(raw.ApiKeys[0]); !slices.Equal(got, []string{"id", "name"}) {
		t.Errorf("members with filter_path=api_keys.id,api_keys.name: %v", got)
	}
	// Wildcards and exclusion, as Elasticsearch documents them.
	q, err := f.admin.Security.QueryApiKeys().FilterPath("-api_keys", "*").Do(ctx(t))
	if err != nil || q.ApiKeys != nil || q.Total != 1 || q.Count != 1 {
		t.Errorf("query with filter_path=-api_keys,*: %v %+v (body %s)", err, q, f.rec.last(t).body)
	}
}

// TestQuerySimpleQueryString: simple_query_string is one of the query types
// the API key query accepts (reference §4).
func TestQuerySimpleQueryString(t *testing.T) {
	f := newFixture(t)
	createKeys(t, f,
		createapikey.Request{Name: ptr("svc-alpha"), Metadata: md("env", "prod")},
		createapikey.Request{Name: ptr("svc-beta"), Metadata: md("env", "dev")},
		createapikey.Request{Name: ptr("other"), Metadata: md("env", "dev")},
	)
	tests := []struct {
		name string
		q    types.SimpleQueryStringQuery
		want []string
	}{
		{"terms are ORed", types.SimpleQueryStringQuery{Query: "svc-alpha other", Fields: []string{"name"}}, []string{"other", "svc-alpha"}},
		{"prefix", types.SimpleQueryStringQuery{Query: "svc-*", Fields: []string{"name"}}, []string{"svc-alpha", "svc-beta"}},
		{"all fields by default", types.SimpleQueryStringQuery{Query: "prod"}, []string{"svc-alpha"}},
		{"exclusion with AND", types.SimpleQueryStringQuery{Query: "svc-* -svc-beta", Fields: []string{"name"},
			DefaultOperator: &operator.And}, []string{"svc-alpha"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			r, err := f.admin.Security.QueryApiKeys().Query(&types.ApiKeyQueryContainer{SimpleQueryString: &q}).Do(ctx(t))
			if err != nil {
				t.Fatalf("QueryApiKeys: %v", err)
			}
			f.strict(t, r)
			if got := names(r.ApiKeys); !slices.Equal(got, tc.want) || r.Total != len(tc.want) {
				t.Errorf("got %v (total %d), want %v", got, r.Total, tc.want)
			}
		})
	}
}

// TestQueryAggregations: the query API takes aggregations (8.14+), and the
// typed client always asks for typed_keys to decode them.
func TestQueryAggregations(t *testing.T) {
	f := newFixture(t)
	createKeys(t, f,
		createapikey.Request{Name: ptr("a1"), Metadata: md("env", "prod")},
		createapikey.Request{Name: ptr("a2"), Metadata: md("env", "prod"), Expiration: "1d"},
		createapikey.Request{Name: ptr("a3"), Metadata: md("env", "dev")},
		createapikey.Request{Name: ptr("a4")},
	)
	r, err := f.admin.Security.QueryApiKeys().Size(0).Aggregations(map[string]types.ApiKeyAggregationContainer{
		"envs":      {Terms: &types.TermsAggregation{Field: ptr("metadata.env")}},
		"names":     {Cardinality: &types.CardinalityAggregation{Field: ptr("name")}},
		"expiring":  {ValueCount: &types.ValueCountAggregation{Field: ptr("expiration")}},
		"no_expiry": {Missing: &types.MissingAggregation{Field: ptr("expiration")}},
		"prod":      {Filter: &types.ApiKeyQueryContainer{Term: map[string]types.TermQuery{"metadata.env": {Value: "prod"}}}},
	}).Do(ctx(t))
	if err != nil {
		t.Fatalf("QueryApiKeys with aggregations: %v", err)
	}
	if r.Total != 4 || r.Count != 0 || len(r.ApiKeys) != 0 {
		t.Errorf("size 0: total %d count %d keys %d", r.Total, r.Count, len(r.ApiKeys))
	}
	envs, ok := r.Aggregations["envs"].(*types.StringTermsAggregate)
	if !ok {
		t.Fatalf("envs decoded as %T", r.Aggregations["envs"])
	}
	buckets, _ := envs.Buckets.([]types.StringTermsBucket)
	if len(buckets) != 2 || buckets[0].Key != "prod" || buckets[0].DocCount != 2 || buckets[1].Key != "dev" || buckets[1].DocCount != 1 {
		t.Errorf("envs buckets = %+v", envs.Buckets)
	}
	if c, ok := r.Aggregations["names"].(*types.CardinalityAggregate); !ok || c.Value != 4 {
		t.Errorf("names = %#v", r.Aggregations["names"])
	}
	if v, ok := r.Aggregations["expiring"].(*types.ValueCountAggregate); !ok || v.Value == nil || *v.Value != 1 {
		t.Errorf("expiring = %#v", r.Aggregations["expiring"])
	}
	if m, ok := r.Aggregations["no_expiry"].(*types.MissingAggregate); !ok || m.DocCount != 3 {
		t.Errorf("no_expiry = %#v", r.Aggregations["no_expiry"])
	}
	if fa, ok := r.Aggregations["prod"].(*types.FilterAggregate); !ok || fa.DocCount != 2 {
		t.Errorf("prod = %#v", r.Aggregations["prod"])
	}
}
