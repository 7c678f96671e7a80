package emulator

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// simple_query_string over API keys (reference §4): Lucene's simple query
// syntax — whitespace-separated terms joined by default_operator, `+` AND,
// `|` OR, a leading `-` NOT, `"phrases"`, a trailing `*` for a prefix,
// `( )` groups and `\` escapes — evaluated the way Lucene builds the tree
// (left to right; a change of operator wraps what came before, so with the
// default OR `a -b` means "a, or anything that is not b", the well-known
// trap). Every API key field is a keyword (or date/boolean), so a term or
// phrase matches a whole value, case-sensitively. Without `fields` every
// queryable field is searched; dates and booleans are lenient (a term that
// is not a date or boolean matches nothing there), as Elasticsearch forces
// lenient for the API key query. Fuzziness (`~N`) is accepted and ignored.

// sqsAllFields are the fields searched when the query names none, and the
// names `fields` patterns are matched against.
var sqsAllFields = []string{"name", "type", "username", "realm_name", "invalidated", "creation", "expiration", "invalidation", "metadata"}

// sqsField is one target of the query: a fixed field, or a pattern over
// metadata paths ("metadata.*").
type sqsField struct {
	ref         fieldRef
	metaPattern string
}

// matches reports whether the field of k holds term (or a value starting
// with it when prefix).
func (sf sqsField) matches(k *apiKey, term string, prefix bool, nowMs int64) bool {
	var values []string
	switch {
	case sf.metaPattern != "":
		for path, vs := range k.flat {
			if globMatch(sf.metaPattern, path, false) {
				values = append(values, vs...)
			}
		}
	case sf.ref.kind == kindDate:
		if prefix {
			return false
		}
		ms, err := parseDate(term, nowMs, false)
		d, ok := sf.ref.date(k)
		return err == nil && ok && d == ms
	case sf.ref.kind == kindBool:
		return !prefix && term == strconv.FormatBool(k.Invalidated)
	default:
		values = sf.ref.keywords(k)
	}
	for _, v := range values {
		if v == term || (prefix && strings.HasPrefix(v, term)) {
			return true
		}
	}
	return false
}

// sqsFields resolves the `fields` list: names (with an optional ^boost),
// or patterns matched against the queryable fields and metadata paths.
func sqsFields(names []string) ([]sqsField, *esErr) {
	if len(names) == 0 {
		names = sqsAllFields
	}
	var out []sqsField
	for _, n := range names {
		n, _, _ = strings.Cut(n, "^")
		if !strings.ContainsAny(n, "*?") {
			f, e := resolveField(n)
			if e != nil {
				return nil, e
			}
			out = append(out, sqsField{ref: f})
			continue
		}
		for _, fixed := range sqsAllFields {
			if globMatch(n, fixed, false) {
				f, _ := resolveField(fixed)
				out = append(out, sqsField{ref: f})
			}
		}
		if p, ok := strings.CutPrefix(n, "metadata."); ok {
			out = append(out, sqsField{metaPattern: p})
		}
	}
	return out, nil
}

func (qp *queryParser) parseSimpleQueryString(raw json.RawMessage) (pred, *esErr) {
	obj, ok := rawObject(raw)
	if !ok {
		return nil, esBadRequest("parsing_exception", "[simple_query_string] query malformed, expected an object")
	}
	var text *string
	var fieldNames []string
	and := false
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "query":
			s, ok := rawString(v)
			if !ok {
				return nil, esBadRequest("parsing_exception", "[simple_query_string] [query] must be a string")
			}
			text = &s
		case "fields":
			if err := json.Unmarshal(v, &fieldNames); err != nil {
				return nil, esBadRequest("parsing_exception", "[simple_query_string] [fields] must be an array of strings")
			}
		case "default_operator":
			s, _ := rawString(v)
			switch strings.ToLower(s) {
			case "or":
			case "and":
				and = true
			default:
				return nil, esBadRequest("illegal_argument_exception", fmt.Sprintf("No enum constant org.elasticsearch.index.query.Operator.%s", strings.ToUpper(s)))
			}
		case "analyzer", "flags", "lenient", "analyze_wildcard", "auto_generate_synonyms_phrase_query", "fuzzy_max_expansions",
			"fuzzy_prefix_length", "fuzzy_transpositions", "minimum_should_match", "quote_field_suffix", "boost", "_name":
		default:
			return nil, esBadRequest("parsing_exception", fmt.Sprintf("[simple_query_string] unsupported field [%s]", k))
		}
	}
	if text == nil {
		return nil, esBadRequest("parsing_exception", "[simple_query_string] query text missing")
	}
	fields, e := sqsFields(fieldNames)
	if e != nil {
		return nil, e
	}
	p := &sqsParser{src: []rune(*text), fields: fields, nowMs: qp.nowMs, def: opOr}
	if and {
		p.def = opAnd
	}
	if m := p.parse(0); m != nil {
		return m, nil
	}
	return func(*apiKey) bool { return false }, nil
}

