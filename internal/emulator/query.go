package emulator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The query API's DSL subset (reference §4): bool, term, terms, match, ids,
// prefix, wildcard, exists, range, simple_query_string (sqs.go) and
// match_all over the API key fields Elasticsearch exposes, with
// from/size/sort/search_after and aggregations (aggs.go). Queries run over
// one project's keys only (keys are stored per project), and metadata is
// pre-flattened per key, so a query never scans other projects' keys.

// pred is a compiled query.
type pred func(k *apiKey) bool

type fieldKind int

const (
	kindKeyword fieldKind = iota
	kindDate
	kindBool
)

// fieldRef is a queryable field.
type fieldRef struct {
	name string
	kind fieldKind
	meta string // metadata path ("" with allMeta for "metadata" itself)
	all  bool   // "metadata": every metadata value
}

func notAllowed(name string) *esErr {
	return esBadRequest("illegal_argument_exception", fmt.Sprintf("Field [%s] is not allowed for API Key query or aggregation", name))
}

// resolveField maps a user-facing field name to the key's data. As in
// Elasticsearch's code, the realm field is `realm_name` (not `realm`), and
// `id` is reachable only through the ids query.
func resolveField(name string) (fieldRef, *esErr) {
	switch name {
	case "name", "type", "username", "realm_name":
		return fieldRef{name: name, kind: kindKeyword}, nil
	case "creation", "expiration", "invalidation":
		return fieldRef{name: name, kind: kindDate}, nil
	case "invalidated":
		return fieldRef{name: name, kind: kindBool}, nil
	case "metadata":
		return fieldRef{name: name, kind: kindKeyword, all: true}, nil
	}
	if p, ok := strings.CutPrefix(name, "metadata."); ok && p != "" && !strings.ContainsAny(p, "*?") {
		return fieldRef{name: name, kind: kindKeyword, meta: p}, nil
	}
	return fieldRef{}, notAllowed(name)
}

// keywords returns a keyword or boolean field's values for k.
func (f fieldRef) keywords(k *apiKey) []string {
	switch f.name {
	case "name":
		return []string{k.Name}
	case "type":
		return []string{"rest"}
	case "username":
		return []string{k.Username}
	case "realm_name":
		return []string{k.Realm}
	case "invalidated":
		return []string{strconv.FormatBool(k.Invalidated)}
	}
	if f.all {
		var out []string
		for _, vs := range k.flat {
			out = append(out, vs...)
		}
		return out
	}
	return k.flat[f.meta]
}

// date returns a date field's value in epoch ms, if set.
func (f fieldRef) date(k *apiKey) (int64, bool) {
	switch f.name {
	case "creation":
		return k.Creation, true
	case "expiration":
		if k.Expiration != nil {
			return *k.Expiration, true
		}
	case "invalidation":
		if k.Invalidation != nil {
			return *k.Invalidation, true
		}
	}
	return 0, false
}

func (f fieldRef) exists(k *apiKey) bool {
	if f.kind == kindDate {
		_, ok := f.date(k)
		return ok
	}
	return len(f.keywords(k)) > 0
}

// queryParser compiles queries at one instant (for "now" in date math).
type queryParser struct {
	nowMs int64
}

var unsupportedQueries = map[string]bool{
	"query_string": true, "regexp": true, "fuzzy": true, "match_phrase": true, "match_phrase_prefix": true,
	"multi_match": true, "nested": true, "has_child": true, "has_parent": true, "script": true, "script_score": true,
	"function_score": true, "dis_max": true, "constant_score": true, "boosting": true, "more_like_this": true,
	"geo_shape": true, "geo_distance": true, "geo_bounding_box": true, "terms_set": true, "intervals": true,
	"span_term": true, "span_near": true, "distance_feature": true, "knn": true, "combined_fields": true,
	"match_bool_prefix": true, "percolate": true, "pinned": true, "rank_feature": true, "wrapper": true,
}

