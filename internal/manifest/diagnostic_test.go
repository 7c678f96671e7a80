package manifest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/slsync/slsync/internal/model"
)

func TestWriteTextShowsSourceAndCaret(t *testing.T) {
	_, diags := LoadFiles([]File{{Path: "dir/a.yaml", Src: []byte(esProject + "    alias: Bad_Alias\n")}, {Path: "dir/empty.yaml"}})
	var out bytes.Buffer
	if err := diags.WriteText(&out, false); err != nil {
		t.Fatal(err)
	}
	want := `dir/a.yaml:7:5: projects.alpha.alias: invalid value "Bad_Alias": an alias is 1-50 characters: a lowercase letter first, then lowercase letters, digits or '-', not ending with '-' (RFC 1035 label, e.g. search-prod)
    7 |     alias: Bad_Alias
      |     ^
dir/empty.yaml: warning: no manifest in this file (it is empty or holds only comments)
`
	if out.String() != want {
		t.Errorf("text output:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	_ = diags.WriteText(&out, true)
	if !strings.Contains(out.String(), "\x1b[31m") || !strings.Contains(out.String(), "\x1b[33m") {
		t.Errorf("colour output lacks red errors / yellow warnings: %q", out.String())
	}
}

func TestCaretPadKeepsTabs(t *testing.T) {
	if got := caretPad("\tab: c", 3); got != "\t " {
		t.Errorf("caretPad = %q", got)
	}
	if got := caretPad("ab", 5); got != "    " {
		t.Errorf("caretPad past the end = %q", got)
	}
}

func TestDiagnosticsJSON(t *testing.T) {
	var none Diagnostics
	if b, _ := json.Marshal(none); string(b) != "[]" {
		t.Errorf("no diagnostics must be [], got %s", b)
	}
	d := Diagnostics{{Severity: SeverityError, Location: model.Location{File: "a.yaml", Line: 3, Column: 5},
		Path: "projects.a.alias", Message: "bad", SourceLine: "    alias: X"}}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"severity":"error","file":"a.yaml","line":3,"column":5,"path":"projects.a.alias","message":"bad","source_line":"    alias: X"}]`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	var back Diagnostics
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, d) {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

func TestDiagnosticsCountsAndSort(t *testing.T) {
	ds := Diagnostics{
		{Severity: SeverityWarning, Location: model.Location{File: "b.yaml", Line: 1}},
		{Severity: SeverityError, Location: model.Location{File: "a.yaml", Line: 9, Column: 2}},
		{Severity: SeverityError, Location: model.Location{File: "a.yaml", Line: 9, Column: 1}},
	}
	ds.Sort()
	if ds[0].Location.Column != 1 || ds[2].Location.File != "b.yaml" {
		t.Errorf("sort: %v", ds)
	}
	if !ds.HasErrors() || ds.Count(SeverityError) != 2 || ds.Count(SeverityWarning) != 1 || !reflect.DeepEqual(ds.Files(SeverityError), []string{"a.yaml"}) {
		t.Errorf("counts: %v", ds)
	}
	if (Diagnostics{{Severity: SeverityWarning}}).HasErrors() {
		t.Error("warnings alone are not errors")
	}
}