type sqsOp int

const (
	opNone sqsOp = iota
	opOr
	opAnd
)

type sqsParser struct {
	src    []rune
	pos    int
	fields []sqsField
	nowMs  int64
	def    sqsOp
}

// sqsTree builds one level of the query the way Lucene's SimpleQueryParser
// does.
type sqsTree struct {
	top       pred
	node      *[]pred // clauses of the node top evaluates, when top is one
	cur, prev sqsOp
	not       int
}

func (tr *sqsTree) add(branch pred, def sqsOp) {
	if tr.not%2 == 1 {
		b := branch
		branch = func(k *apiKey) bool { return !b(k) }
	}
	tr.not = 0
	if tr.top == nil {
		tr.top = branch
		tr.cur = opNone
		return
	}
	if tr.cur == opNone {
		tr.cur = def
	}
	if tr.node == nil || tr.prev != tr.cur {
		clauses := []pred{tr.top}
		op := tr.cur
		tr.node = &clauses
		tr.top = func(k *apiKey) bool {
			for _, c := range clauses {
				if c(k) == (op == opOr) {
					return op == opOr
				}
			}
			return op != opOr
		}
	}
	*tr.node = append(*tr.node, branch)
	tr.prev, tr.cur = tr.cur, opNone
}

func (p *sqsParser) parse(depth int) pred {
	tr := &sqsTree{}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case unicode.IsSpace(c):
			p.pos++
		case c == '(':
			p.pos++
			if sub := p.parse(depth + 1); sub != nil {
				tr.add(sub, p.def)
			}
		case c == ')':
			p.pos++
			if depth > 0 {
				return tr.top
			}
		case c == '"':
			p.pos++
			var b strings.Builder
			for p.pos < len(p.src) && p.src[p.pos] != '"' {
				if p.src[p.pos] == '\\' && p.pos+1 < len(p.src) {
					p.pos++
				}
				b.WriteRune(p.src[p.pos])
				p.pos++
			}
			p.pos++ // the closing quote
			p.skipFuzz()
			tr.add(p.term(b.String(), false), p.def)
		case c == '+':
			p.pos++
			tr.cur = opAnd
		case c == '|':
			p.pos++
			tr.cur = opOr
		case c == '-':
			p.pos++
			tr.not++
		default:
			var b strings.Builder
			prefix := false
			for p.pos < len(p.src) {
				c := p.src[p.pos]
				if unicode.IsSpace(c) || strings.ContainsRune(`()"|+`, c) || c == '~' {
					break
				}
				if c == '\\' && p.pos+1 < len(p.src) {
					p.pos++
					b.WriteRune(p.src[p.pos])
					p.pos++
					continue
				}
				if c == '*' && (p.pos+1 == len(p.src) || unicode.IsSpace(p.src[p.pos+1]) || strings.ContainsRune(`()"|+~`, p.src[p.pos+1])) {
					prefix = true
					p.pos++
					break
				}
				b.WriteRune(c)
				p.pos++
			}
			p.skipFuzz()
			tr.add(p.term(b.String(), prefix), p.def)
		}
	}
	return tr.top
}

// skipFuzz drops a `~N` fuzziness or slop suffix.
func (p *sqsParser) skipFuzz() {
	if p.pos < len(p.src) && p.src[p.pos] == '~' {
		p.pos++
		for p.pos < len(p.src) && unicode.IsDigit(p.src[p.pos]) {
			p.pos++
		}
	}
}

func (p *sqsParser) term(text string, prefix bool) pred {
	fields, nowMs := p.fields, p.nowMs
	return func(k *apiKey) bool {
		for _, f := range fields {
			if f.matches(k, text, prefix, nowMs) {
				return true
			}
		}
		return false
	}
}
