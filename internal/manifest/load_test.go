package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slsync/slsync/internal/model"
)

// head is a valid manifest start; cases append a project body to it, so
// that line numbers below are easy to count: the project key is on line 3,
// its fields start on line 4.
const head = "owner: acme\nprojects:\n  alpha:\n"

const esProject = head + `    type: elasticsearch
    name: Alpha
    region_id: aws-us-east-1
`

// want is one expected diagnostic: "file:line:col: path" and a part of the
// message.
type want struct {
	at, path, msg string
	warn          bool
}

func TestLoadReportsEachRuleAtItsKey(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []want
	}{
		{
			name:  "valid",
			files: map[string]string{"a.yaml": esProject},
		},
		{
			name:  "unknown field at its own line, with a suggestion",
			files: map[string]string{"a.yaml": esProject + "    regoin_id: x\n"},
			want:  []want{{at: "a.yaml:7:5", path: "projects.alpha.regoin_id", msg: `unknown field "regoin_id" (did you mean "region_id"?); allowed here: admin_features_package, adopt, alias`}},
		},
		{
			name:  "unknown top-level field",
			files: map[string]string{"a.yaml": "owner: acme\nowners: x\nprojects: {}\n"},
			want:  []want{{at: "a.yaml:2:1", path: "owners", msg: `unknown field "owners" (did you mean "owner"?)`}},
		},
		{
			name:  "missing required fields at the project key",
			files: map[string]string{"a.yaml": head + "    type: elasticsearch\n"},
			want: []want{
				{at: "a.yaml:3:3", path: "projects.alpha", msg: `missing required field "name"; every project needs: type, name, region_id`},
				{at: "a.yaml:3:3", path: "projects.alpha", msg: `missing required field "region_id"`},
			},
		},
		{
			name:  "missing owner",
			files: map[string]string{"a.yaml": "projects: {}\n"},
			want:  []want{{at: "a.yaml:1:1", path: "", msg: `missing required field "owner"; every manifest document needs: owner, projects`}},
		},
		{
			name:  "bad alias",
			files: map[string]string{"a.yaml": esProject + "    alias: Search_Prod\n"},
			want:  []want{{at: "a.yaml:7:5", path: "projects.alpha.alias", msg: `invalid value "Search_Prod": an alias is 1-50 characters`}},
		},
		{
			name:  "alias too long",
			files: map[string]string{"a.yaml": esProject + "    alias: " + strings.Repeat("a", 51) + "\n"},
			want:  []want{{at: "a.yaml:7:5", path: "projects.alpha.alias", msg: "an alias is 1-50 characters"}},
		},
		{
			name:  "bad type with suggestion-free enum message",
			files: map[string]string{"a.yaml": head + "    type: kibana\n    name: A\n    region_id: aws-us-east-1\n"},
			want:  []want{{at: "a.yaml:4:5", path: "projects.alpha.type", msg: `invalid value "kibana": type is one of elasticsearch, observability, security`}},
		},
		{
			name:  "bad project key",
			files: map[string]string{"a.yaml": "owner: acme\nprojects:\n  Alpha:\n    type: elasticsearch\n    name: A\n    region_id: aws-us-east-1\n"},
			want:  []want{{at: "a.yaml:3:3", path: "projects.Alpha", msg: `invalid key "Alpha": a project key is 1-63 characters`}},
		},
		{
			name:  "malformed region",
			files: map[string]string{"a.yaml": head + "    type: elasticsearch\n    name: A\n    region_id: us-east-1\n"},
			want:  []want{{at: "a.yaml:6:5", path: "projects.alpha.region_id", msg: "a region id is <provider>-<region>"}},
		},
		{
			name:  "type-specific field on the wrong type",
			files: map[string]string{"a.yaml": esProject + "    product_tier: complete\n"},
			want:  []want{{at: "a.yaml:7:5", path: "projects.alpha.product_tier", msg: "product_tier applies only to observability projects (this project's type is elasticsearch)"}},
		},
		{
			name: "search_lake members by type",
			files: map[string]string{"a.yaml": esProject + "    search_lake:\n      search_power: 10\n      data_retention: {max_retention_days: 30}\n" +
				"  obs:\n    type: observability\n    name: O\n    region_id: aws-us-east-1\n    search_lake: {boost_window: 3}\n" +
				"  sec:\n    type: security\n    name: S\n    region_id: aws-us-east-1\n    search_lake: {boost_window: 3}\n"},
			want: []want{
				{at: "a.yaml:8:7", path: "projects.alpha.search_lake.search_power", msg: "invalid value 10 (a number): search_power is a whole number from 28 to 3000"},
				{at: "a.yaml:9:7", path: "projects.alpha.search_lake.data_retention", msg: "search_lake.data_retention applies only to security projects"},
				{at: "a.yaml:14:5", path: "projects.obs.search_lake", msg: "search_lake applies only to elasticsearch and security projects (this project's type is observability)"},
				{at: "a.yaml:19:19", path: "projects.sec.search_lake.boost_window", msg: "search_lake.boost_window applies only to elasticsearch projects"},
			},
		},
		{
			name: "tags: syntax, reserved names, too many",
			files: map[string]string{"a.yaml": esProject + "    tags:\n      slsync-owner: x\n      Team: a\n      env: Prod\n      slsync-pending: keys\n" +
				"  many:\n    type: elasticsearch\n    name: M\n    region_id: aws-us-east-1\n    tags: {" + manyTags(62) + "}\n" +
				"  enough:\n    type: elasticsearch\n    name: E\n    region_id: aws-us-east-1\n    tags: {" + manyTags(61) + "}\n"},
			want: []want{
				{at: "a.yaml:8:7", path: "projects.alpha.tags.slsync-owner", msg: `invalid key "slsync-owner": the tags slsync-owner, slsync-key and slsync-pending are reserved`},
				{at: "a.yaml:9:7", path: "projects.alpha.tags.Team", msg: `invalid key "Team": a tag key is 1-32 characters`},
				{at: "a.yaml:10:7", path: "projects.alpha.tags.env", msg: `invalid value "Prod": a tag value is`},
				{at: "a.yaml:11:7", path: "projects.alpha.tags.slsync-pending", msg: `invalid key "slsync-pending": the tags slsync-owner, slsync-key and slsync-pending are reserved`},
				// 61 user tags + slsync's three = the API's 64.
				{at: "a.yaml:16:5", path: "projects.many.tags", msg: "has 62 entries; tags is a mapping of at most 61 user tags"},
			},
		},
		{
			name: "adopt",
			files: map[string]string{"a.yaml": esProject + "    adopt: yes-please\n" +
				"  beta:\n    type: elasticsearch\n    name: B\n    region_id: aws-us-east-1\n    adopt: true\n" +
				"  gamma:\n    type: elasticsearch\n    name: G\n    region_id: aws-us-east-1\n    adopt: 0123456789abcdef0123456789abcdef\n"},
			want: []want{
				{at: "a.yaml:7:5", path: "projects.alpha.adopt", msg: `invalid value "yes-please": adopt is true`},
				{at: "a.yaml:12:5", path: "projects.beta.adopt", msg: "adopt: true finds the project to adopt by its alias, but this project has no alias"},
			},
		},
		{
			name: "security product types and retention",
			files: map[string]string{"a.yaml": head + "    type: security\n    name: S\n    region_id: azure-eastus\n" +
				"    product_types:\n      - {product_line: cloud, product_tier: complete}\n      - {product_line: cloud, product_tier: essentials}\n      - {product_line: iot, product_tier: complete}\n" +
				"    search_lake:\n      data_retention: {max_retention_days: 30, default_retention_days: 60}\n"},
			want: []want{
				{at: "a.yaml:9:10", path: "projects.alpha.product_types[1].product_line", msg: `product line "cloud" is already listed at product_types[0]`},
				{at: "a.yaml:10:10", path: "projects.alpha.product_types[2].product_line", msg: `invalid value "iot": product_line is security, cloud or endpoint`},
				{at: "a.yaml:12:48", path: "projects.alpha.search_lake.data_retention.default_retention_days", msg: "default_retention_days (60) exceeds max_retention_days (30)"},
			},
		},
		{
			name: "api key durations",
			files: map[string]string{"a.yaml": esProject + "    api_keys:\n" +
				"      a: {expiration: 30days, role_descriptors: {r: {}}}\n" +
				"      b: {expiration: 500ms, role_descriptors: {r: {}}}\n" +
				"      c: {rotate_before: 7d, role_descriptors: {r: {}}}\n" +
				"      d: {expiration: 7d, rotate_before: 7d, role_descriptors: {r: {}}}\n" +
				"      e: {expiration: 99999999999999999d, role_descriptors: {r: {}}}\n" +
				"      f: {expiration: 30d, rotate_before: 0s, role_descriptors: {r: {}}}\n" +
				"      g: {expiration: 30d, rotate_before: 7d, role_descriptors: {r: {}}}\n"},
			want: []want{
				{at: "a.yaml:8:11", path: "projects.alpha.api_keys.a.expiration", msg: `invalid value "30days": a duration is a whole number and a unit`},
				{at: "a.yaml:9:11", path: "projects.alpha.api_keys.b.expiration", msg: `expiration "500ms" is shorter than 1s`},
				{at: "a.yaml:10:11", path: "projects.alpha.api_keys.c.rotate_before", msg: "rotate_before needs expiration"},
				{at: "a.yaml:11:27", path: "projects.alpha.api_keys.d.rotate_before", msg: "rotate_before (7d) must be shorter than expiration (7d)"},
				{at: "a.yaml:12:11", path: "projects.alpha.api_keys.e.expiration", msg: "value too large"},
				{at: "a.yaml:13:28", path: "projects.alpha.api_keys.f.rotate_before", msg: `rotate_before "0s" must be a positive duration`},
			},
		},
		{
			name: "role descriptors: privileges, shape, serverless limits",
			files: map[string]string{"a.yaml": esProject + `    api_keys:
      r:
        role_descriptors:
          x:
            description: not for API keys
            run_as: [bob]
            cluster: [monitr, "cluster:monitor/*", MONITOR]
            indices:
              - names: books
                privileges: [reed, "indices:data/read/*"]
                field_security: {except: [secret]}
              - privileges: [read]
            applications:
              - {application: kibana, privileges: [read]}
            metadata: {_hidden: 1}
        metadata: {_x: 1, slsync_key: 2, team: a}
      "_bad": {role_descriptors: {r: {}}}
      n: {name: " padded", role_descriptors: {r: {}}}
`},
			want: []want{
				{at: "a.yaml:11:13", path: "projects.alpha.api_keys.r.role_descriptors.x.description", msg: `unknown field "description"; allowed here: applications, cluster, indices, metadata, run_as`},
				{at: "a.yaml:12:13", path: "projects.alpha.api_keys.r.role_descriptors.x.run_as", msg: "has 1 item; run_as is not available on Elastic Cloud Serverless"},
				{at: "a.yaml:13:23", path: "projects.alpha.api_keys.r.role_descriptors.x.cluster[0]", msg: `unknown cluster privilege "monitr" (did you mean "monitor"?); Elastic Cloud Serverless accepts all, cancel_task,`},
				{at: "a.yaml:15:17", path: "projects.alpha.api_keys.r.role_descriptors.x.indices[0].names", msg: `invalid value "books": names is a non-empty list of index names`},
				{at: "a.yaml:16:30", path: "projects.alpha.api_keys.r.role_descriptors.x.indices[0].privileges[0]", msg: `unknown index privilege "reed" (did you mean "read"?)`},
				{at: "a.yaml:17:34", path: "projects.alpha.api_keys.r.role_descriptors.x.indices[0].field_security.except", msg: "except needs grant beside it"},
				{at: "a.yaml:18:17", path: "projects.alpha.api_keys.r.role_descriptors.x.indices[1]", msg: `missing required field "names"`},
				{at: "a.yaml:20:17", path: "projects.alpha.api_keys.r.role_descriptors.x.applications[0]", msg: `missing required field "resources"`},
				{at: "a.yaml:21:24", path: "projects.alpha.api_keys.r.role_descriptors.x.metadata._hidden", msg: `invalid key "_hidden": role descriptor metadata keys may not start with '_'`},
				{at: "a.yaml:22:20", path: "projects.alpha.api_keys.r.metadata._x", msg: `invalid key "_x": API key metadata keys may not start with '_'`},
				{at: "a.yaml:22:27", path: "projects.alpha.api_keys.r.metadata.slsync_key", msg: `invalid key "slsync_key": metadata keys starting with 'slsync_' are reserved`},
				{at: "a.yaml:23:7", path: "projects.alpha.api_keys._bad", msg: `invalid key "_bad": an API key name is 1-256 characters`},
				{at: "a.yaml:24:11", path: "projects.alpha.api_keys.n.name", msg: `invalid value " padded": an API key name`},
			},
		},
		{
			name:  "no role descriptors is a warning",
			files: map[string]string{"a.yaml": esProject + "    api_keys:\n      admin: {expiration: 1d}\n      empty: {role_descriptors: {}}\n"},
			want: []want{
				{at: "a.yaml:8:7", path: "projects.alpha.api_keys.admin", msg: "no role_descriptors: this key gets every privilege", warn: true},
				{at: "a.yaml:9:7", path: "projects.alpha.api_keys.empty", msg: "no role_descriptors", warn: true},
			},
		},
		{
			name:  "duplicate YAML keys, each at the repeated key",
			files: map[string]string{"a.yaml": esProject + "    name: Again\n    tags: {a: b, a: c}\n"},
			want: []want{
				{at: "a.yaml:7:5", path: "projects.alpha.name", msg: `key "name" is written twice in this mapping (first at a.yaml:5:5); keep one`},
				{at: "a.yaml:8:18", path: "projects.alpha.tags.a", msg: `key "a" is written twice in this mapping (first at a.yaml:8:12)`},
			},
		},
		{
			name: "project key defined in two files, names both",
			files: map[string]string{
				"a.yaml": esProject,
				"b.yaml": "owner: acme\nprojects:\n  beta:\n    type: security\n    name: B\n    region_id: aws-us-east-1\n  alpha:\n    type: security\n    name: A2\n    region_id: aws-us-east-1\n",
			},
			want: []want{{at: "b.yaml:7:3", path: "projects.alpha", msg: `project key "alpha" is already defined at a.yaml:3:3; a project key may be defined only once`}},
		},
		{
			name: "two owners, names both",
			files: map[string]string{
				"a.yaml": esProject,
				"b.yaml": "owner: someone-else\nprojects: {}\n",
			},
			want: []want{{at: "b.yaml:1:1", path: "owner", msg: `owner "someone-else" differs from owner "acme" at a.yaml:1:1`}},
		},
		{
			name:  "multi-document file: owners and keys across documents",
			files: map[string]string{"a.yaml": esProject + "---\nowner: acme\nprojects:\n  alpha:\n    type: security\n    name: X\n    region_id: aws-us-east-1\n---\nowner: other\nprojects: {}\n"},
			want: []want{
				{at: "a.yaml:10:3", path: "projects.alpha", msg: `project key "alpha" is already defined at a.yaml:3:3`},
				{at: "a.yaml:15:1", path: "owner", msg: `owner "other" differs from owner "acme" at a.yaml:1:1`},
			},
		},
		{
			name:  "duplicate alias is a warning",
			files: map[string]string{"a.yaml": esProject + "    alias: same\n  beta:\n    type: security\n    name: B\n    region_id: aws-us-east-1\n    alias: same\n"},
			want:  []want{{at: "a.yaml:8:3", path: "projects.beta.alias", msg: `alias "same" is also requested by project "alpha" at a.yaml:3:3`, warn: true}},
		},
		{
			name:  "YAML syntax error",
			files: map[string]string{"a.yaml": "owner: acme\nprojects:\n  a: [1, 2\n", "b.yaml": esProject},
			want:  []want{{at: "a.yaml:3:", path: "", msg: "YAML syntax error: "}},
		},
		{
			name:  "empty document between separators (would drop later documents)",
			files: map[string]string{"a.yaml": esProject + "---\n---\n" + "owner: acme\nprojects: {}\n"},
			want:  []want{{at: "a.yaml:8:1", path: "", msg: "empty YAML document: two '---' separators"}},
		},
		{
			name:  "NaN and Inf are rejected before the schema",
			files: map[string]string{"a.yaml": esProject + "    search_lake: {search_power: .nan, boost_window: -.inf}\n"},
			want: []want{
				{at: "a.yaml:7:19", path: "projects.alpha.search_lake.search_power", msg: "not a finite number"},
				{at: "a.yaml:7:39", path: "projects.alpha.search_lake.boost_window", msg: "not a finite number"},
			},
		},
		{
			name:  "wrong shapes",
			files: map[string]string{"a.yaml": "owner: 12\nprojects:\n  alpha: [1]\n  beta:\n    type: elasticsearch\n    name: 2024\n    region_id: aws-us-east-1\n    protect: yes\n"},
			want: []want{
				{at: "a.yaml:1:1", path: "owner", msg: "invalid value 12 (a number): an owner is 1-128 characters"},
				{at: "a.yaml:3:3", path: "projects.alpha", msg: "expected a mapping, found a list"},
				{at: "a.yaml:6:5", path: "projects.beta.name", msg: "invalid value 2024 (a number): name is a string of 1-255 characters"},
				{at: "a.yaml:8:5", path: "projects.beta.protect", msg: `invalid value "yes": protect is true or false`},
			},
		},
		{
			name:  "a document that is not a mapping",
			files: map[string]string{"a.yaml": "- owner: acme\n"},
			want:  []want{{at: "a.yaml:1:1", path: "", msg: "expected a mapping, found a list"}},
		},
		{
			name:  "empty file is a warning",
			files: map[string]string{"a.yaml": esProject, "empty.yaml": "# nothing yet\n"},
			want:  []want{{at: "empty.yaml", path: "", msg: "no manifest in this file", warn: true}},
		},
		{
			name:  "anchors and merge keys: errors located in the anchored source",
			files: map[string]string{"a.yaml": "owner: acme\nbase: &base\n  type: elasticsearch\nprojects:\n  alpha:\n    <<: *base\n    name: A\n    region_id: aws-us-east-1\n    alias: Bad\n"},
			want: []want{
				{at: "a.yaml:2:1", path: "base", msg: `unknown field "base"`},
				{at: "a.yaml:9:5", path: "projects.alpha.alias", msg: "an alias is"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, diags := LoadFiles(filesOf(tc.files))
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			if len(diags) != len(tc.want) {
				t.Fatalf("want %d diagnostics, got %d:\n%s", len(tc.want), len(diags), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				d := diags[i]
				if !strings.HasPrefix(d.Location.String(), w.at) || d.Path != w.path || !strings.Contains(d.Message, w.msg) || (d.Severity == SeverityWarning) != w.warn {
					t.Errorf("diagnostic %d:\n got  %s (%s)\n want %s: %s: ...%s... (warning=%v)", i, got[i], d.Severity, w.at, w.path, w.msg, w.warn)
				}
				if d.Location.Line > 0 && d.SourceLine == "" {
					t.Errorf("diagnostic %d has no source line: %s", i, got[i])
				}
			}
			if set == nil {
				t.Fatal("LoadFiles returned a nil set")
			}
		})
	}
}

func manyTags(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, "t"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+string(rune('a'+i/26))+": v")
	}
	return strings.Join(parts, ", ")
}