func (qp *queryParser) parse(raw json.RawMessage) (pred, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return nil, esBadRequest("parsing_exception", fmt.Sprintf("[_na] query malformed, must start with start_object, found [%s]", jsonKind(raw)))
	}
	if len(obj) != 1 {
		return nil, esBadRequest("parsing_exception", "[_na] query malformed, no start_object after query name")
	}
	for typ, body := range obj {
		switch typ {
		case "match_all":
			return func(*apiKey) bool { return true }, nil
		case "bool":
			return qp.parseBool(body)
		case "term":
			return qp.parseTerm(body, false)
		case "match":
			return qp.parseTerm(body, true)
		case "terms":
			return qp.parseTerms(body)
		case "ids":
			return parseIDs(body)
		case "prefix", "wildcard":
			return qp.parsePattern(typ, body)
		case "exists":
			return parseExists(body)
		case "range":
			return qp.parseRange(body)
		case "simple_query_string":
			return qp.parseSimpleQueryString(body)
		default:
			if unsupportedQueries[typ] {
				return nil, esBadRequest("illegal_argument_exception", fmt.Sprintf("Query type [%s] is not supported for API Key query", typ))
			}
			return nil, esBadRequest("parsing_exception", fmt.Sprintf("unknown query [%s]", typ))
		}
	}
	return nil, nil // unreachable: len(obj) == 1
}

func (qp *queryParser) clauses(raw json.RawMessage) ([]pred, *esErr) {
	var list []json.RawMessage
	if arr, ok := rawArray(raw); ok {
		list = arr
	} else {
		list = []json.RawMessage{raw}
	}
	out := make([]pred, 0, len(list))
	for _, c := range list {
		p, e := qp.parse(c)
		if e != nil {
			return nil, e
		}
		out = append(out, p)
	}
	return out, nil
}

func (qp *queryParser) parseBool(raw json.RawMessage) (pred, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return nil, esBadRequest("parsing_exception", "[bool] query malformed, expected an object")
	}
	var must, should, mustNot []pred
	msm := -1
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "must", "filter", "should", "must_not":
			ps, e := qp.clauses(v)
			if e != nil {
				return nil, e
			}
			switch k {
			case "should":
				should = append(should, ps...)
			case "must_not":
				mustNot = append(mustNot, ps...)
			default: // filter scores nothing here, so it is must
				must = append(must, ps...)
			}
		case "minimum_should_match":
			n, ok := rawInt(v)
			if !ok {
				if s, sok := rawString(v); sok {
					if i, err := strconv.Atoi(s); err == nil {
						n, ok = i, true
					}
				}
			}
			if !ok {
				return nil, esBadRequest("illegal_argument_exception",
					"[bool] minimum_should_match: only whole numbers are supported by the slsync emulator")
			}
			msm = n
		case "boost", "_name", "adjust_pure_negative":
		default:
			return nil, esBadRequest("parsing_exception", fmt.Sprintf("[bool] query does not support [%s]", k))
		}
	}
	if msm < 0 {
		msm = 0
		if len(should) > 0 && len(must) == 0 {
			msm = 1
		}
	}
	return func(k *apiKey) bool {
		for _, p := range must {
			if !p(k) {
				return false
			}
		}
		for _, p := range mustNot {
			if p(k) {
				return false
			}
		}
		if msm > 0 {
			n := 0
			for _, p := range should {
				if p(k) {
					n++
				}
			}
			return n >= msm
		}
		return true
	}, nil
}

