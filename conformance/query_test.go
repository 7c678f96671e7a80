package conformance

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/security/createapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/queryapikeys"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"
)

func TestQueryAPIKeys(t *testing.T) {
	f := newFixture(t)
	ids := createKeys(t, f,
		createapikey.Request{Name: ptr("svc-alpha"), Metadata: md("env", "prod", "team", "a")},
		createapikey.Request{Name: ptr("svc-beta"), Metadata: md("env", "prod", "team", "b"), Expiration: "1d"},
		createapikey.Request{Name: ptr("svc-gamma"), Metadata: md("env", "dev", "team", "a")},
		createapikey.Request{Name: ptr("other-delta"), Metadata: md("env", "dev"), Expiration: "2h"},
		createapikey.Request{Name: ptr("svc-epsilon"), Metadata: md("env", "prod")},
	)
	if _, err := f.admin.Security.InvalidateApiKey().Ids(ids["svc-epsilon"]).Do(ctx(t)); err != nil {
		t.Fatalf("InvalidateApiKey: %v", err)
	}

	term := func(field string, v any) types.Query {
		return types.Query{Term: map[string]types.TermQuery{field: {Value: v}}}
	}
	prefix := func(field, v string) types.Query {
		return types.Query{Prefix: map[string]types.PrefixQuery{field: {Value: v}}}
	}
	tests := []struct {
		name  string
		query types.ApiKeyQueryContainer
		want  []string
	}{
		{"term", types.ApiKeyQueryContainer{Term: map[string]types.TermQuery{"name": {Value: "svc-alpha"}}},
			[]string{"svc-alpha"}},
		{"terms on metadata", types.ApiKeyQueryContainer{Terms: &types.TermsQuery{
			TermsQuery: map[string]types.TermsQueryField{"metadata.team": []types.FieldValue{"a", "b"}}}},
			[]string{"svc-alpha", "svc-beta", "svc-gamma"}},
		{"prefix", types.ApiKeyQueryContainer{Prefix: map[string]types.PrefixQuery{"name": {Value: "svc-"}}},
			[]string{"svc-alpha", "svc-beta", "svc-epsilon", "svc-gamma"}},
		{"wildcard", types.ApiKeyQueryContainer{Wildcard: map[string]types.WildcardQuery{"name": {Value: ptr("*-?elta")}}},
			[]string{"other-delta"}},
		{"exists", types.ApiKeyQueryContainer{Exists: &types.ExistsQuery{Field: "expiration"}},
			[]string{"other-delta", "svc-beta"}},
		{"date range with now", types.ApiKeyQueryContainer{Range: map[string]types.RangeQuery{
			"expiration": types.DateRangeQuery{Lt: ptr("now+3h")}}},
			[]string{"other-delta"}},
		{"range on creation", types.ApiKeyQueryContainer{Range: map[string]types.RangeQuery{
			"creation": types.DateRangeQuery{Gte: ptr("now-1h"), Lte: ptr("now")}}},
			[]string{"other-delta", "svc-alpha", "svc-beta", "svc-epsilon", "svc-gamma"}},
		{"ids", types.ApiKeyQueryContainer{Ids: &types.IdsQuery{Values: []string{ids["svc-alpha"], ids["svc-gamma"]}}},
			[]string{"svc-alpha", "svc-gamma"}},
		{"bool", types.ApiKeyQueryContainer{Bool: &types.BoolQuery{
			Must:    []types.Query{prefix("name", "svc-")},
			Filter:  []types.Query{term("metadata.env", "prod")},
			MustNot: []types.Query{term("invalidated", true)},
		}}, []string{"svc-alpha", "svc-beta"}},
		{"bool should", types.ApiKeyQueryContainer{Bool: &types.BoolQuery{
			Should: []types.Query{term("name", "svc-gamma"), {Exists: &types.ExistsQuery{Field: "invalidation"}}},
		}}, []string{"svc-epsilon", "svc-gamma"}},
		{"no match", types.ApiKeyQueryContainer{Term: map[string]types.TermQuery{"name": {Value: "nothing"}}}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.query
			r, err := f.admin.Security.QueryApiKeys().Query(&q).Size(100).Do(ctx(t))
			if err != nil {
				t.Fatalf("QueryApiKeys: %v", err)
			}
			f.strict(t, r)
			if got := names(r.ApiKeys); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if r.Total != len(tc.want) || r.Count != len(tc.want) || r.ApiKeys == nil {
				t.Errorf("total %d count %d api_keys %v, want %d", r.Total, r.Count, r.ApiKeys, len(tc.want))
			}
			for _, k := range r.ApiKeys {
				if k.Sort_ != nil {
					t.Errorf("_sort present without a sort: %v", k.Sort_)
				}
			}
		})
	}
}

