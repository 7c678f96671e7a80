package manifest

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// seeds are inputs that reach the loader's corners: every example, the
// traps of go-yaml (empty documents, anchors, merge keys, tags, .nan),
// and malformed manifests.
func seeds(tb testing.TB) [][]byte {
	out := [][]byte{
		[]byte(esProject),
		[]byte(esProject + "    regoin: x\n    alias: Bad\n    product_tier: complete\n"),
		[]byte("owner: acme\nbase: &b {type: elasticsearch, name: x}\nprojects:\n  a:\n    <<: *b\n    region_id: aws-us-east-1\n  c: *b\n"),
		[]byte("owner: !!str 12\nprojects: !!map {a: !!binary aGk=}\n"),
		[]byte("a: 1\n---\n---\nb: 2\n"),
		[]byte("owner: acme\nprojects:\n  a: {search_lake: {search_power: .nan}}\n"),
		[]byte("owner: acme\nprojects:\n  a:\n    api_keys:\n      k: {expiration: 1d, rotate_before: 2d, metadata: {_a: 1}, role_descriptors: {r: {cluster: [x], indices: [{names: a, privileges: [b]}]}}}\n"),
		[]byte("? [a, b]\n: c\n1: 2\n~: x\n"),
		[]byte("a: &a [*a]\n"),
		[]byte("x: &x [1,2]\ny: &y [*x,*x]\nz: [*y,*y]\n"),
		[]byte("owner: acme\nprojects:\n  a: {tags: {a: b, a: c}}\n  a: {}\n"),
		[]byte("\t- x\n"),
		[]byte(strings.Repeat("[", 200)),
		[]byte("owner: acme\nprojects:\n  a:\n    desc: |\n      text\n      more\n    name: >-\n      folded\n"),
	}
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*"))
	for _, d := range dirs {
		files, _ := ListFiles(d)
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				out = append(out, b)
			}
		}
	}
	return out
}

// FuzzLoad: no input makes the loader panic, and what it reports is
// well-formed: sorted, located in the given files, within their lines.
// Panics inside go-yaml or jsonschema become diagnostics by design; a panic
// in slsync's own code crashes the test.
func FuzzLoad(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s, []byte(esProject))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		files := []File{{Path: "a.yaml", Src: a}, {Path: "b.yaml", Src: b}}
		set, diags := LoadFiles(files)
		if set == nil {
			t.Fatal("nil set")
		}
		// YAML line breaks are \n, \r\n and a lone \r.
		breaks := func(s []byte) int { return bytes.Count(s, []byte("\n")) + bytes.Count(s, []byte("\r")) + 1 }
		lines := map[string]int{"a.yaml": breaks(a), "b.yaml": breaks(b)}
		sorted := append(Diagnostics(nil), diags...)
		sorted.Sort()
		if !reflect.DeepEqual(sorted, diags) {
			t.Fatal("diagnostics are not sorted")
		}
		for _, d := range diags {
			n, ok := lines[d.Location.File]
			if !ok || d.Location.Line < 0 || d.Location.Line > n || d.Message == "" {
				t.Fatalf("badly located diagnostic: %+v", d)
			}
		}
		if !diags.HasErrors() && set.Owner == "" && len(set.Projects) > 0 {
			t.Fatal("a valid set with projects must have an owner")
		}
		var out bytes.Buffer
		if err := diags.WriteText(&out, true); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeMatchesGoYAML: the fast decoding path gives exactly what
// yaml.NodeToValue gives, whenever it takes a document at all.
func FuzzDecodeMatchesGoYAML(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var docs []*parserDoc
		if err := guard(func() { docs = parseDocs(src) }); err != nil {
			return
		}
		for _, d := range docs {
			got, _, ok := plainDecode(d.body)
			if !ok {
				continue
			}
			var want any
			var err error
			if gerr := guard(func() { err = yaml.NodeToValue(d.body, &want, yaml.AllowDuplicateMapKey()) }); gerr != nil {
				return
			}
			if err != nil {
				t.Fatalf("fast path accepted a document go-yaml rejects (%v):\n%s", err, src)
			}
			if !sameValue(got, want) {
				t.Fatalf("fast path differs from go-yaml:\n got %#v\nwant %#v\nsource:\n%s", got, want, src)
			}
		}
	})
}

type parserDoc struct{ body ast.Node }

func parseDocs(src []byte) []*parserDoc {
	file, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil
	}
	var out []*parserDoc
	for _, d := range file.Docs {
		if d != nil && d.Body != nil {
			out = append(out, &parserDoc{body: d.Body})
		}
	}
	return out
}

// sameValue is reflect.DeepEqual that treats NaN as equal to NaN.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || (math.IsNaN(x) && math.IsNaN(y)))
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
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
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