// singleField reads {"<field>": <value or options>} ignoring boost/_name,
// and resolves the field.
func singleField(typ string, raw json.RawMessage) (fieldRef, json.RawMessage, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return fieldRef{}, nil, esBadRequest("parsing_exception", fmt.Sprintf("[%s] query malformed, expected an object", typ))
	}
	var name string
	var val json.RawMessage
	for _, k := range sortedKeys(obj) {
		if k == "boost" || k == "_name" {
			continue
		}
		if name != "" {
			return fieldRef{}, nil, esBadRequest("parsing_exception",
				fmt.Sprintf("[%s] query doesn't support multiple fields, found [%s] and [%s]", typ, name, k))
		}
		name, val = k, obj[k]
	}
	if name == "" {
		return fieldRef{}, nil, esBadRequest("illegal_argument_exception", fmt.Sprintf("[%s] query requires a field name", typ))
	}
	f, e := resolveField(name)
	return f, val, e
}

// valueOption unwraps {"value": v, "case_insensitive": b} or a bare value.
func valueOption(typ string, raw json.RawMessage, valueKey string) (json.RawMessage, bool, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return raw, false, nil
	}
	var val json.RawMessage
	ci := false
	for _, k := range sortedKeys(obj) {
		switch k {
		case valueKey, "value":
			val = obj[k]
		case "case_insensitive":
			json.Unmarshal(obj[k], &ci)
		case "boost", "_name", "rewrite", "operator", "analyzer", "lenient", "zero_terms_query":
		default:
			return nil, false, esBadRequest("parsing_exception", fmt.Sprintf("[%s] query does not support [%s]", typ, k))
		}
	}
	if val == nil {
		return nil, false, esBadRequest("parsing_exception", fmt.Sprintf("[%s] query requires a [%s]", typ, valueKey))
	}
	return val, ci, nil
}

// scalar decodes a term value into a string, number or bool.
func scalar(raw json.RawMessage) (any, bool) {
	v, err := decodeAny(raw)
	if err != nil {
		return nil, false
	}
	switch v.(type) {
	case string, json.Number, bool:
		return v, true
	}
	return nil, false
}

func (qp *queryParser) equals(f fieldRef, v any, ci bool) (pred, *esErr) {
	switch f.kind {
	case kindDate:
		ms, err := parseDate(v, qp.nowMs, false)
		if err != nil {
			return nil, dateErr(f, v, err)
		}
		return func(k *apiKey) bool { d, ok := f.date(k); return ok && d == ms }, nil
	case kindBool:
		s := strings.ToLower(keywordOf(v))
		if s != "true" && s != "false" {
			return nil, esBadRequest("illegal_argument_exception",
				fmt.Sprintf("Can't parse boolean value [%s], expected [true] or [false]", keywordOf(v)))
		}
		return func(k *apiKey) bool { return strconv.FormatBool(k.Invalidated) == s }, nil
	}
	want := keywordOf(v)
	return func(k *apiKey) bool {
		for _, got := range f.keywords(k) {
			if got == want || (ci && strings.EqualFold(got, want)) {
				return true
			}
		}
		return false
	}, nil
}

func (qp *queryParser) parseTerm(raw json.RawMessage, match bool) (pred, *esErr) {
	typ, valueKey := "term", "value"
	if match {
		typ, valueKey = "match", "query"
	}
	f, v, e := singleField(typ, raw)
	if e != nil {
		return nil, e
	}
	val, ci, e := valueOption(typ, v, valueKey)
	if e != nil {
		return nil, e
	}
	sv, ok := scalar(val)
	if !ok {
		return nil, esBadRequest("parsing_exception", fmt.Sprintf("[%s] query does not support values of type %s", typ, jsonKind(val)))
	}
	return qp.equals(f, sv, ci)
}

func (qp *queryParser) parseTerms(raw json.RawMessage) (pred, *esErr) {
	f, v, e := singleField("terms", raw)
	if e != nil {
		return nil, e
	}
	arr, ok := rawArray(v)
	if !ok {
		return nil, esBadRequest("parsing_exception", "[terms] query does not support terms lookup; give an array of values")
	}
	var ps []pred
	for _, el := range arr {
		sv, ok := scalar(el)
		if !ok {
			return nil, esBadRequest("parsing_exception", "[terms] values must be strings, numbers or booleans")
		}
		p, e := qp.equals(f, sv, false)
		if e != nil {
			return nil, e
		}
		ps = append(ps, p)
	}
	return func(k *apiKey) bool {
		for _, p := range ps {
			if p(k) {
				return true
			}
		}
		return false
	}, nil
}

