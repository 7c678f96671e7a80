package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/schema"
)

// validator is the compiled manifest schema plus the schema document itself,
// which error translation reads: the "errorMessage" a schema carries (the
// same extension VS Code and yaml-language-server show), the allowed
// property names for unknown-field errors, enum values and ranges.
type validator struct {
	sch *jsonschema.Schema
	doc any
}

// compiledSchema compiles the embedded schema once per process: compiling
// costs milliseconds and a compiled schema is safe for concurrent use.
var compiledSchema = sync.OnceValues(func() (*validator, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource(schema.URL, bytes.NewReader(schema.JSON)); err != nil {
		return nil, fmt.Errorf("manifest schema: %w", err)
	}
	sch, err := c.Compile(schema.URL)
	if err != nil {
		return nil, fmt.Errorf("manifest schema: %#v", err)
	}
	var doc any
	if err := json.Unmarshal(schema.JSON, &doc); err != nil {
		return nil, fmt.Errorf("manifest schema: %w", err)
	}
	return &validator{sch: sch, doc: doc}, nil
})

// issue is one problem found in a decoded document, in slsync's terms: the
// path of the offending field and what is wrong with it. The loader turns
// issues into located Diagnostics.
type issue struct {
	path    []string
	message string
	warn    bool // a warning, not an error
}

// validate checks one decoded document and returns its violations, one per
// offending field, in a stable order.
func (v *validator) validate(doc any) ([]issue, error) {
	err := v.sch.Validate(doc)
	if err == nil {
		return nil, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, err
	}
	var leaves []*jsonschema.ValidationError
	v.collect(ve, &leaves)
	sort.SliceStable(leaves, func(i, j int) bool {
		if leaves[i].InstanceLocation != leaves[j].InstanceLocation {
			return leaves[i].InstanceLocation < leaves[j].InstanceLocation
		}
		return leaves[i].KeywordLocation < leaves[j].KeywordLocation
	})
	var out []issue
	for _, l := range leaves {
		out = append(out, v.translate(doc, l)...)
	}
	return out, nil
}

// collect gathers the errors worth reporting: leaves, except that an
// anyOf/oneOf failure is reported once (its branches' complaints are noise
// to a user who meant one of them).
func (v *validator) collect(ve *jsonschema.ValidationError, out *[]*jsonschema.ValidationError) {
	_, kw, _ := v.keyword(ve.AbsoluteKeywordLocation)
	if len(ve.Causes) == 0 || kw == "anyOf" || kw == "oneOf" {
		*out = append(*out, ve)
		return
	}
	for _, c := range ve.Causes {
		v.collect(c, out)
	}
}

// keywords are the schema keywords that can fail on their own.
var keywords = map[string]bool{
	"type": true, "enum": true, "const": true, "pattern": true, "minLength": true, "maxLength": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true, "multipleOf": true,
	"minItems": true, "maxItems": true, "uniqueItems": true, "minProperties": true, "maxProperties": true,
	"required": true, "additionalProperties": true, "dependentRequired": true, "not": true,
	"anyOf": true, "oneOf": true, "allOf": true, "then": true, "else": true, "$ref": true, "format": true,
}

// containers are schema keywords whose children are named by the user, not
// keywords: a property called "type" under "properties" is not the keyword.
var containers = map[string]bool{"properties": true, "$defs": true, "patternProperties": true, "dependentRequired": true}

// keyword splits an absolute keyword location into the schema object that
// holds the failing keyword, and the keyword.
func (v *validator) keyword(abs string) (map[string]any, string, bool) {
	_, frag, _ := strings.Cut(abs, "#")
	var segs []string
	for _, s := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if s == "" {
			continue
		}
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		segs = append(segs, strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~"))
	}
	for i := len(segs) - 1; i >= 0; i-- {
		if !keywords[segs[i]] || (i > 0 && containers[segs[i-1]]) {
			continue
		}
		if m, ok := resolvePtr(v.doc, segs[:i]).(map[string]any); ok {
			return m, segs[i], true
		}
	}
	m, _ := resolvePtr(v.doc, segs).(map[string]any)
	return m, "", m != nil
}