func TestQueryAPIKeysPaging(t *testing.T) {
	f := newFixture(t)
	var specs []createapikey.Request
	for _, n := range []string{"k-e", "k-b", "k-d", "k-a", "k-c"} {
		specs = append(specs, createapikey.Request{Name: ptr(n)})
	}
	createKeys(t, f, specs...)
	byName := types.SortOptions{SortOptions: map[string]types.FieldSort{"name": {Order: &sortorder.Asc}}}

	// from/size with a sort: total counts all hits, count the page.
	page, err := f.admin.Security.QueryApiKeys().Sort(byName).From(1).Size(2).Do(ctx(t))
	if err != nil {
		t.Fatalf("QueryApiKeys: %v", err)
	}
	f.strict(t, page)
	if page.Total != 5 || page.Count != 2 || len(page.ApiKeys) != 2 ||
		page.ApiKeys[0].Name != "k-b" || page.ApiKeys[1].Name != "k-c" {
		t.Fatalf("page from=1 size=2: total %d count %d %v", page.Total, page.Count, names(page.ApiKeys))
	}
	if got := page.ApiKeys[1].Sort_; len(got) != 1 || got[0] != "k-c" {
		t.Errorf("_sort = %#v, want [\"k-c\"]", got)
	}

	// search_after with the last hit's _sort continues where the page ended.
	next, err := f.admin.Security.QueryApiKeys().Sort(byName).Size(2).SearchAfter(page.ApiKeys[1].Sort_...).Do(ctx(t))
	if err != nil {
		t.Fatalf("QueryApiKeys search_after: %v", err)
	}
	if next.Total != 5 || next.Count != 2 || next.ApiKeys[0].Name != "k-d" || next.ApiKeys[1].Name != "k-e" {
		t.Errorf("search_after page: total %d count %d %v", next.Total, next.Count, names(next.ApiKeys))
	}

	// A date sort, descending, then a plain field name as tie-breaker:
	// _sort carries epoch milliseconds, then the name.
	r, err := f.admin.Security.QueryApiKeys().Request(&queryapikeys.Request{
		Sort: []types.SortCombinations{
			types.SortOptions{SortOptions: map[string]types.FieldSort{"creation": {Order: &sortorder.Desc}}},
			"name",
		},
		Size: ptr(5),
	}).Do(ctx(t))
	if err != nil {
		t.Fatalf("QueryApiKeys sort by creation: %v", err)
	}
	f.strict(t, r)
	if r.Count != 5 {
		t.Fatalf("count %d", r.Count)
	}
	for i, k := range r.ApiKeys {
		if len(k.Sort_) != 2 {
			t.Fatalf("_sort of %s = %v, want [creation, name]", k.Name, k.Sort_)
		}
		ms, ok := k.Sort_[0].(json.Number)
		var n int64
		if ok {
			n, _ = ms.Int64()
		} else if fl, isF := k.Sort_[0].(float64); isF {
			n, ok = int64(fl), true
		}
		if !ok || n != k.Creation || k.Sort_[1] != k.Name {
			t.Errorf("_sort of %s = %#v, want [%d %q]", k.Name, k.Sort_, k.Creation, k.Name)
		}
		if i > 0 && (r.ApiKeys[i-1].Creation < k.Creation ||
			r.ApiKeys[i-1].Creation == k.Creation && r.ApiKeys[i-1].Name > k.Name) {
			t.Errorf("not sorted by creation desc, name asc: %v", names(r.ApiKeys))
		}
	}

	// from past the end: an empty page, still with the total.
	empty, err := f.admin.Security.QueryApiKeys().Sort(byName).From(10).Do(ctx(t))
	if err != nil || empty.Total != 5 || empty.Count != 0 || empty.ApiKeys == nil {
		t.Errorf("from past the end: %v %+v", err, empty)
	}
}