func parseIDs(raw json.RawMessage) (pred, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return nil, esBadRequest("parsing_exception", "[ids] query malformed, expected an object")
	}
	set := map[string]bool{}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "values":
			var ids []string
			if err := json.Unmarshal(obj[k], &ids); err != nil {
				return nil, esBadRequest("parsing_exception", "[ids] values must be an array of strings")
			}
			for _, id := range ids {
				set[id] = true
			}
		case "boost", "_name":
		default:
			return nil, esBadRequest("parsing_exception", fmt.Sprintf("[ids] query does not support [%s]", k))
		}
	}
	return func(k *apiKey) bool { return set[k.ID] }, nil
}

func (qp *queryParser) parsePattern(typ string, raw json.RawMessage) (pred, *esErr) {
	f, v, e := singleField(typ, raw)
	if e != nil {
		return nil, e
	}
	valueKey := "value"
	if typ == "wildcard" {
		valueKey = "wildcard"
	}
	val, ci, e := valueOption(typ, v, valueKey)
	if e != nil {
		return nil, e
	}
	pat, ok := rawString(val)
	if !ok {
		return nil, esBadRequest("parsing_exception", fmt.Sprintf("[%s] query requires a string value", typ))
	}
	if f.kind != kindKeyword {
		kind := "date"
		if f.kind == kindBool {
			kind = "boolean"
		}
		return nil, esBadRequest("query_shard_exception",
			fmt.Sprintf("Can only use %s queries on keyword and text fields - not on [%s] which is of type [%s]", typ, f.name, kind))
	}
	match := func(s string) bool {
		if typ == "prefix" {
			if ci {
				return strings.HasPrefix(strings.ToLower(s), strings.ToLower(pat))
			}
			return strings.HasPrefix(s, pat)
		}
		return globMatch(pat, s, ci)
	}
	return func(k *apiKey) bool {
		for _, s := range f.keywords(k) {
			if match(s) {
				return true
			}
		}
		return false
	}, nil
}

func parseExists(raw json.RawMessage) (pred, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return nil, esBadRequest("parsing_exception", "[exists] query malformed, expected an object")
	}
	name, ok := rawString(obj["field"])
	if !ok {
		return nil, esBadRequest("parsing_exception", "[exists] must be provided with a [field]")
	}
	f, e := resolveField(name)
	if e != nil {
		return nil, e
	}
	return f.exists, nil
}

