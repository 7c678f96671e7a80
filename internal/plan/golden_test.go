package plan

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./internal/plan -run Golden -update` to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (re-run with -update if the change is intended):\n--- got\n%s", path, got)
	}
}

func richPlan(t *testing.T) *Plan {
	t.Helper()
	set, live := richFixture(t)
	return Compute(set, live, Options{AllowReplace: true, Now: now})
}

func TestGolden(t *testing.T) {
	p := richPlan(t)
	for _, tc := range []struct {
		file   string
		format string
		color  bool
	}{
		{"plan.txt.golden", FormatText, false},
		{"plan.color.txt.golden", FormatText, true},
		{"plan.md.golden", FormatMarkdown, false},
		{"plan.json.golden", FormatJSON, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, p, tc.format, tc.color); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, buf.Bytes())
		})
	}
	t.Run("saved.json.golden", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteSaved(&buf, p); err != nil {
			t.Fatal(err)
		}
		golden(t, "saved.json.golden", buf.Bytes())
	})
}

// The no-change plan is what most PR comments show; keep it in a golden too.
func TestGoldenNoChanges(t *testing.T) {
	set, live := matchingPair(t)
	p := Compute(set, live, Options{Now: now})
	for _, tc := range []struct{ file, format string }{
		{"nochange.txt.golden", FormatText},
		{"nochange.md.golden", FormatMarkdown},
		{"nochange.json.golden", FormatJSON},
	} {
		var buf bytes.Buffer
		if err := Render(&buf, p, tc.format, false); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.file, buf.Bytes())
	}
}

// Rendering the same plan twice, or a plan computed twice, gives the same
// bytes: PR comments must not churn and golden files must be meaningful.
func TestRenderingIsDeterministic(t *testing.T) {
	for _, format := range []string{FormatText, FormatMarkdown, FormatJSON} {
		var a, b bytes.Buffer
		if err := Render(&a, richPlan(t), format, false); err != nil {
			t.Fatal(err)
		}
		if err := Render(&b, richPlan(t), format, false); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s output differs between two runs", format)
		}
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	err := Render(&bytes.Buffer{}, richPlan(t), "yaml", false)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("text, markdown or json")) {
		t.Fatalf("want an error naming the formats, got %v", err)
	}
}