func filesOf(m map[string]string) []File {
	var out []File
	for p, s := range m {
		out = append(out, File{Path: p, Src: []byte(s)})
	}
	return out
}

func TestLoadBuildsModel(t *testing.T) {
	src := `# yaml-language-server: $schema=x
owner: acme
projects:
  search:
    type: elasticsearch
    name: Search
    alias: search-prod
    region_id: aws-us-east-1
    optimized_for: vector
    search_lake: {search_power: 100, boost_window: 7}
    tags: {team: search}
    protect: true
    adopt: true
    api_keys:
      reader:
        expiration: 30d
        rotate_before: 7d
        role_descriptors:
          ro:
            cluster: [monitor]
            indices:
              - names: [books]
                privileges: [read]
                query: {term: {year: 2024}}
        metadata: {team: books, level: 3, nested: {ok: true, list: [1, -2, 1.5]}}
      writer:
        name: books-writer
        role_descriptors: {rw: {indices: [{names: [books], privileges: [write]}]}}
  sec:
    type: security
    name: Sec
    region_id: gcp-us-central1
    tags: {}
    adopt: 0123456789abcdef0123456789abcdef
    product_types: [{product_line: security, product_tier: essentials}]
    admin_features_package: enterprise
    search_lake: {data_retention: {max_retention_days: 400, default_retention_days: 30}}
    api_keys: {}
  obs:
    type: observability
    name: Obs
    region_id: aws-eu-west-1
    product_tier: logs_essentials
`
	set, diags := LoadFiles([]File{{Path: "m/set.yaml", Src: []byte(src)}})
	if diags.HasErrors() {
		t.Fatalf("unexpected errors: %v", diags)
	}
	if set.Owner != "acme" || set.OwnerAt != (model.Location{File: "m/set.yaml", Line: 2, Column: 1}) {
		t.Errorf("owner: %q at %v", set.Owner, set.OwnerAt)
	}
	if !reflect.DeepEqual(set.Files, []string{"m/set.yaml"}) || len(set.Digest) != 64 {
		t.Errorf("files %v digest %q", set.Files, set.Digest)
	}
	if got := set.ProjectKeys(); !reflect.DeepEqual(got, []string{"obs", "search", "sec"}) {
		t.Fatalf("projects: %v", got)
	}
	ip := func(i int) *int { return &i }
	s := set.Projects["search"]
	wantSearch := &model.Project{
		Key: "search", Type: model.Elasticsearch, Name: "Search", Alias: "search-prod", RegionID: "aws-us-east-1",
		Tags: map[string]string{"team": "search"}, Protect: true, Adopt: "true", OptimizedFor: "vector",
		SearchLake: &model.SearchLake{SearchPower: ip(100), BoostWindow: ip(7)},
		At:         model.Location{File: "m/set.yaml", Line: 4, Column: 3},
		APIKeys: map[string]*model.APIKey{
			"reader": {Key: "reader", Name: "reader", Expiration: "30d", RotateBefore: "7d",
				RoleDescriptors: map[string]any{"ro": map[string]any{
					"cluster": []any{"monitor"},
					"indices": []any{map[string]any{"names": []any{"books"}, "privileges": []any{"read"},
						"query": map[string]any{"term": map[string]any{"year": float64(2024)}}}},
				}},
				Metadata: map[string]any{"team": "books", "level": float64(3),
					"nested": map[string]any{"ok": true, "list": []any{float64(1), float64(-2), 1.5}}},
				At: model.Location{File: "m/set.yaml", Line: 15, Column: 7}},
			"writer": {Key: "writer", Name: "books-writer",
				RoleDescriptors: map[string]any{"rw": map[string]any{"indices": []any{map[string]any{"names": []any{"books"}, "privileges": []any{"write"}}}}},
				At:              model.Location{File: "m/set.yaml", Line: 26, Column: 7}},
		},
	}
	if !reflect.DeepEqual(s, wantSearch) {
		gotJ, _ := json.MarshalIndent(s, "", " ")
		wantJ, _ := json.MarshalIndent(wantSearch, "", " ")
		t.Errorf("search project:\n got %s\nwant %s", gotJ, wantJ)
	}
	sec := set.Projects["sec"]
	if sec.Tags == nil || len(sec.Tags) != 0 {
		t.Errorf("tags: {} must be an empty, non-nil map; got %#v", sec.Tags)
	}
	if sec.APIKeys == nil || len(sec.APIKeys) != 0 {
		t.Errorf("api_keys: {} must be an empty, non-nil map; got %#v", sec.APIKeys)
	}
	if sec.Adopt != "0123456789abcdef0123456789abcdef" || sec.AdminFeaturesPackage != "enterprise" ||
		!reflect.DeepEqual(sec.ProductTypes, []model.ProductType{{ProductLine: "security", ProductTier: "essentials"}}) ||
		sec.SearchLake == nil || sec.SearchLake.SearchPower != nil || sec.SearchLake.DataRetention == nil ||
		*sec.SearchLake.DataRetention.MaxRetentionDays != 400 || *sec.SearchLake.DataRetention.DefaultRetentionDays != 30 {
		t.Errorf("security project: %+v", sec)
	}
	obs := set.Projects["obs"]
	if obs.Tags != nil || obs.APIKeys != nil || obs.SearchLake != nil || obs.ProductTypes != nil || obs.ProductTier != "logs_essentials" || obs.Protect || obs.Adopt != "" {
		t.Errorf("omitted fields must stay unspecified: %+v", obs)
	}
}