func (qp *queryParser) parseRange(raw json.RawMessage) (pred, *esErr) {
	f, v, e := singleField("range", raw)
	if e != nil {
		return nil, e
	}
	opts, ok := rawObject(v)
	if !ok {
		return nil, esBadRequest("parsing_exception", "[range] query malformed, expected an object of bounds")
	}
	type bound struct {
		v         any
		inclusive bool
		upper     bool
	}
	var bounds []bound
	inclLower, inclUpper := true, true
	var from, to any
	for _, k := range sortedKeys(opts) {
		val := opts[k]
		if isNull(val) {
			continue
		}
		sv, _ := scalar(val)
		switch k {
		case "gt":
			bounds = append(bounds, bound{sv, false, false})
		case "gte":
			bounds = append(bounds, bound{sv, true, false})
		case "lt":
			bounds = append(bounds, bound{sv, false, true})
		case "lte":
			bounds = append(bounds, bound{sv, true, true})
		case "from":
			from = sv
		case "to":
			to = sv
		case "include_lower":
			json.Unmarshal(val, &inclLower)
		case "include_upper":
			json.Unmarshal(val, &inclUpper)
		case "format", "boost", "_name", "time_zone":
		case "relation":
			return nil, esBadRequest("illegal_argument_exception", "range query with [relation] is not supported for API Key query")
		default:
			return nil, esBadRequest("parsing_exception", fmt.Sprintf("[range] query does not support [%s]", k))
		}
	}
	if from != nil {
		bounds = append(bounds, bound{from, inclLower, false})
	}
	if to != nil {
		bounds = append(bounds, bound{to, inclUpper, true})
	}
	var checks []func(k *apiKey) bool
	for _, b := range bounds {
		if b.v == nil {
			return nil, esBadRequest("parsing_exception", "[range] bounds must be strings, numbers or booleans")
		}
		b := b
		if f.kind == kindDate {
			// Rounding in date math rounds up for gt and lte, down otherwise.
			roundUp := (!b.upper && !b.inclusive) || (b.upper && b.inclusive)
			ms, err := parseDate(b.v, qp.nowMs, roundUp)
			if err != nil {
				return nil, dateErr(f, b.v, err)
			}
			checks = append(checks, func(k *apiKey) bool {
				d, ok := f.date(k)
				return ok && cmpBound(cmp.Compare(d, ms), b.inclusive, b.upper)
			})
			continue
		}
		want := keywordOf(b.v)
		checks = append(checks, func(k *apiKey) bool {
			for _, s := range f.keywords(k) {
				if cmpBound(strings.Compare(s, want), b.inclusive, b.upper) {
					return true
				}
			}
			return false
		})
	}
	return func(k *apiKey) bool {
		for _, c := range checks {
			if !c(k) {
				return false
			}
		}
		return true
	}, nil
}

// cmpBound: c is compare(value, bound).
func cmpBound(c int, inclusive, upper bool) bool {
	switch {
	case upper && inclusive:
		return c <= 0
	case upper:
		return c < 0
	case inclusive:
		return c >= 0
	default:
		return c > 0
	}
}

func dateErr(f fieldRef, v any, err error) *esErr {
	e := esBadRequest("parse_exception", fmt.Sprintf("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]: [%s]", keywordOf(v), err))
	e.causedBy = esBadRequest("illegal_argument_exception", "failed to parse date field ["+keywordOf(v)+"]")
	return e
}

var dateMathRe = regexp.MustCompile(`^([+-]\d+[yMwdhHms])|^(/[yMwdhHms])`)

// parseDate reads a date value: epoch milliseconds (number or digits), an
// ISO-8601 date or date-time, or date math such as now-1d/d.
func parseDate(v any, nowMs int64, roundUp bool) (int64, error) {
	var s string
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, nil
		}
		f, err := t.Float64()
		if err != nil {
			return 0, err
		}
		return int64(f), nil
	case string:
		s = strings.TrimSpace(t)
	default:
		return 0, fmt.Errorf("not a date")
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	var base time.Time
	rest := ""
	if strings.HasPrefix(s, "now") {
		base, rest = time.UnixMilli(nowMs).UTC(), s[3:]
	} else {
		anchor, math, _ := strings.Cut(s, "||")
		t, err := parseISO(anchor)
		if err != nil {
			return 0, err
		}
		base, rest = t, math
	}
	for rest != "" {
		m := dateMathRe.FindString(rest)
		if m == "" {
			return 0, fmt.Errorf("invalid date math [%s]", rest)
		}
		rest = rest[len(m):]
		if m[0] == '/' {
			base = roundDate(base, m[1], roundUp)
			continue
		}
		n, _ := strconv.Atoi(m[1 : len(m)-1])
		if m[0] == '-' {
			n = -n
		}
		switch m[len(m)-1] {
		case 'y':
			base = base.AddDate(n, 0, 0)
		case 'M':
			base = base.AddDate(0, n, 0)
		case 'w':
			base = base.AddDate(0, 0, 7*n)
		case 'd':
			base = base.AddDate(0, 0, n)
		case 'h', 'H':
			base = base.Add(time.Duration(n) * time.Hour)
		case 'm':
			base = base.Add(time.Duration(n) * time.Minute)
		case 's':
			base = base.Add(time.Duration(n) * time.Second)
		}
	}
	return base.UnixMilli(), nil
}