func resolvePtr(doc any, segs []string) any {
	cur := doc
	for _, s := range segs {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[s]
		case []any:
			i := 0
			if _, err := fmt.Sscan(s, &i); err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// instancePath decodes a jsonschema v5 InstanceLocation: each segment is
// JSON-pointer escaped and then URL path escaped (§2.4).
func instancePath(loc string) []string {
	if loc == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(loc, "/"), "/")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		out = append(out, strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~"))
	}
	return out
}

// translate turns one schema error into located, human issues.
func (v *validator) translate(doc any, ve *jsonschema.ValidationError) []issue {
	path := instancePath(ve.InstanceLocation)
	sch, kw, _ := v.keyword(ve.AbsoluteKeywordLocation)
	custom, _ := sch["errorMessage"].(string)
	val, _ := valueAt(doc, path)

	// A key name that fails propertyNames: blame the key.
	if strings.Contains(ve.KeywordLocation, "/propertyNames") && len(path) > 0 {
		msg := custom
		if msg == "" {
			msg = genericMessage(sch, kw, val, ve.Message)
		}
		return []issue{{path: path, message: fmt.Sprintf("invalid key %q: %s", path[len(path)-1], msg)}}
	}

	switch kw {
	case "additionalProperties":
		obj, _ := val.(map[string]any)
		props, _ := sch["properties"].(map[string]any)
		allowed := model.SortedKeys(props)
		var out []issue
		for _, k := range model.SortedKeys(obj) {
			if _, ok := props[k]; ok {
				continue
			}
			msg := fmt.Sprintf("unknown field %q", k)
			if s := suggest(k, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			msg += "; allowed here: " + strings.Join(allowed, ", ")
			out = append(out, issue{path: appendPath(path, k), message: msg})
		}
		return out
	case "required":
		obj, _ := val.(map[string]any)
		req := stringList(sch["required"])
		var out []issue
		for _, r := range req {
			if _, ok := obj[r]; ok {
				continue
			}
			where := "this mapping"
			if len(path) == 0 {
				where = "every manifest document"
			} else if len(path) == 2 && path[0] == "projects" {
				where = "every project"
			}
			msg := fmt.Sprintf("missing required field %q; %s needs: %s", r, where, strings.Join(req, ", "))
			out = append(out, issue{path: path, message: msg})
		}
		return out
	case "dependentRequired":
		obj, _ := val.(map[string]any)
		deps, _ := sch["dependentRequired"].(map[string]any)
		var out []issue
		for _, k := range model.SortedKeys(deps) {
			if _, ok := obj[k]; !ok {
				continue
			}
			for _, need := range stringList(deps[k]) {
				if _, ok := obj[need]; !ok {
					out = append(out, issue{path: appendPath(path, k), message: fmt.Sprintf("%s needs %s beside it", k, need)})
				}
			}
		}
		return out
	case "not":
		msg := custom
		if msg == "" {
			msg = "this field is not allowed here"
		}
		if len(path) >= 3 && path[0] == "projects" {
			if p, ok := valueAt(doc, path[:2]); ok {
				if t, ok := p.(map[string]any)["type"].(string); ok {
					msg += fmt.Sprintf(" (this project's type is %s)", t)
				}
			}
		}
		return []issue{{path: path, message: msg}}
	case "minProperties", "maxProperties", "minItems", "maxItems":
		msg := genericMessage(sch, kw, val, ve.Message)
		if custom != "" {
			msg = fmt.Sprintf("%s; %s", countOf(val), custom)
		}
		return []issue{{path: path, message: msg}}
	}
	if custom != "" {
		return []issue{{path: path, message: fmt.Sprintf("invalid value %s: %s", describe(val), custom)}}
	}
	return []issue{{path: path, message: genericMessage(sch, kw, val, ve.Message)}}
}

// genericMessage phrases a violation of a schema without an errorMessage.
func genericMessage(sch map[string]any, kw string, val any, fallback string) string {
	switch kw {
	case "type":
		var want []string
		switch t := sch["type"].(type) {
		case string:
			want = []string{typeName(t)}
		case []any:
			for _, x := range t {
				if s, ok := x.(string); ok {
					want = append(want, typeName(s))
				}
			}
		}
		return fmt.Sprintf("expected %s, found %s", strings.Join(want, " or "), describe(val))
	case "enum":
		var allowed []string
		enum, _ := sch["enum"].([]any)
		for _, e := range enum {
			allowed = append(allowed, fmt.Sprint(e))
		}
		msg := fmt.Sprintf("invalid value %s; allowed: %s", describe(val), strings.Join(allowed, ", "))
		if s, ok := val.(string); ok {
			if g := suggest(s, allowed); g != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", g)
			}
		}
		return msg
	case "minLength", "maxLength":
		s, _ := val.(string)
		return fmt.Sprintf("%s is %d characters long; allowed: %s characters", describe(val), len([]rune(s)), rangeText(sch["minLength"], sch["maxLength"]))
	case "minimum", "maximum":
		return fmt.Sprintf("%s is out of range; allowed: %s", describe(val), rangeText(sch["minimum"], sch["maximum"]))
	case "minItems", "maxItems":
		return fmt.Sprintf("%s; allowed: %s items", countOf(val), rangeText(sch["minItems"], sch["maxItems"]))
	case "minProperties", "maxProperties":
		return fmt.Sprintf("%s; allowed: %s entries", countOf(val), rangeText(sch["minProperties"], sch["maxProperties"]))
	case "pattern":
		return fmt.Sprintf("invalid value %s: must match %v", describe(val), sch["pattern"])
	case "uniqueItems":
		return fallback + "; list each value once"
	}
	return fallback
}

func rangeText(lo, hi any) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("%v-%v", lo, hi)
	case lo != nil:
		return fmt.Sprintf("at least %v", lo)
	case hi != nil:
		return fmt.Sprintf("at most %v", hi)
	}
	return "any"
}

