package emulator

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Aggregations in the API key query (Elasticsearch 8.14+, reference §4):
// terms, cardinality, value_count, missing, filter and filters, computed over
// every key the query matches (from, size and search_after do not narrow
// them). With typed_keys=true — which the official typed clients always send
// — each name is prefixed with its result type ("sterms#envs"), which is
// how those clients know what to decode. Choice: range, date_range,
// composite and sub-aggregations, which Elasticsearch also allows, answer
// 400 saying the emulator does not support them.

type aggSpec struct {
	name  string
	kind  string // terms, cardinality, value_count, missing, filter, filters
	field fieldRef
	size  int
	match pred            // filter
	named map[string]pred // filters, keyed form
	order []string        // filters: bucket names in request order
	list  []pred          // filters, array form
}

func (qp *queryParser) parseAggs(raw json.RawMessage) ([]aggSpec, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return nil, esBadRequest("parsing_exception", "Expected [START_OBJECT] under [aggregations], but got a ["+jsonKind(raw)+"]")
	}
	var out []aggSpec
	for _, name := range sortedKeys(obj) {
		def, ok := rawObject(obj[name])
		if !ok {
			return nil, esBadRequest("parsing_exception", fmt.Sprintf("Expected [START_OBJECT] under [%s], but got a [%s]", name, jsonKind(obj[name])))
		}
		spec := aggSpec{name: name}
		for _, k := range sortedKeys(def) {
			body := def[k]
			switch k {
			case "meta":
				continue
			case "aggs", "aggregations":
				return nil, esBadRequest("illegal_argument_exception",
					fmt.Sprintf("sub-aggregations (under [%s]) are not supported by the slsync emulator (Elasticsearch supports them)", name))
			case "terms", "cardinality", "value_count", "missing":
				f, size, e := aggField(k, name, body)
				if e != nil {
					return nil, e
				}
				spec.kind, spec.field, spec.size = k, f, size
			case "filter":
				p, e := qp.parse(body)
				if e != nil {
					return nil, e
				}
				spec.kind, spec.match = k, p
			case "filters":
				if e := qp.parseFilters(&spec, body); e != nil {
					return nil, e
				}
				spec.kind = k
			case "range", "date_range", "composite":
				return nil, esBadRequest("illegal_argument_exception",
					fmt.Sprintf("aggregation type [%s] is not supported by the slsync emulator (Elasticsearch supports it)", k))
			default:
				return nil, esBadRequest("illegal_argument_exception", fmt.Sprintf("Aggregation type [%s] is not supported for API Key query", k))
			}
			if spec.kind != "" && spec.kind != k {
				return nil, esBadRequest("parsing_exception", fmt.Sprintf("Found two aggregation type definitions in [%s]: [%s] and [%s]", name, spec.kind, k))
			}
		}
		if spec.kind == "" {
			return nil, esBadRequest("parsing_exception", fmt.Sprintf("Missing definition for aggregation [%s]", name))
		}
		out = append(out, spec)
	}
	return out, nil
}

// aggField reads {"field": f, "size": n} of a field aggregation.
func aggField(kind, name string, raw json.RawMessage) (fieldRef, int, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return fieldRef{}, 0, esBadRequest("parsing_exception", fmt.Sprintf("[%s] aggregation [%s] must be an object", kind, name))
	}
	size := 10
	var field string
	for _, k := range sortedKeys(obj) {
		switch k {
		case "field":
			s, ok := rawString(obj[k])
			if !ok {
				return fieldRef{}, 0, esBadRequest("parsing_exception", fmt.Sprintf("[%s] [field] must be a string", kind))
			}
			field = s
		case "size":
			n, ok := rawInt(obj[k])
			if !ok || n < 1 {
				return fieldRef{}, 0, esBadRequest("illegal_argument_exception", fmt.Sprintf("[size] must be greater than 0. Found [%s] in [%s]", obj[k], name))
			}
			size = n
		case "precision_threshold", "missing", "min_doc_count", "shard_size", "order", "execution_hint", "format":
			// Choice: accepted and ignored.
		default:
			return fieldRef{}, 0, esBadRequest("parsing_exception", fmt.Sprintf("[%s] unknown field [%s]", kind, k))
		}
	}
	if field == "" {
		return fieldRef{}, 0, esBadRequest("illegal_argument_exception", fmt.Sprintf("Required one of fields [field, script], but none were specified. in [%s]", name))
	}
	f, e := resolveField(field)
	return f, size, e
}

