package manifest

import (
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"
)

// This file holds what slsync needs from goccy/go-yaml's AST beyond decoding:
// positions of keys (the library's path API returns value nodes only and
// trips over anchors), duplicate-key detection that reports every duplicate
// rather than the parser's first, and guards against the library's known
// traps (see shared/reference/go-libraries.md §1).

// maxNesting bounds how deep the AST walk recurses; go-yaml's own decoder
// stops at 10000 as well.
const maxNesting = 10000

// maxExpandedNodes bounds how many nodes a document may expand to once YAML
// aliases are resolved ("billion laughs"): real manifests are far below it,
// and decoding a hostile document beyond it would exhaust memory.
const maxExpandedNodes = 5_000_000

// pos is a 1-based line and column.
type pos struct{ line, col int }

// nodePos returns where n starts, pointing at the first key for a block
// mapping (whose own token is the first ':', §1.1).
func nodePos(n ast.Node) pos {
	switch v := n.(type) {
	case nil:
		return pos{}
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return nodePos(v.Values[0])
		}
	case *ast.MappingValueNode:
		if v.Key != nil {
			return nodePos(v.Key)
		}
	case *ast.MappingKeyNode:
		if v.Start != nil {
			return pos{v.Start.Position.Line, v.Start.Position.Column}
		}
	case *ast.AnchorNode:
		if v.Start != nil {
			return pos{v.Start.Position.Line, v.Start.Position.Column}
		}
	case *ast.TagNode:
		if v.Start != nil {
			return pos{v.Start.Position.Line, v.Start.Position.Column}
		}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// keyText is the string a mapping key decodes to, matching go-yaml's own
// conversion (fmt.Sprint of the scalar; "null" for a null key).
func keyText(k ast.Node) string {
	for {
		switch v := k.(type) {
		case nil:
			return "null"
		case *ast.MappingKeyNode:
			k = v.Value
			continue
		case *ast.TagNode:
			k = v.Value
			continue
		case *ast.AnchorNode:
			k = v.Value
			continue
		case *ast.NullNode:
			return "null"
		case *ast.StringNode:
			return v.Value
		case ast.ScalarNode:
			return fmt.Sprint(v.GetValue())
		}
		return k.String()
	}
}

// docIndex is what one walk over a document's AST learns: the anchors (so
// that lookups can follow aliases and merge keys), duplicate keys, and how
// large the document becomes once aliases are expanded.
type docIndex struct {
	anchors  map[string]ast.Node
	sizes    map[string]int64
	dups     []dupKey
	expanded int64 // nodes once aliases are expanded
	literal  int64 // nodes as written
	tooDeep  bool
}

// aliasBomb reports whether aliases blow the document up far beyond what is
// written: sharing a role descriptor among many keys multiplies a document
// a few times, a "billion laughs" by orders of magnitude. Validating the
// expansion would take minutes and gigabytes.
func (ix *docIndex) aliasBomb() bool {
	return ix.expanded >= maxExpandedNodes || (ix.expanded > 100_000 && ix.expanded > 20*ix.literal)
}

// dupKey is a key written twice in one mapping.
type dupKey struct {
	path        []string // path of the mapping holding it, then the key
	first, dupe ast.Node // key nodes
}

func indexDoc(body ast.Node) *docIndex {
	ix := &docIndex{anchors: map[string]ast.Node{}, sizes: map[string]int64{}}
	ix.expanded = ix.walk(body, nil, 0)
	return ix
}

func satAdd(a, b int64) int64 {
	if a+b < a || a+b > maxExpandedNodes*4 {
		return maxExpandedNodes * 4
	}
	return a + b
}

// walk visits n and returns its size with aliases expanded.
func (ix *docIndex) walk(n ast.Node, path []string, depth int) int64 {
	if n == nil {
		return 0
	}
	ix.literal++
	if depth > maxNesting {
		ix.tooDeep = true
		return 1
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		return ix.walkMapping(v.Values, path, depth)
	case *ast.MappingValueNode:
		return ix.walkMapping([]*ast.MappingValueNode{v}, path, depth)
	case *ast.SequenceNode:
		var s int64 = 1
		for i, item := range v.Values {
			s = satAdd(s, ix.walk(item, append(path, strconv.Itoa(i)), depth+1))
		}
		return s
	case *ast.AnchorNode:
		s := ix.walk(v.Value, path, depth+1)
		if v.Name != nil && v.Name.GetToken() != nil {
			name := v.Name.GetToken().Value
			ix.anchors[name] = v.Value
			ix.sizes[name] = s
		}
		return s
	case *ast.AliasNode:
		if v.Value != nil && v.Value.GetToken() != nil {
			return max(ix.sizes[v.Value.GetToken().Value], 1)
		}
		return 1
	case *ast.TagNode:
		return ix.walk(v.Value, path, depth+1)
	case *ast.MappingKeyNode:
		return ix.walk(v.Value, path, depth+1)
	}
	return 1
}

func (ix *docIndex) walkMapping(values []*ast.MappingValueNode, path []string, depth int) int64 {
	var s int64 = 1
	// Most mappings are small: a linear scan beats building a map.
	type seenKey struct {
		text string
		node ast.Node
	}
	var small []seenKey
	var seen map[string]ast.Node
	if len(values) > 16 {
		seen = make(map[string]ast.Node, len(values))
	}
	for _, mv := range values {
		if mv == nil {
			continue
		}
		if mv.Key != nil && mv.Key.IsMergeKey() {
			s = satAdd(s, ix.walk(mv.Value, path, depth+1))
			continue
		}
		k := keyText(mv.Key)
		var first ast.Node
		if seen != nil {
			if first = seen[k]; first == nil {
				seen[k] = mv.Key
			}
		} else {
			for _, prev := range small {
				if prev.text == k {
					first = prev.node
					break
				}
			}
			if first == nil {
				small = append(small, seenKey{k, mv.Key})
			}
		}
		if first != nil {
			p := append(append([]string(nil), path...), k)
			ix.dups = append(ix.dups, dupKey{path: p, first: first, dupe: mv.Key})
		}
		s = satAdd(s, ix.walk(mv.Value, append(path, k), depth+1))
	}
	return s
}

// unwrap peels anchors, tags and (through the index) aliases off n.
func (ix *docIndex) unwrap(n ast.Node) ast.Node {
	for i := 0; i < 100 && n != nil; i++ {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil || v.Value.GetToken() == nil {
				return n
			}
			t, ok := ix.anchors[v.Value.GetToken().Value]
			if !ok {
				return n
			}
			n = t
		default:
			return n
		}
	}
	return n
}

