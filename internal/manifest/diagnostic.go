package manifest

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/slsync/slsync/internal/model"
)

// Severity says whether a diagnostic makes the manifest set invalid.
type Severity string

const (
	// SeverityError makes the set invalid: plan and apply refuse it.
	SeverityError Severity = "error"
	// SeverityWarning is worth a look but does not stop anything.
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in a manifest set, located precisely
// enough for a human (file:line:col plus the source line) and for an editor
// (JSON form).
type Diagnostic struct {
	Severity Severity
	Location model.Location
	// Path is the dotted path of the offending field within its document,
	// e.g. "projects.alpha.alias" or "projects.a.api_keys.r.role_descriptors.x.indices[0].names";
	// "" for problems of a whole file or document.
	Path string
	// Message says what is wrong and what is allowed.
	Message string
	// SourceLine is the text of the line Location points at ("" if none).
	SourceLine string
}

// String renders the diagnostic on one line:
// "file:LINE:COL: path: message" (warnings carry "warning: " after the location).
func (d Diagnostic) String() string {
	var b strings.Builder
	if loc := d.Location.String(); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// jsonDiagnostic is the stable JSON shape of a Diagnostic (editors and CI
// parse it; add fields, never rename them).
type jsonDiagnostic struct {
	Severity   Severity `json:"severity"`
	File       string   `json:"file"`
	Line       int      `json:"line"`
	Column     int      `json:"column"`
	Path       string   `json:"path"`
	Message    string   `json:"message"`
	SourceLine string   `json:"source_line,omitempty"`
}

// MarshalJSON flattens the location so that consumers need no nesting:
// {"severity","file","line","column","path","message","source_line"}.
func (d Diagnostic) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonDiagnostic{
		Severity: d.Severity, File: d.Location.File, Line: d.Location.Line, Column: d.Location.Column,
		Path: d.Path, Message: d.Message, SourceLine: d.SourceLine,
	})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (d *Diagnostic) UnmarshalJSON(b []byte) error {
	var j jsonDiagnostic
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*d = Diagnostic{Severity: j.Severity, Location: model.Location{File: j.File, Line: j.Line, Column: j.Column},
		Path: j.Path, Message: j.Message, SourceLine: j.SourceLine}
	return nil
}

// Diagnostics is every problem of one run, in report order.
type Diagnostics []Diagnostic

// MarshalJSON writes an array, [] when there is nothing to report.
func (ds Diagnostics) MarshalJSON() ([]byte, error) {
	if ds == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]Diagnostic(ds))
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool { return ds.Count(SeverityError) > 0 }

// Count returns how many diagnostics have severity s.
func (ds Diagnostics) Count(s Severity) int {
	n := 0
	for _, d := range ds {
		if d.Severity == s {
			n++
		}
	}
	return n
}

// Files returns the distinct files that have a diagnostic of severity s.
func (ds Diagnostics) Files(s Severity) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range ds {
		if d.Severity == s && !seen[d.Location.File] {
			seen[d.Location.File] = true
			out = append(out, d.Location.File)
		}
	}
	sort.Strings(out)
	return out
}

// Sort orders diagnostics by file, line, column, then path and message, so
// that output is stable from run to run.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Location.File != b.Location.File {
			return a.Location.File < b.Location.File
		}
		if a.Location.Line != b.Location.Line {
			return a.Location.Line < b.Location.Line
		}
		if a.Location.Column != b.Location.Column {
			return a.Location.Column < b.Location.Column
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
}

const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiReset  = "\x1b[0m"
)

// WriteText writes each diagnostic as
//
//	path/to/file.yaml:7:5: projects.alpha.alias: <what is wrong and what is allowed>
//	    7 |     alias: Bad_Alias
//	      |     ^
//
// with ANSI colour only when color is true (the caller decides: a terminal
// and no NO_COLOR).
func (ds Diagnostics) WriteText(w io.Writer, color bool) error {
	var b strings.Builder
	for _, d := range ds {
		head := d.String()
		if color {
			c := ansiRed
			if d.Severity == SeverityWarning {
				c = ansiYellow
			}
			head = ansiBold + c + head + ansiReset
		}
		b.WriteString(head)
		b.WriteByte('\n')
		if d.SourceLine != "" && d.Location.Line > 0 {
			num := fmt.Sprintf("%5d", d.Location.Line)
			gutter := strings.Repeat(" ", len(num))
			caret := caretPad(d.SourceLine, d.Location.Column) + "^"
			if color {
				num, caret = ansiDim+num+ansiReset, ansiRed+caret+ansiReset
			}
			fmt.Fprintf(&b, "%s | %s\n%s | %s\n", num, d.SourceLine, gutter, caret)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// caretPad returns the whitespace that puts a caret under column col
// (1-based, in characters) of line, keeping tabs so that it lines up.
func caretPad(line string, col int) string {
	var b strings.Builder
	i := 1
	for _, r := range line {
		if i >= col {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		i++
	}
	for ; i < col; i++ {
		b.WriteByte(' ')
	}
	return b.String()
}