func parseISO(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unparseable date [%s]", s)
}

func roundDate(t time.Time, unit byte, up bool) time.Time {
	var start, next time.Time
	switch unit {
	case 'y':
		start = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		next = start.AddDate(1, 0, 0)
	case 'M':
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		next = start.AddDate(0, 1, 0)
	case 'w':
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		start = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		next = start.AddDate(0, 0, 7)
	case 'd':
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		next = start.AddDate(0, 0, 1)
	case 'h', 'H':
		start, next = t.Truncate(time.Hour), t.Truncate(time.Hour).Add(time.Hour)
	case 'm':
		start, next = t.Truncate(time.Minute), t.Truncate(time.Minute).Add(time.Minute)
	default:
		start, next = t.Truncate(time.Second), t.Truncate(time.Second).Add(time.Second)
	}
	if up {
		return next.Add(-time.Millisecond)
	}
	return start
}

// --- sort -----------------------------------------------------------------------

type sortSpec struct {
	field  fieldRef
	doc    bool
	desc   bool
	format string
}

// sortVal is one sort value; missing sorts last in both directions.
type sortVal struct {
	missing bool
	s       string
	n       int64
}

func parseSort(raw json.RawMessage) ([]sortSpec, *esErr) {
	list, ok := rawArray(raw)
	if !ok {
		list = []json.RawMessage{raw}
	}
	var out []sortSpec
	for _, el := range list {
		var name string
		var opts json.RawMessage
		if s, ok := rawString(el); ok {
			name = s
		} else if obj, ok := rawObject(el); ok && len(obj) == 1 {
			for k, v := range obj {
				name, opts = k, v
			}
		} else {
			return nil, esBadRequest("parsing_exception", "[sort] entries must be a field name or {\"<field>\": {\"order\": \"asc|desc\"}}")
		}
		spec := sortSpec{}
		if name == "_doc" {
			spec.doc = true
		} else {
			f, e := resolveField(name)
			if e != nil || f.all {
				return nil, notAllowed(name)
			}
			spec.field = f
		}
		if opts != nil {
			if s, ok := rawString(opts); ok {
				opts, _ = json.Marshal(map[string]string{"order": s})
			}
			o, ok := rawObject(opts)
			if !ok {
				return nil, esBadRequest("parsing_exception", fmt.Sprintf("[sort] options for [%s] must be an object", name))
			}
			for _, k := range sortedKeys(o) {
				v, _ := rawString(o[k])
				switch k {
				case "order":
					switch v {
					case "asc":
					case "desc":
						spec.desc = true
					default:
						return nil, esBadRequest("illegal_argument_exception", fmt.Sprintf("Unknown SortOrder [%s]", v))
					}
				case "format":
					spec.format = v
				case "missing", "unmapped_type", "mode", "numeric_type":
				case "nested":
					return nil, esBadRequest("illegal_argument_exception", "nested sorting is not supported for API Key query")
				default:
					return nil, esBadRequest("parsing_exception", fmt.Sprintf("[field_sort] unknown field [%s]", k))
				}
			}
		}
		out = append(out, spec)
	}
	return out, nil
}

// value returns k's sort value for spec. Date fields missing a value sort
// with Long.MAX_VALUE (asc) or Long.MIN_VALUE (desc), as Elasticsearch does.
func (sp sortSpec) value(k *apiKey) sortVal {
	if sp.doc {
		return sortVal{n: k.Seq}
	}
	switch sp.field.kind {
	case kindDate:
		if d, ok := sp.field.date(k); ok {
			return sortVal{n: d}
		}
		if sp.desc {
			return sortVal{n: math.MinInt64}
		}
		return sortVal{n: math.MaxInt64}
	case kindBool:
		if k.Invalidated {
			return sortVal{n: 1}
		}
		return sortVal{n: 0}
	}
	vals := sp.field.keywords(k)
	if len(vals) == 0 {
		return sortVal{missing: true}
	}
	best := vals[0]
	for _, v := range vals[1:] {
		if (sp.desc && v > best) || (!sp.desc && v < best) {
			best = v
		}
	}
	return sortVal{s: best}
}