func (qp *queryParser) parseFilters(spec *aggSpec, raw json.RawMessage) *esErr {
	obj, ok := rawObject(raw)
	if !ok {
		return esBadRequest("parsing_exception", "[filters] must be an object")
	}
	fs, ok := obj["filters"]
	if !ok {
		return esBadRequest("parsing_exception", "[filters] requires [filters]")
	}
	if arr, ok := rawArray(fs); ok {
		for _, el := range arr {
			p, e := qp.parse(el)
			if e != nil {
				return e
			}
			spec.list = append(spec.list, p)
		}
		return nil
	}
	named, ok := rawObject(fs)
	if !ok {
		return esBadRequest("parsing_exception", "[filters] must be an object or an array of queries")
	}
	spec.named = map[string]pred{}
	for _, n := range sortedKeys(named) {
		p, e := qp.parse(named[n])
		if e != nil {
			return e
		}
		spec.named[n] = p
		spec.order = append(spec.order, n)
	}
	return nil
}

// aggValues returns k's values of f as sortable keys: keywords as strings,
// dates as epoch ms, booleans as 0/1 (Elasticsearch's long terms).
func aggValues(f fieldRef, k *apiKey) []any {
	switch f.kind {
	case kindDate:
		if ms, ok := f.date(k); ok {
			return []any{ms}
		}
		return nil
	case kindBool:
		if k.Invalidated {
			return []any{int64(1)}
		}
		return []any{int64(0)}
	}
	var out []any
	for _, v := range f.keywords(k) {
		out = append(out, v)
	}
	return out
}

// run computes one aggregation over keys; it returns the typed_keys prefix
// and the result.
func (a aggSpec) run(keys []*apiKey) (string, any) {
	switch a.kind {
	case "cardinality", "value_count", "missing":
		distinct := map[any]bool{}
		count, missing := 0, 0
		for _, k := range keys {
			vs := aggValues(a.field, k)
			if len(vs) == 0 {
				missing++
			}
			count += len(vs)
			for _, v := range vs {
				distinct[v] = true
			}
		}
		switch a.kind {
		case "cardinality":
			return "cardinality", map[string]any{"value": len(distinct)}
		case "value_count":
			return "value_count", map[string]any{"value": count}
		}
		return "missing", map[string]any{"doc_count": missing}
	case "filter":
		n := 0
		for _, k := range keys {
			if a.match(k) {
				n++
			}
		}
		return "filter", map[string]any{"doc_count": n}
	case "filters":
		count := func(p pred) map[string]any {
			n := 0
			for _, k := range keys {
				if p(k) {
					n++
				}
			}
			return map[string]any{"doc_count": n}
		}
		if a.named != nil {
			buckets := map[string]any{}
			for _, n := range a.order {
				buckets[n] = count(a.named[n])
			}
			return "filters", map[string]any{"buckets": buckets}
		}
		buckets := []any{}
		for _, p := range a.list {
			buckets = append(buckets, count(p))
		}
		return "filters", map[string]any{"buckets": buckets}
	}
	return a.terms(keys)
}

// terms buckets by doc count (descending), then key (ascending), as
// Elasticsearch orders them by default.
func (a aggSpec) terms(keys []*apiKey) (string, any) {
	counts := map[any]int{}
	total := 0
	for _, k := range keys {
		seen := map[any]bool{}
		for _, v := range aggValues(a.field, k) {
			if !seen[v] {
				seen[v] = true
				counts[v]++
				total++
			}
		}
	}
	type bucket struct {
		key any
		n   int
	}
	var bs []bucket
	for k, n := range counts {
		bs = append(bs, bucket{k, n})
	}
	sort.Slice(bs, func(i, j int) bool {
		if bs[i].n != bs[j].n {
			return bs[i].n > bs[j].n
		}
		switch x := bs[i].key.(type) {
		case string:
			return x < bs[j].key.(string)
		default:
			return x.(int64) < bs[j].key.(int64)
		}
	})
	if len(bs) > a.size {
		bs = bs[:a.size]
	}
	shown := 0
	out := []map[string]any{}
	for _, b := range bs {
		shown += b.n
		m := map[string]any{"key": b.key, "doc_count": b.n}
		switch a.field.kind {
		case kindDate:
			m["key_as_string"] = time.UnixMilli(b.key.(int64)).UTC().Format("2006-01-02T15:04:05.000Z")
		case kindBool:
			m["key_as_string"] = strconv.FormatBool(b.key.(int64) == 1)
		}
		out = append(out, m)
	}
	prefix := "sterms"
	if a.field.kind != kindKeyword {
		prefix = "lterms"
	}
	return prefix, map[string]any{"doc_count_error_upper_bound": 0, "sum_other_doc_count": total - shown, "buckets": out}
}

// runAggs renders the aggregations object of a query response.
func runAggs(specs []aggSpec, keys []*apiKey, typedKeys bool) map[string]any {
	out := make(map[string]any, len(specs))
	for _, a := range specs {
		prefix, v := a.run(keys)
		name := a.name
		if typedKeys {
			name = prefix + "#" + name
		}
		out[name] = v
	}
	return out
}