func TestDigest(t *testing.T) {
	a := []File{{Path: "a.yaml", Src: []byte(esProject)}, {Path: "b.yaml", Src: []byte("owner: acme\nprojects: {}\n")}}
	s1, _ := LoadFiles(a)
	s2, _ := LoadFiles([]File{a[1], a[0]})
	if s1.Digest != s2.Digest {
		t.Error("digest must not depend on the order files are given in")
	}
	changed := []File{a[0], {Path: "b.yaml", Src: []byte("owner: acme\nprojects: {} \n")}}
	renamed := []File{a[0], {Path: "c.yaml", Src: a[1].Src}}
	for name, fs := range map[string][]File{"content": changed, "path": renamed} {
		if s, _ := LoadFiles(fs); s.Digest == s1.Digest {
			t.Errorf("digest must change when a file's %s changes", name)
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proj := func(key string) string {
		return "owner: acme\nprojects:\n  " + key + ":\n    type: elasticsearch\n    name: X\n    region_id: aws-us-east-1\n"
	}
	write("b.yaml", proj("b"))
	write("a/z.yml", proj("z"))
	write("a/y.yaml", proj("y"))
	write("README.md", "not a manifest")
	write(".git/x.yaml", "broken: [")
	write(".hidden.yaml", "broken: [")
	write("a/.y.yaml.swp", "broken: [")
	write("a/#y.yaml#", "broken: [")
	write("a/y.yaml~", "broken: [")

	set, diags, err := Load(root)
	if err != nil || len(diags) != 0 {
		t.Fatalf("Load: %v %v", err, diags)
	}
	want := []string{filepath.Join(root, "a/y.yaml"), filepath.Join(root, "a/z.yml"), filepath.Join(root, "b.yaml")}
	if !reflect.DeepEqual(set.Files, want) {
		t.Errorf("files:\n got %v\nwant %v", set.Files, want)
	}
	if got := set.ProjectKeys(); !reflect.DeepEqual(got, []string{"b", "y", "z"}) {
		t.Errorf("projects: %v", got)
	}
	if set.Projects["y"].At.File != filepath.Join(root, "a/y.yaml") {
		t.Errorf("location: %v", set.Projects["y"].At)
	}
	// The digest does not depend on how the directory was named.
	t.Chdir(root)
	set2, _, err := Load("./")
	if err != nil || set2.Digest != set.Digest {
		t.Errorf("digest differs between %q and %q: %v", root, "./", err)
	}
	if set2.Files[0] != "a/y.yaml" {
		t.Errorf("relative root must give relative paths: %v", set2.Files)
	}

	// A single file, whatever its name.
	write("single.txt", proj("s"))
	set3, diags, err := Load(filepath.Join(root, "single.txt"))
	if err != nil || len(diags) != 0 || len(set3.Projects) != 1 {
		t.Errorf("single file: %v %v %v", err, diags, set3)
	}

	if _, _, err := Load(filepath.Join(root, "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing path: want an I/O error, got %v", err)
	}
	empty := t.TempDir()
	_, diags, err = Load(empty)
	if err != nil || len(diags) != 1 || !diags.HasErrors() || !strings.Contains(diags[0].Message, "no manifest files") || diags[0].Location.File != empty {
		t.Errorf("empty dir: %v %v", err, diags)
	}
}

func TestExamplesAreValid(t *testing.T) {
	for _, ex := range []string{"minimal", "fleet", "teams"} {
		t.Run(ex, func(t *testing.T) {
			dir := filepath.Join("..", "..", "examples", ex)
			set, diags, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(diags) != 0 {
				var b bytes.Buffer
				_ = diags.WriteText(&b, false)
				t.Fatalf("example %s has diagnostics:\n%s", ex, b.String())
			}
			if len(set.Projects) == 0 {
				t.Fatal("no projects")
			}
			for _, f := range set.Files {
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(src, []byte("# yaml-language-server: $schema=")) {
					t.Errorf("%s does not start with the yaml-language-server modeline", f)
				}
			}
		})
	}
	// The fleet example shows what it promises: all three types, several keys.
	set, _, _ := Load(filepath.Join("..", "..", "examples", "fleet"))
	types := map[model.ProjectType]bool{}
	keys := 0
	for _, p := range set.Projects {
		types[p.Type] = true
		keys += len(p.APIKeys)
	}
	if len(types) != 3 || keys < 3 {
		t.Errorf("fleet: types %v, %d keys", types, keys)
	}
	teams, _ := ListFiles(filepath.Join("..", "..", "examples", "teams"))
	if len(teams) < 2 {
		t.Errorf("teams example must be several files, got %v", teams)
	}
}

func TestAliasBombIsRejected(t *testing.T) {
	var b strings.Builder
	b.WriteString("owner: acme\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("projects: {}\n")
	_, diags := LoadFiles([]File{{Path: "bomb.yaml", Src: []byte(b.String())}})
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "YAML aliases expand this document") || diags[0].Location.Line != 1 {
		t.Fatalf("want one alias-bomb error, got %v", diags)
	}
	// Sharing one anchor among a few places is fine.
	ok := "owner: acme\nbase: &ro {indices: [{names: [a], privileges: [read]}]}\nprojects:\n  a:\n    type: elasticsearch\n    name: A\n    region_id: aws-us-east-1\n    api_keys:\n      k1: {role_descriptors: {r: *ro}}\n      k2: {role_descriptors: {r: *ro}}\n"
	_, diags = LoadFiles([]File{{Path: "ok.yaml", Src: []byte(ok)}})
	if len(diags) != 1 || diags[0].Path != "base" {
		t.Fatalf("want only the unknown field base, got %v", diags)
	}
}
