package roledesc

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Canonical returns the normal form of an API key's role_descriptors (role
// name -> descriptor), in which a descriptor written in a manifest and the
// same descriptor as Elasticsearch returns it on read are deeply equal.
//
// Elasticsearch fills in defaults and rewrites some input on read
// (shared/reference/elasticsearch-api-keys.md §10); comparing raw values would
// show a change on every plan. The normal form therefore:
//   - drops what Elasticsearch adds or discards: empty cluster, indices,
//     applications, run_as, remote_indices, remote_cluster lists, metadata {},
//     transient_metadata, restriction {}, global {}, field_security {},
//     allow_restricted_indices:false (the default);
//   - renames the input aliases index -> indices, application -> applications;
//   - turns names: "x" into ["x"] and a query given as a JSON string into the
//     parsed JSON value (Elasticsearch returns a string whatever was sent);
//   - treats every privilege, name, field, resource, cluster and run_as list as
//     a set (sorted, duplicates removed; predefined privilege names
//     lower-cased, because Elasticsearch resolves them case-insensitively), and
//     the entries of indices/applications/remote_* lists as a set too;
//   - turns every number into float64, the type encoding/json produces.
//
// Role names are kept verbatim: Elasticsearch stores them as given. Values of
// an unexpected shape are kept (normalised as plain JSON) rather than dropped,
// so that a real difference is never hidden. A nil input gives an empty map.
func Canonical(rd map[string]any) map[string]any {
	out := make(map[string]any, len(rd))
	for name, d := range rd {
		out[name] = canonicalDescriptor(d)
	}
	return out
}

// Equal reports whether two role_descriptors maps grant the same thing once
// normalised (see Canonical).
func Equal(a, b map[string]any) bool {
	return plainEqual(Canonical(a), Canonical(b))
}

// plainEqual is reflect.DeepEqual for plain JSON values (see Plain), without
// reflection: the diff compares thousands of descriptors per plan.
func plainEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !plainEqual(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !plainEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case string, float64, bool, nil:
		return a == b
	}
	return reflect.DeepEqual(a, b)
}

// PlainEqual reports whether two JSON-ish values are equal once converted
// to plain form (integers and float64 compare equal).
func PlainEqual(a, b any) bool { return plainEqual(Plain(a), Plain(b)) }

// CanonicalJSON renders the normal form as indented JSON with sorted keys and
// without HTML escaping, one value per line, so that a line diff of two
// renderings shows exactly the privileges that differ.
func CanonicalJSON(rd map[string]any) string {
	return JSON(Canonical(rd))
}

// JSON renders any plain value as indented JSON with sorted keys and no HTML
// escaping, ending in a newline.
func JSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Plain(v)); err != nil {
		// Only NaN/Inf can fail here; show them rather than fail the plan.
		return strconv.Quote(err.Error()) + "\n"
	}
	return buf.String()
}

// Plain converts a JSON-ish value to the plain types encoding/json decodes
// into (map[string]any, []any, string, float64, bool, nil): integers of any
// Go type and json.Number become float64, typed maps and slices become their
// generic forms. Values decoded from YAML and from API JSON then compare equal
// with reflect.DeepEqual.
func Plain(v any) any {
	switch t := v.(type) {
	case nil, string, bool, float64:
		return t
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = Plain(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = Plain(x)
		}
		return s
	case []string:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = x
		}
		return s
	case map[string]string:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = x
		}
		return m
	case json.Number:
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	case int:
		return float64(t)
	case int8:
		return float64(t)
	case int16:
		return float64(t)
	case int32:
		return float64(t)
	case int64:
		return float64(t)
	case uint:
		return float64(t)
	case uint8:
		return float64(t)
	case uint16:
		return float64(t)
	case uint32:
		return float64(t)
	case uint64:
		return float64(t)
	case float32:
		return float64(t)
	}
	// Other typed maps/slices (e.g. map[string]int): go through reflection.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				m[it.Key().String()] = Plain(it.Value().Interface())
			}
			return m
		}
	case reflect.Slice, reflect.Array:
		s := make([]any, rv.Len())
		for i := range s {
			s[i] = Plain(rv.Index(i).Interface())
		}
		return s
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return Plain(rv.Elem().Interface())
	}
	return v
}

// shallow returns v itself when its outer layer is already a plain JSON type
// (the usual case), and its plain copy otherwise. Nested values are made
// plain where they are kept, so the common input is not copied twice.
func shallow(v any) any {
	switch v.(type) {
	case nil, map[string]any, []any, string, bool, float64:
		return v
	}
	return Plain(v)
}

// canonicalDescriptor normalises one role descriptor.
func canonicalDescriptor(d any) any {
	m, ok := d.(map[string]any)
	if !ok {
		if m, ok = Plain(d).(map[string]any); !ok {
			return Plain(d)
		}
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch k {
		case "transient_metadata":
			// Read and discarded by Elasticsearch; always {"enabled":true} on read.
			continue
		case "cluster":
			putList(out, k, privilegeSet(v))
		case "run_as":
			putList(out, k, stringSet(v))
		case "index", "indices":
			appendEntries(out, "indices", v, canonicalIndex)
		case "remote_indices":
			appendEntries(out, k, v, canonicalIndex)
		case "application", "applications":
			appendEntries(out, "applications", v, canonicalApplication)
		case "remote_cluster":
			appendEntries(out, k, v, canonicalRemoteCluster)
		case "metadata", "global":
			if mm, ok := v.(map[string]any); ok && len(mm) == 0 {
				continue
			}
			if v == nil {
				continue
			}
			out[k] = Plain(v)
		case "restriction":
			if r := canonicalRestriction(Plain(v)); r != nil {
				out[k] = r
			}
		default:
			out[k] = Plain(v)
		}
	}
	for _, k := range []string{"indices", "remote_indices", "applications", "remote_cluster"} {
		if l, ok := out[k].([]any); ok {
			out[k] = sortEntries(l)
			if len(l) == 0 {
				delete(out, k)
			}
		}
	}
	return out
}

