package emulator_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
)

func TestQueryAggregations(t *testing.T) {
	env, pid := project(t, emulator.Options{})
	for _, k := range []string{
		`{"name":"a1","metadata":{"env":"prod"}}`,
		`{"name":"a2","metadata":{"env":"prod"},"expiration":"1d"}`,
		`{"name":"a3","metadata":{"env":"dev"}}`,
		`{"name":"a4"}`,
	} {
		env.CreateAPIKey(t, pid, k)
	}
	body := `{"size":0,"query":{"prefix":{"name":"a"}},"aggs":{
		"envs":{"terms":{"field":"metadata.env"}},
		"top":{"terms":{"field":"metadata.env","size":1}},
		"inv":{"terms":{"field":"invalidated"}},
		"names":{"cardinality":{"field":"name"}},
		"expiring":{"value_count":{"field":"expiration"}},
		"no_expiry":{"missing":{"field":"expiration"}},
		"prod":{"filter":{"term":{"metadata.env":"prod"}}},
		"split":{"filters":{"filters":{"dev":{"term":{"metadata.env":"dev"}},"none":{"bool":{"must_not":{"exists":{"field":"metadata.env"}}}}}}}}}`
	want := `{"total":4,"count":0,"api_keys":[],"aggregations":{
		"sterms#envs":{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[{"key":"prod","doc_count":2},{"key":"dev","doc_count":1}]},
		"sterms#top":{"doc_count_error_upper_bound":0,"sum_other_doc_count":1,"buckets":[{"key":"prod","doc_count":2}]},
		"lterms#inv":{"doc_count_error_upper_bound":0,"sum_other_doc_count":0,"buckets":[{"key":0,"key_as_string":"false","doc_count":4}]},
		"cardinality#names":{"value":4},
		"value_count#expiring":{"value":1},
		"missing#no_expiry":{"doc_count":3},
		"filter#prod":{"doc_count":2},
		"filters#split":{"buckets":{"dev":{"doc_count":1},"none":{"doc_count":1}}}}}`
	r := env.ES(t, pid, "POST", "/_security/_query/api_key?typed_keys=true", body)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var got, exp any
	json.Unmarshal(r.Body, &got)
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("got  %s\nwant %s", r.Body, want)
	}

	// Without typed_keys the names are bare.
	r = env.ES(t, pid, "POST", "/_security/_query/api_key", `{"size":0,"aggs":{"n":{"cardinality":{"field":"name"}}}}`)
	var plain struct {
		Aggregations map[string]map[string]int `json:"aggregations"`
	}
	r.JSON(t, &plain)
	if plain.Aggregations["n"]["value"] != 4 {
		t.Errorf("untyped: %s", r.Body)
	}

	for _, tc := range []struct{ body, typ, reason string }{
		{`{"aggs":{"x":{"terms":{"field":"api_key_hash"}}}}`, "illegal_argument_exception", "Field [api_key_hash] is not allowed"},
		{`{"aggs":{"x":{"avg":{"field":"creation"}}}}`, "illegal_argument_exception", "Aggregation type [avg] is not supported for API Key query"},
		{`{"aggs":{"x":{"terms":{"field":"name"},"aggs":{"y":{"cardinality":{"field":"name"}}}}}}`, "illegal_argument_exception", "sub-aggregations"},
		{`{"aggs":{"x":{}}}`, "parsing_exception", "Missing definition for aggregation [x]"},
	} {
		r := env.ES(t, pid, "POST", "/_security/_query/api_key", tc.body)
		wantESError(t, r, 400, tc.typ, tc.reason)
	}
}
