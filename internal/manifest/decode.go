package manifest

import (
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// plainDecoder converts a document's AST into plain Go values exactly as
// yaml.NodeToValue does (duplicate keys allowed, the last one winning), and
// notes the duplicate keys on the way.
//
// Why not always call NodeToValue: it decodes through reflection and was a
// quarter of the time of loading a large set. Plain documents (mappings,
// sequences and scalars, which is what manifests are) take this direct
// path; a document with anchors, aliases, merge keys, tags or complex keys
// goes to go-yaml itself, so their subtle semantics stay go-yaml's.
// FuzzDecodeMatchesGoYAML checks that both paths agree.
type plainDecoder struct {
	path []string
	dups []dupKey
}

// plainDecode returns the document's value and duplicate keys, or ok=false
// when the document is not plain (or nests deeper than maxNesting).
func plainDecode(body ast.Node) (v any, dups []dupKey, ok bool) {
	d := &plainDecoder{}
	v, ok = d.value(body, 0)
	return v, d.dups, ok
}

// goyamlDecode is go-yaml's own conversion, for documents that are not plain.
func goyamlDecode(body ast.Node) (any, error) {
	var v any
	err := yaml.NodeToValue(body, &v, yaml.AllowDuplicateMapKey())
	return v, err
}

func (d *plainDecoder) value(n ast.Node, depth int) (any, bool) {
	if depth > maxNesting {
		return nil, false
	}
	switch v := n.(type) {
	case *ast.NullNode:
		return nil, true
	case *ast.StringNode:
		return v.GetValue(), true
	case *ast.IntegerNode:
		return v.GetValue(), true
	case *ast.FloatNode:
		return v.GetValue(), true
	case *ast.BoolNode:
		return v.GetValue(), true
	case *ast.InfinityNode:
		return v.GetValue(), true
	case *ast.NanNode:
		return v.GetValue(), true
	case *ast.LiteralNode:
		if v.Value == nil {
			return nil, false
		}
		return v.Value.GetValue(), true
	case *ast.MappingNode:
		return d.mapping(v.Values, depth)
	case *ast.MappingValueNode:
		return d.mapping([]*ast.MappingValueNode{v}, depth)
	case *ast.SequenceNode:
		s := make([]any, 0, len(v.Values))
		for i, item := range v.Values {
			d.path = append(d.path, strconv.Itoa(i))
			x, ok := d.value(item, depth+1)
			d.path = d.path[:len(d.path)-1]
			if !ok {
				return nil, false
			}
			s = append(s, x)
		}
		return s, true
	}
	return nil, false
}

func (d *plainDecoder) mapping(values []*ast.MappingValueNode, depth int) (any, bool) {
	m := make(map[string]any, len(values))
	for i, mv := range values {
		if mv == nil || mv.Key == nil || mv.Key.IsMergeKey() {
			return nil, false
		}
		key, ok := plainKey(mv.Key)
		if !ok {
			return nil, false
		}
		if _, dup := m[key]; dup {
			for _, prev := range values[:i] {
				if k, _ := plainKey(prev.Key); k == key {
					d.dups = append(d.dups, dupKey{path: appendPath(d.path, key), first: prev.Key, dupe: mv.Key})
					break
				}
			}
		}
		d.path = append(d.path, key)
		val, ok := d.value(mv.Value, depth+1)
		d.path = d.path[:len(d.path)-1]
		if !ok {
			return nil, false
		}
		m[key] = val
	}
	return m, true
}

// plainKey is the string go-yaml makes of a scalar key (fmt.Sprint of its
// value, "null" for null).
func plainKey(k ast.MapKeyNode) (string, bool) {
	switch k := k.(type) {
	case *ast.StringNode:
		return k.Value, true
	case *ast.NullNode:
		return "null", true
	case *ast.IntegerNode:
		return fmt.Sprint(k.GetValue()), true
	case *ast.FloatNode:
		return fmt.Sprint(k.GetValue()), true
	case *ast.BoolNode:
		return fmt.Sprint(k.GetValue()), true
	case *ast.InfinityNode:
		return fmt.Sprint(k.GetValue()), true
	case *ast.NanNode:
		return fmt.Sprint(k.GetValue()), true
	}
	return "", false
}