// compare orders a before b (-1) according to spec.
func (sp sortSpec) compare(a, b sortVal) int {
	if a.missing || b.missing {
		switch {
		case a.missing && b.missing:
			return 0
		case a.missing:
			return 1
		default:
			return -1
		}
	}
	c := 0
	if !sp.doc && sp.field.kind == kindKeyword {
		c = strings.Compare(a.s, b.s)
	} else {
		c = cmp.Compare(a.n, b.n)
	}
	if sp.desc {
		c = -c
	}
	return c
}

// render is the value shown in _sort.
func (sp sortSpec) render(v sortVal) any {
	switch {
	case v.missing:
		return nil
	case sp.doc:
		return v.n
	case sp.field.kind == kindKeyword:
		return v.s
	case sp.field.kind == kindBool:
		return v.n == 1
	}
	if sp.format != "" && sp.format != "epoch_millis" && v.n != math.MaxInt64 && v.n != math.MinInt64 {
		return time.UnixMilli(v.n).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return v.n
}

// parseAfter reads a search_after value for spec.
func (sp sortSpec) parseAfter(raw json.RawMessage, nowMs int64) (sortVal, *esErr) {
	if isNull(raw) {
		return sortVal{missing: true}, nil
	}
	v, ok := scalar(raw)
	if !ok {
		return sortVal{}, esBadRequest("illegal_argument_exception", "search_after values must be strings, numbers or booleans")
	}
	switch {
	case !sp.doc && sp.field.kind == kindKeyword:
		return sortVal{s: keywordOf(v)}, nil
	case !sp.doc && sp.field.kind == kindBool:
		if keywordOf(v) == "true" || keywordOf(v) == "1" {
			return sortVal{n: 1}, nil
		}
		return sortVal{n: 0}, nil
	}
	n, err := parseDate(v, nowMs, false)
	if err != nil {
		return sortVal{}, esBadRequest("illegal_argument_exception", fmt.Sprintf("Failed to parse search_after value [%s]", keywordOf(v)))
	}
	return sortVal{n: n}, nil
}

// --- the query endpoint ----------------------------------------------------------

func (s *Server) esQueryKeys(w http.ResponseWriter, r *http.Request) {
	const parser = "query_api_key_request_payload"
	s.esRoute(w, r, []string{"with_limited_by", "with_profile_uid", "typed_keys"}, func(c *esCall) esResult {
		withLimitedBy, e := esBool(c.r, "with_limited_by")
		if e != nil {
			return esFail(e)
		}
		qp := &queryParser{nowMs: c.nowMs}
		match := pred(func(*apiKey) bool { return true })
		from, size := 0, 10
		var sorts []sortSpec
		var after []json.RawMessage
		var haveAfter, haveAggs bool
		var aggs []aggSpec
		fields, e := c.fields(parser, false)
		if e != nil {
			return esFail(e)
		}
		for _, f := range fields {
			switch f.name {
			case "query":
				if match, e = qp.parse(f.raw); e != nil {
					return esFail(e)
				}
			case "from", "size":
				n, ok := rawInt(f.raw)
				if !ok {
					return esFail(f.wrongType(parser))
				}
				if f.name == "from" {
					from = n
				} else {
					size = n
				}
			case "sort":
				if sorts, e = parseSort(f.raw); e != nil {
					return esFail(e)
				}
			case "search_after":
				arr, ok := rawArray(f.raw)
				if !ok {
					return esFail(f.wrongType(parser))
				}
				after, haveAfter = arr, true
			case "aggs", "aggregations":
				if aggs, e = qp.parseAggs(f.raw); e != nil {
					return esFail(e)
				}
				haveAggs = true
			default:
				return esFail(f.unknown(parser))
			}
		}
		switch {
		case from < 0:
			return esFail(esBadRequest("illegal_argument_exception", fmt.Sprintf("[from] parameter cannot be negative but was [%d]", from)))
		case size < 0:
			return esFail(esBadRequest("illegal_argument_exception", fmt.Sprintf("[size] parameter cannot be negative, found [%d]", size)))
		case from+size > 10000:
			return esFail(esBadRequest("illegal_argument_exception", fmt.Sprintf(
				"Result window is too large, from + size must be less than or equal to: [10000] but was [%d]. See the scroll api for a more efficient way to request large data sets.", from+size)))
		case haveAfter && from > 0:
			return esFail(esBadRequest("illegal_argument_exception", "[from] parameter must be set to 0 when [search_after] is used"))
		case haveAfter && len(after) != len(sorts):
			return esFail(esBadRequest("illegal_argument_exception", fmt.Sprintf(
				"search_after has %d value(s) but sort has %d.", len(after), len(sorts))))
		}
		who := c.who
		g := who.grant(actQuery)
		if g == grantNone {
			return esFail(who.forbidden(actQuery))
		}
		if withLimitedBy && who.key != nil && who.grant(actInvalidate) != grantAll {
			return esFail(who.forbidden(actQuery))
		}
		// Without read_security/manage_api_key the query is silently
		// narrowed to the caller's own keys (for an API key: itself).
		ownOnly := g != grantAll
		var afterVals []sortVal
		for i, raw := range after {
			v, e := sorts[i].parseAfter(raw, c.nowMs)
			if e != nil {
				return esFail(e)
			}
			afterVals = append(afterVals, v)
		}
		type hit struct {
			k    *apiKey
			vals []sortVal
		}
		var hits []hit
		for _, k := range c.p.Keys {
			if !retained(k, c.nowMs) || (ownOnly && !who.owns(k)) || !match(k) {
				continue
			}
			h := hit{k: k}
			if len(sorts) > 0 {
				h.vals = make([]sortVal, len(sorts))
				for i, sp := range sorts {
					h.vals[i] = sp.value(k)
				}
			}
			hits = append(hits, h)
		}
		order := func(a, b []sortVal) int {
			for i, sp := range sorts {
				if c := sp.compare(a[i], b[i]); c != 0 {
					return c
				}
			}
			return 0
		}
		if len(sorts) > 0 {
			sort.SliceStable(hits, func(i, j int) bool { return order(hits[i].vals, hits[j].vals) < 0 })
		}
		total := len(hits)
		var aggResult map[string]any
		if haveAggs {
			matched := make([]*apiKey, len(hits))
			for i, h := range hits {
				matched[i] = h.k
			}
			typedKeys, e := esBool(c.r, "typed_keys")
			if e != nil {
				return esFail(e)
			}
			aggResult = runAggs(aggs, matched, typedKeys)
		}
		if haveAfter {
			i := sort.Search(len(hits), func(i int) bool { return order(hits[i].vals, afterVals) > 0 })
			hits = hits[i:]
		}
		if from > len(hits) {
			from = len(hits)
		}
		hits = hits[from:]
		if size < len(hits) {
			hits = hits[:size]
		}
		out := make([]apiKeyView, 0, len(hits))
		for _, h := range hits {
			v := h.k.view(withLimitedBy)
			if len(sorts) > 0 {
				v.Sort = make([]any, len(sorts))
				for i, sp := range sorts {
					v.Sort[i] = sp.render(h.vals[i])
				}
			}
			out = append(out, v)
		}
		resp := map[string]any{"total": total, "count": len(out), "api_keys": out}
		if haveAggs {
			resp["aggregations"] = aggResult
		}
		return esOK(resp)
	})
}