func typeName(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "string":
		return "a string"
	case "integer":
		return "a whole number"
	case "number":
		return "a number"
	case "boolean":
		return "true or false"
	case "null":
		return "null"
	}
	return t
}

// describe renders a value for a message: scalars as written (strings
// quoted and shortened), collections by kind.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null (empty value)"
	case string:
		if r := []rune(x); len(r) > 60 {
			x = string(r[:57]) + "..."
		}
		return fmt.Sprintf("%q", x)
	case bool:
		return fmt.Sprintf("%v (a boolean)", x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case float64:
		return fmt.Sprintf("%v (a number)", x)
	default:
		return fmt.Sprintf("%v (a number)", x)
	}
}

func countOf(v any) string {
	n, word := 0, ""
	switch x := v.(type) {
	case map[string]any:
		n, word = len(x), "entr"
	case []any:
		n, word = len(x), "item"
	default:
		return "has the wrong number of entries"
	}
	switch {
	case n == 1 && word == "entr":
		return "has 1 entry"
	case word == "entr":
		return fmt.Sprintf("has %d entries", n)
	case n == 1:
		return "has 1 item"
	}
	return fmt.Sprintf("has %d items", n)
}

func stringList(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func model_sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func appendPath(p []string, k string) []string {
	return append(append(make([]string, 0, len(p)+1), p...), k)
}

// valueAt walks a decoded document along path.
func valueAt(doc any, path []string) (any, bool) {
	cur := doc
	for _, s := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[s]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i := -1
			if _, err := fmt.Sscan(s, &i); err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// suggest returns the candidate closest to s when it is close enough to be
// a plausible typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+1
	if bestD > 3 {
		bestD = 3
	}
	for _, c := range candidates {
		if d := levenshtein(s, c); d <= bestD && (best == "" || d < levenshtein(s, best)) {
			best = c
		}
	}
	if best == s {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
