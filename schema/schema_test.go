package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/slsync/slsync/internal/roledesc"
)

func load(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(JSON, &doc); err != nil {
		t.Fatalf("schema is not valid JSON: %v", err)
	}
	return doc
}

func TestSchemaCompiles(t *testing.T) {
	doc := load(t)
	if doc["$id"] != URL || doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$id %v, $schema %v", doc["$id"], doc["$schema"])
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(URL, bytes.NewReader(JSON)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile(URL); err != nil {
		t.Fatalf("%#v", err)
	}
}

// walkProperties calls fn for every property definition in the schema, with
// its name and the path to it.
func walkProperties(node any, path string, fn func(name, path string, def map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			for name, def := range props {
				if d, ok := def.(map[string]any); ok {
					fn(name, path+"/properties/"+name, d)
				}
			}
		}
		for k, v := range n {
			walkProperties(v, path+"/"+k, fn)
		}
	case []any:
		for _, v := range n {
			walkProperties(v, path+"/[]", fn)
		}
	}
}

// inConditional reports whether a property definition only restricts a
// field per project type (if/then), rather than defining it.
func inConditional(path string) bool {
	return strings.Contains(path, "/then/") || strings.Contains(path, "/if/")
}

func TestEveryPropertyIsDescribedAndClosed(t *testing.T) {
	walkProperties(load(t), "#", func(name, path string, def map[string]any) {
		if inConditional(path) {
			return
		}
		if d, _ := def["description"].(string); d == "" {
			t.Errorf("%s has no description (editors show it on hover)", path)
		}
		if def["type"] == "object" {
			if _, ok := def["additionalProperties"]; !ok {
				t.Errorf("%s is an object without additionalProperties (false, or a schema for map values)", path)
			}
		}
	})
}

// TestReadmeDocumentsEveryProperty keeps README.md from
// drifting: each property of the schema must appear there as `name`.
func TestReadmeDocumentsEveryProperty(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	walkProperties(load(t), "#", func(name, path string, _ map[string]any) {
		if !seen[name] && !bytes.Contains(doc, []byte("`"+name+"`")) {
			t.Errorf("README.md does not mention `%s` (%s)", name, path)
		}
		seen[name] = true
	})
	if len(seen) < 30 {
		t.Fatalf("found only %d properties; is the walk broken?", len(seen))
	}
}

// TestPrivilegeSuggestionsMatchRoledesc: the privilege names editors offer
// (schema "examples") are exactly the ones slsync accepts.
func TestPrivilegeSuggestionsMatchRoledesc(t *testing.T) {
	var cluster, index []string
	walkProperties(load(t), "#", func(name, path string, def map[string]any) {
		items, _ := def["items"].(map[string]any)
		ex, _ := items["examples"].([]any)
		var list []string
		for _, e := range ex {
			list = append(list, e.(string))
		}
		switch {
		case name == "cluster":
			cluster = list
		case name == "privileges" && strings.Contains(path, "indices"):
			index = list
		}
	})
	sorted := func(s []string) []string { s = append([]string(nil), s...); sort.Strings(s); return s }
	if !reflect.DeepEqual(sorted(cluster), sorted(roledesc.ClusterPrivileges)) {
		t.Errorf("cluster privilege examples differ from roledesc.ClusterPrivileges:\n%v\n%v", cluster, roledesc.ClusterPrivileges)
	}
	if !reflect.DeepEqual(sorted(index), sorted(roledesc.IndexPrivileges)) {
		t.Errorf("index privilege examples differ from roledesc.IndexPrivileges:\n%v\n%v", index, roledesc.IndexPrivileges)
	}
}
