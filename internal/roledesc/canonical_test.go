package roledesc

import (
	"encoding/json"
	"strings"
	"testing"
)

// decode parses JSON into plain values, as both the manifest loader and the
// live-state reader hand them over.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{
			name: "manifest descriptor vs the same descriptor as Elasticsearch returns it",
			a:    `{"books-read-only":{"indices":[{"names":"books","privileges":["read"]}]}}`,
			b: `{"books-read-only":{"cluster":[],"indices":[{"names":["books"],"privileges":["read"],"allow_restricted_indices":false}],
			     "applications":[],"run_as":[],"metadata":{},"transient_metadata":{"enabled":true}}}`,
			want: true,
		},
		{
			name: "singular input aliases index and application",
			a: `{"r":{"index":[{"names":["a"],"privileges":["read"]}],
			     "application":[{"application":"kibana","privileges":["read"],"resources":["*"]}]}}`,
			b: `{"r":{"cluster":[],"indices":[{"names":["a"],"privileges":["read"],"allow_restricted_indices":false}],
			     "applications":[{"application":"kibana","privileges":["read"],"resources":["*"]}],"run_as":[],"metadata":{}}}`,
			want: true,
		},
		{
			name: "reordered privileges, names and index entries",
			a: `{"r":{"cluster":["monitor","manage_own_api_key"],"indices":[
			     {"names":["logs-*","books"],"privileges":["write","read"]},
			     {"names":["metrics-*"],"privileges":["read"]}]}}`,
			b: `{"r":{"cluster":["manage_own_api_key","monitor"],"indices":[
			     {"names":["metrics-*"],"privileges":["read"]},
			     {"names":["books","logs-*"],"privileges":["read","write","read"]}]}}`,
			want: true,
		},
		{
			name: "privilege names compare case-insensitively",
			a:    `{"r":{"cluster":["MONITOR"],"indices":[{"names":["a"],"privileges":["Read"]}]}}`,
			b:    `{"r":{"cluster":["monitor"],"indices":[{"names":["a"],"privileges":["read"]}]}}`,
			want: true,
		},
		{
			name: "index names are case-sensitive",
			a:    `{"r":{"indices":[{"names":["Books"],"privileges":["read"]}]}}`,
			b:    `{"r":{"indices":[{"names":["books"],"privileges":["read"]}]}}`,
			want: false,
		},
		{
			name: "query as object vs query as the JSON string Elasticsearch returns",
			a:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"query":{"term":{"tenant":"x"}}}]}}`,
			b:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"query":"{\"term\": {\"tenant\" : \"x\"}}","allow_restricted_indices":false}]}}`,
			want: true,
		},
		{
			name: "different query",
			a:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"query":{"term":{"tenant":"x"}}}]}}`,
			b:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"query":"{\"term\":{\"tenant\":\"y\"}}"}]}}`,
			want: false,
		},
		{
			name: "field_security grant as a set",
			a:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"field_security":{"grant":["b","a"]}}]}}`,
			b:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"field_security":{"grant":["a","b"]}}]}}`,
			want: true,
		},
		{
			name: "field_security except added",
			a:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"field_security":{"grant":["*"]}}]}}`,
			b:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"field_security":{"grant":["*"],"except":["secret"]}}]}}`,
			want: false,
		},
		{
			name: "real change: privilege added",
			a:    `{"r":{"indices":[{"names":["books"],"privileges":["read"]}]}}`,
			b:    `{"r":{"indices":[{"names":["books"],"privileges":["read","write"]}],"transient_metadata":{"enabled":true}}}`,
			want: false,
		},
		{
			name: "real change: allow_restricted_indices true",
			a:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"allow_restricted_indices":true}]}}`,
			b:    `{"r":{"indices":[{"names":["a"],"privileges":["read"],"allow_restricted_indices":false}]}}`,
			want: false,
		},
		{
			name: "real change: role renamed",
			a:    `{"reader":{"cluster":["monitor"]}}`,
			b:    `{"viewer":{"cluster":["monitor"]}}`,
			want: false,
		},
		{
			name: "empty descriptor vs the noop form Elasticsearch returns",
			a:    `{"noop":{}}`,
			b:    `{"noop":{"cluster":[],"indices":[],"applications":[],"run_as":[],"metadata":{},"transient_metadata":{"enabled":true}}}`,
			want: true,
		},
		{
			name: "no descriptors vs an empty descriptor",
			a:    `{}`,
			b:    `{"noop":{}}`,
			want: false,
		},
		{
			name: "descriptor metadata kept and compared",
			a:    `{"r":{"cluster":["monitor"],"metadata":{"v":1}}}`,
			b:    `{"r":{"cluster":["monitor"],"metadata":{"v":2}}}`,
			want: false,
		},
		{
			name: "restriction {} means none",
			a:    `{"r":{"cluster":["monitor"],"restriction":{}}}`,
			b:    `{"r":{"cluster":["monitor"]}}`,
			want: true,
		},
		{
			name: "remote_indices entries compare as sets with clusters as a set",
			a:    `{"r":{"remote_indices":[{"clusters":["b","a"],"names":["x"],"privileges":["read"]}]}}`,
			b:    `{"r":{"remote_indices":[{"clusters":["a","b"],"names":["x"],"privileges":["read"],"allow_restricted_indices":false}]}}`,
			want: true,
		},
		{
			name: "run_as as a set",
			a:    `{"r":{"run_as":["bob","alice"]}}`,
			b:    `{"r":{"run_as":["alice","bob"]}}`,
			want: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := decode(t, tt.a), decode(t, tt.b)
			if got := Equal(a, b); got != tt.want {
				t.Errorf("Equal = %v, want %v\ncanonical a:\n%s\ncanonical b:\n%s", got, tt.want, CanonicalJSON(a), CanonicalJSON(b))
			}
			if got := Equal(b, a); got != tt.want {
				t.Errorf("Equal is not symmetric")
			}
		})
	}
}

// Values from YAML arrive as Go integers, values from JSON as float64: the
// normal form must not tell them apart.
func TestEqualIntegersVsFloats(t *testing.T) {
	fromYAML := map[string]any{"r": map[string]any{
		"cluster":  []any{"monitor"},
		"metadata": map[string]any{"version": 3, "limits": []any{uint64(1), int64(2)}},
	}}
	fromJSON := decode(t, `{"r":{"cluster":["monitor"],"metadata":{"version":3,"limits":[1,2]},"run_as":[]}}`)
	if !Equal(fromYAML, fromJSON) {
		t.Fatalf("integers vs float64 compare unequal:\n%s\n%s", CanonicalJSON(fromYAML), CanonicalJSON(fromJSON))
	}
}

func TestCanonicalJSON(t *testing.T) {
	rd := decode(t, `{"b":{"indices":[{"names":"logs-<x>&y","privileges":["write","READ"],"allow_restricted_indices":false}],
	                      "run_as":[],"transient_metadata":{"enabled":true}},
	                  "a":{"cluster":["monitor"]}}`)
	want := `{
  "a": {
    "cluster": [
      "monitor"
    ]
  },
  "b": {
    "indices": [
      {
        "names": [
          "logs-<x>&y"
        ],
        "privileges": [
          "read",
          "write"
        ]
      }
    ]
  }
}
`
	if got := CanonicalJSON(rd); got != want {
		t.Errorf("CanonicalJSON:\n%s\nwant:\n%s", got, want)
	}
}

// Malformed input (the manifest checker normally rejects it) must neither
// panic nor compare equal to something it is not.
func TestCanonicalOddShapes(t *testing.T) {
	odd := []map[string]any{
		nil,
		{"r": "not a descriptor"},
		{"r": map[string]any{"indices": "oops"}},
		{"r": map[string]any{"indices": []any{"oops", 3}}},
		{"r": map[string]any{"cluster": []any{1, "monitor"}}},
		{"r": map[string]any{"indices": []any{map[string]any{"names": 7, "query": "{not json"}}}},
		{"r": map[string]any{"restriction": "x", "field_security": 1}},
		{"r": map[string]any{"indices": []any{map[string]any{"field_security": "x"}}}},
	}
	for i, rd := range odd {
		js := CanonicalJSON(rd)
		if !strings.HasSuffix(js, "\n") {
			t.Errorf("case %d: CanonicalJSON not newline-terminated: %q", i, js)
		}
		if i > 0 && Equal(rd, map[string]any{"r": map[string]any{}}) {
			t.Errorf("case %d: odd descriptor compares equal to an empty one", i)
		}
	}
}

// Typed Go values (as a YAML decoder or a test may produce) normalise like
// their JSON equivalents.
func TestCanonicalTypedInput(t *testing.T) {
	typed := map[string]any{"r": map[string]any{
		"cluster": []string{"monitor"},
		"index": []map[string]any{{
			"names":          "books",
			"privileges":     []string{"read"},
			"field_security": map[string][]string{"grant": {"b", "a"}},
			"query":          map[string]any{"term": map[string]int{"n": 1}},
		}},
		"metadata": map[string]int{"v": 2},
	}}
	fromJSON := decode(t, `{"r":{"cluster":["monitor"],"indices":[{"names":["books"],"privileges":["read"],
		"field_security":{"grant":["a","b"]},"query":"{\"term\":{\"n\":1}}","allow_restricted_indices":false}],
		"metadata":{"v":2},"run_as":[],"applications":[]}}`)
	if !Equal(typed, fromJSON) {
		t.Fatalf("typed input differs:\n%s\n%s", CanonicalJSON(typed), CanonicalJSON(fromJSON))
	}
	if !PlainEqual(map[string]any{"a": []int{1, 2}}, map[string]any{"a": []any{1.0, 2.0}}) {
		t.Error("PlainEqual: []int vs []any of float64")
	}
	if PlainEqual(map[string]any{"a": 1}, map[string]any{"a": "1"}) {
		t.Error("PlainEqual: 1 equals \"1\"")
	}
}

// FuzzCanonical: no input panics, a descriptor always equals itself, and the
// normal form is a fixed point (normalising twice changes nothing), which is
// what keeps a key that was applied from its canonical form from drifting.
func FuzzCanonical(f *testing.F) {
	f.Add(`{"r":{"indices":[{"names":"books","privileges":["READ"],"query":"{\"match_all\":{}}"}]}}`)
	f.Add(`{"r":{"index":{"names":["a"]},"application":[{"application":"x","privileges":["p"],"resources":"*"}],"restriction":{"workflows":[]}}}`)
	f.Add(`{"r":{"cluster":[1,"a"],"indices":[3,{"field_security":{"grant":"a","except":[]}}],"metadata":{}}}`)
	f.Add(`{"":{"indices":[{"query":"\"\""}]}}`) // a query that is the JSON text of a string
	f.Add(`{"r":[],"s":null,"t":{"remote_cluster":[{"clusters":"c","privileges":["monitor_enrich"]}]}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var rd map[string]any
		if json.Unmarshal([]byte(s), &rd) != nil {
			return
		}
		if !Equal(rd, rd) {
			t.Fatalf("not equal to itself: %s", s)
		}
		c := Canonical(rd)
		if !Equal(c, rd) {
			t.Fatalf("canonical form differs from the input:\n%s\n%s", CanonicalJSON(c), CanonicalJSON(rd))
		}
		_ = CanonicalJSON(rd)
	})
}