// canonicalIndex normalises one indices / remote_indices entry.
func canonicalIndex(e map[string]any) map[string]any {
	out := make(map[string]any, len(e))
	for k, v := range e {
		switch k {
		case "names", "clusters":
			out[k] = stringSet(v)
		case "privileges":
			out[k] = privilegeSet(v)
		case "allow_restricted_indices":
			if b, ok := v.(bool); ok && !b {
				continue
			}
			out[k] = Plain(v)
		case "field_security":
			fs, ok := shallow(v).(map[string]any)
			if !ok {
				out[k] = Plain(v)
				continue
			}
			c := make(map[string]any, len(fs))
			for fk, fv := range fs {
				if fk == "grant" || fk == "except" {
					c[fk] = stringSet(fv)
				} else {
					c[fk] = Plain(fv)
				}
			}
			if len(c) > 0 {
				out[k] = c
			}
		case "query":
			if q := canonicalQuery(Plain(v)); q != nil {
				out[k] = q
			}
		default:
			out[k] = Plain(v)
		}
	}
	return out
}

// canonicalQuery parses a query given as JSON text: Elasticsearch returns the
// query as a string whatever was sent, with unverified formatting.
func canonicalQuery(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	if strings.TrimSpace(s) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	var parsed any
	if err := dec.Decode(&parsed); err != nil || dec.More() {
		return s
	}
	if _, isString := parsed.(string); isString {
		// JSON text of a string: keep the text, so that normalising the
		// result again gives the same value.
		return s
	}
	return parsed
}

func canonicalApplication(e map[string]any) map[string]any {
	out := make(map[string]any, len(e))
	for k, v := range e {
		switch k {
		case "privileges", "resources":
			out[k] = stringSet(v)
		default:
			out[k] = Plain(v)
		}
	}
	return out
}

func canonicalRemoteCluster(e map[string]any) map[string]any {
	out := make(map[string]any, len(e))
	for k, v := range e {
		switch k {
		case "clusters":
			out[k] = stringSet(v)
		case "privileges":
			out[k] = privilegeSet(v)
		default:
			out[k] = Plain(v)
		}
	}
	return out
}

func canonicalRestriction(v any) any {
	r, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(r))
	for k, x := range r {
		if k == "workflows" {
			s := stringSet(x)
			if l, ok := s.([]any); ok && len(l) == 0 {
				continue
			}
			out[k] = s
			continue
		}
		out[k] = x
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// appendEntries normalises a list of objects (or a single object, as the
// singular input aliases allow) and appends it to out[key].
func appendEntries(out map[string]any, key string, v any, norm func(map[string]any) map[string]any) {
	var items []any
	switch t := shallow(v).(type) {
	case nil:
	case []any:
		items = t
	case map[string]any:
		items = []any{t}
	default:
		// Not a list of objects: keep it as it is so the difference shows.
		out[key] = t
		return
	}
	cur, _ := out[key].([]any)
	for _, it := range items {
		if m, ok := shallow(it).(map[string]any); ok {
			cur = append(cur, norm(m))
		} else {
			cur = append(cur, Plain(it))
		}
	}
	if cur == nil {
		cur = []any{}
	}
	out[key] = cur
}

// sortEntries orders a list of objects by their canonical JSON and removes
// exact duplicates: the entries of a descriptor grant the union of their
// privileges, so their order and repetition carry no meaning.
func sortEntries(l []any) []any {
	if len(l) < 2 {
		return l
	}
	type keyed struct {
		k string
		v any
	}
	ks := make([]keyed, len(l))
	for i, v := range l {
		b, _ := json.Marshal(v) // map keys are sorted by encoding/json
		ks[i] = keyed{string(b), v}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].k < ks[j].k })
	out := make([]any, 0, len(ks))
	for i, e := range ks {
		if i > 0 && e.k == ks[i-1].k {
			continue
		}
		out = append(out, e.v)
	}
	return out
}

func putList(out map[string]any, key string, v any) {
	if l, ok := v.([]any); ok && len(l) == 0 {
		return
	}
	out[key] = v
}

// stringSet turns a string or a list of strings into a sorted, de-duplicated
// []any. Anything else is returned unchanged.
func stringSet(v any) any { return set(v, false) }

// privilegeSet is stringSet with predefined privilege names lower-cased;
// action patterns ("indices:data/read/*") are kept as written.
func privilegeSet(v any) any { return set(v, true) }

func set(v any, privileges bool) any {
	var items []any
	switch t := shallow(v).(type) {
	case nil:
		return []any{}
	case string:
		items = []any{t}
	case []any:
		items = t
	default:
		return t
	}
	strs := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return Plain(v) // a non-string in the list: keep as is, the diff will show it
		}
		if privileges && !strings.Contains(s, ":") {
			s = strings.ToLower(s)
		}
		strs = append(strs, s)
	}
	sort.Strings(strs)
	out := make([]any, 0, len(strs))
	for i, s := range strs {
		if i > 0 && s == strs[i-1] {
			continue
		}
		out = append(out, s)
	}
	return out
}
