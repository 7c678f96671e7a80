package emulator

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Elasticsearch's response filtering (`?filter_path=`), which every official
// client exposes on every request: a comma-separated list of dotted paths,
// `*` matching within one name, `**` matching any number of levels, and a
// leading `-` excluding instead of including. Arrays are transparent (a path
// applies to each element), members and elements left empty by filtering are
// dropped, and a response left with nothing is `{}`. As in Elasticsearch,
// error responses are never filtered.

// parseFilterPath splits a filter_path value into include and exclude
// patterns, each a list of path segments.
func parseFilterPath(v string) (inc, exc [][]string) {
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		neg := strings.HasPrefix(p, "-")
		p = strings.TrimPrefix(p, "-")
		if p == "" {
			continue
		}
		segs := strings.Split(p, ".")
		if neg {
			exc = append(exc, segs)
		} else {
			inc = append(inc, segs)
		}
	}
	return inc, exc
}

// fpStep advances patterns over one member name: the patterns that still
// apply below it, and whether one of them ends here (matches the member as
// a whole).
func fpStep(pats [][]string, key string) (next [][]string, done bool) {
	for _, p := range pats {
		if p[0] == "**" {
			next = append(next, p) // ** goes on matching deeper levels
			if len(p) == 1 {
				done = true
				continue
			}
			n, d := fpStep([][]string{p[1:]}, key) // ** matching no level
			next, done = append(next, n...), done || d
			continue
		}
		if !globMatch(p[0], key, false) {
			continue
		}
		if len(p) == 1 {
			done = true
		} else {
			next = append(next, p[1:])
		}
	}
	return next, done
}

// fpState is what applies at one node: pending includes (or all, when an
// include already matched an ancestor or none was given) and excludes.
type fpState struct {
	all bool
	inc [][]string
	exc [][]string
}

func fpFilter(v any, st fpState) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range t {
			exc, excluded := fpStep(st.exc, k)
			if excluded {
				continue
			}
			child := fpState{all: st.all, exc: exc}
			if !st.all {
				inc, matched := fpStep(st.inc, k)
				switch {
				case matched:
					child.all = true
				case len(inc) == 0:
					continue
				default:
					child.inc = inc
				}
			}
			if fv, ok := fpFilter(val, child); ok {
				out[k] = fv
			}
		}
		return out, len(out) > 0 || (len(t) == 0 && st.all)
	case []any:
		out := []any{}
		for _, el := range t {
			if fv, ok := fpFilter(el, st); ok {
				out = append(out, fv)
			}
		}
		return out, len(out) > 0 || (len(t) == 0 && st.all)
	default:
		return v, st.all
	}
}

// filterResponse applies filter_path to a response body value; it returns
// body itself when there is nothing to filter by.
func filterResponse(body any, filterPath string) (any, error) {
	inc, exc := parseFilterPath(filterPath)
	if len(inc) == 0 && len(exc) == 0 {
		return body, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	out, ok := fpFilter(generic, fpState{all: len(inc) == 0, inc: inc, exc: exc})
	if !ok {
		return map[string]any{}, nil
	}
	return out, nil
}