// entries returns the key/value pairs of a mapping node: its own, and those
// it takes through merge keys ("<<: *base").
func (ix *docIndex) entries(n ast.Node, depth int) (own, merged []*ast.MappingValueNode) {
	var all []*ast.MappingValueNode
	switch v := ix.unwrap(n).(type) {
	case *ast.MappingNode:
		all = v.Values
	case *ast.MappingValueNode:
		all = []*ast.MappingValueNode{v}
	default:
		return nil, nil
	}
	hasMerge := false
	for _, mv := range all {
		if mv == nil || (mv.Key != nil && mv.Key.IsMergeKey()) {
			hasMerge = true
			break
		}
	}
	if !hasMerge {
		return all, nil
	}
	for _, mv := range all {
		if mv == nil {
			continue
		}
		if mv.Key != nil && mv.Key.IsMergeKey() {
			if depth > 20 {
				continue
			}
			src := ix.unwrap(mv.Value)
			items := []ast.Node{src}
			if seq, ok := src.(*ast.SequenceNode); ok {
				items = seq.Values
			}
			for _, item := range items {
				o, m := ix.entries(item, depth+1)
				merged = append(append(merged, o...), m...)
			}
			continue
		}
		own = append(own, mv)
	}
	return own, merged
}

// lookup finds the node at path (decoded keys and sequence indices). It
// returns the value node, the key node when the last step went through a
// mapping, and whether the whole path was found. On a miss it returns the
// deepest node reached, so callers can still point at the nearest ancestor.
func (ix *docIndex) lookup(body ast.Node, path []string) (val, key ast.Node, ok bool) {
	val = body
	for _, seg := range path {
		switch n := ix.unwrap(val).(type) {
		case *ast.MappingNode, *ast.MappingValueNode:
			var hit *ast.MappingValueNode
			own, merged := ix.entries(n, 0)
			// Of a duplicated key, the decoder keeps the last occurrence;
			// a mapping's own keys override merged ones.
			for _, mv := range own {
				if keyText(mv.Key) == seg {
					hit = mv
				}
			}
			for i := 0; hit == nil && i < len(merged); i++ {
				if keyText(merged[i].Key) == seg {
					hit = merged[i]
				}
			}
			if hit == nil {
				return val, key, false
			}
			val, key = hit.Value, hit.Key
		case *ast.SequenceNode:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(n.Values) {
				return val, key, false
			}
			val, key = n.Values[i], nil
		default:
			return val, key, false
		}
	}
	return val, key, true
}

// emptyDocLine returns the line of a "---" that directly follows another
// "---" (comments ignored), 0 if none. go-yaml silently drops every document
// after such an empty one (goccy/go-yaml#765, #870), so slsync rejects them.
func emptyDocLine(src string) int {
	prevHeader := false
	for _, tk := range lexer.Tokenize(src) {
		switch tk.Type {
		case token.CommentType:
			continue
		case token.DocumentHeaderType:
			if prevHeader {
				return tk.Position.Line
			}
			prevHeader = true
		default:
			prevHeader = false
		}
	}
	return 0
}
