package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestValidateExamples(t *testing.T) {
	for _, ex := range []string{"minimal", "fleet", "teams"} {
		t.Run(ex, func(t *testing.T) {
			r := runCLI(t, "", nil, "", "validate", "-f", filepath.Join("..", "..", "examples", ex))
			if r.Code != exitOK || !strings.HasSuffix(r.Stderr, ": valid\n") || r.Stdout != "" {
				t.Fatalf("validate %s: %+v", ex, r)
			}
		})
	}
	r := runCLI(t, "", nil, "", "validate", "-f", filepath.Join("..", "..", "examples", "fleet"))
	if r.Stderr != "1 file, 4 projects, 7 API keys: valid\n" {
		t.Errorf("summary: %q", r.Stderr)
	}
}

// The "done when": an unknown field, a bad alias, a project key
// defined in two files and a type-specific field on the wrong type are all
// reported, each at its file:line, and validate exits 1.
func TestValidateReportsEveryProblem(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"team-a.yaml": `owner: acme
projects:
  search:
    type: elasticsearch
    name: Search
    alias: Search_Prod
    region_id: aws-us-east-1
    replicas: 3
`,
		"team-b.yaml": `owner: acme
projects:
  logs:
    type: observability
    name: Logs
    region_id: aws-eu-west-1
    optimized_for: vector
  search:
    type: security
    name: Search again
    region_id: aws-eu-west-1
`,
	})
	r := runCLI(t, dir, nil, "", "validate")
	if r.Code != exitError {
		t.Fatalf("want exit %d, got %+v", exitError, r)
	}
	for _, want := range []string{
		"team-a.yaml:6:5: projects.search.alias: invalid value \"Search_Prod\": an alias is 1-50 characters",
		"    6 |     alias: Search_Prod\n      |     ^\n",
		"team-a.yaml:8:5: projects.search.replicas: unknown field \"replicas\"",
		"team-b.yaml:7:5: projects.logs.optimized_for: optimized_for applies only to elasticsearch projects (this project's type is observability)",
		"team-b.yaml:8:3: projects.search: project key \"search\" is already defined at team-a.yaml:3:3",
		"4 errors in 2 files\n",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "\x1b[") {
		t.Error("colour without a terminal")
	}
	// Sorted by file and line.
	if a, b := strings.Index(r.Stderr, "team-a.yaml:8:5"), strings.Index(r.Stderr, "team-b.yaml:7:5"); a < 0 || b < a {
		t.Error("diagnostics are not sorted by file and line")
	}

	// The same as JSON on stdout, for editors and CI.
	r = runCLI(t, dir, nil, "", "validate", "--format", "json")
	if r.Code != exitError || r.Stderr != "" {
		t.Fatalf("json: %+v", r)
	}
	var rep struct {
		Version     int      `json:"version"`
		Valid       bool     `json:"valid"`
		Files       []string `json:"files"`
		Errors      int      `json:"errors"`
		Diagnostics []struct {
			Severity, File, Path, Message string
			Line, Column                  int
			SourceLine                    string `json:"source_line"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("json output: %v\n%s", err, r.Stdout)
	}
	if rep.Version != 1 || rep.Valid || rep.Errors != 4 || len(rep.Diagnostics) != 4 || len(rep.Files) != 2 {
		t.Fatalf("json report: %+v", rep)
	}
	d := rep.Diagnostics[0]
	if d.Severity != "error" || d.File != "team-a.yaml" || d.Line != 6 || d.Column != 5 || d.Path != "projects.search.alias" || d.SourceLine != "    alias: Search_Prod" {
		t.Errorf("first diagnostic: %+v", d)
	}
}

func TestValidateJSONWhenValid(t *testing.T) {
	r := runCLI(t, "", nil, "", "validate", "-f", "../../examples/teams", "--format=json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != 0 {
		t.Fatalf("%v %+v", err, r)
	}
	if rep["valid"] != true || rep["owner"] != "acme" || rep["projects"] != float64(4) {
		t.Errorf("report: %v", rep)
	}
	if d, ok := rep["diagnostics"].([]any); !ok || len(d) != 0 {
		t.Errorf("diagnostics must be an empty list, got %v", rep["diagnostics"])
	}
}

func TestValidateWarningsDoNotFail(t *testing.T) {
	dir := writeFiles(t, map[string]string{"m.yaml": "owner: acme\nprojects:\n  a:\n    type: elasticsearch\n    name: A\n    region_id: aws-us-east-1\n    api_keys:\n      admin: {}\n"})
	r := runCLI(t, dir, nil, "", "validate")
	if r.Code != 0 || !strings.Contains(r.Stderr, "m.yaml:8:7: warning: projects.a.api_keys.admin: no role_descriptors") ||
		!strings.HasSuffix(r.Stderr, "1 file, 1 project, 1 API key: valid (1 warning)\n") {
		t.Fatalf("%+v", r)
	}
}

func TestValidateUsageAndIOErrors(t *testing.T) {
	r := runCLI(t, "", nil, "", "validate", "--format", "xml")
	if r.Code != exitUsage || !strings.Contains(r.Stderr, "--format") {
		t.Errorf("bad --format: %+v", r)
	}
	r = runCLI(t, t.TempDir(), nil, "", "validate", "-f", "nope")
	if r.Code != exitError || !strings.Contains(r.Stderr, "no such file or directory") || !strings.Contains(r.Stderr, "pass -f") {
		t.Errorf("missing path: %+v", r)
	}
	r = runCLI(t, t.TempDir(), nil, "", "validate")
	if r.Code != exitError || !strings.Contains(r.Stderr, "no manifest files (*.yaml, *.yml) found") {
		t.Errorf("empty directory: %+v", r)
	}
	r = runCLI(t, "", nil, "", "validate", "--help")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Exit status: 0 valid") || !strings.Contains(r.Stdout, "--format") {
		t.Errorf("validate --help: %+v", r)
	}
}

func TestSchemaCommandPrintsACompilableSchema(t *testing.T) {
	r := runCLI(t, "", nil, "", "schema")
	if r.Code != 0 {
		t.Fatalf("%+v", r)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://slsync.dev/schema/manifest.schema.json", bytes.NewReader([]byte(r.Stdout))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("https://slsync.dev/schema/manifest.schema.json"); err != nil {
		t.Fatalf("%#v", err)
	}
	r = runCLI(t, "", nil, "", "schema", "--help")
	if r.Code != 0 || !strings.Contains(r.Stdout, "yaml-language-server: $schema=") {
		t.Errorf("schema --help: %+v", r)
	}
}
