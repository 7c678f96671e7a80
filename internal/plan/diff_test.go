package plan

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slsync/slsync/internal/model"
)

func TestUnifiedDiff(t *testing.T) {
	lines := func(n int, change map[int]string) string {
		var sb strings.Builder
		for i := 1; i <= n; i++ {
			if s, ok := change[i]; ok {
				sb.WriteString(s + "\n")
				continue
			}
			fmt.Fprintf(&sb, "line %d\n", i)
		}
		return sb.String()
	}
	tests := []struct {
		name     string
		from, to string
		want     string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"missing final newline is not a change", "a\nb", "a\nb\n", ""},
		{"CRLF is not a change", "a\r\nb\r\n", "a\nb\n", ""},
		{"from empty", "", "a\nb\n", "--- x\n+++ y\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"to empty", "a\n", "", "--- x\n+++ y\n@@ -1,1 +0,0 @@\n-a\n"},
		{
			"two distant changes give two hunks",
			lines(20, nil), lines(20, map[int]string{2: "two", 18: "eighteen"}),
			"--- x\n+++ y\n@@ -1,5 +1,5 @@\n line 1\n-line 2\n+two\n line 3\n line 4\n line 5\n" +
				"@@ -15,6 +15,6 @@\n line 15\n line 16\n line 17\n-line 18\n+eighteen\n line 19\n line 20\n",
		},
		{
			"close changes merge into one hunk",
			lines(12, nil), lines(12, map[int]string{3: "three", 9: "nine"}),
			"--- x\n+++ y\n@@ -1,12 +1,12 @@\n line 1\n line 2\n-line 3\n+three\n line 4\n line 5\n line 6\n line 7\n line 8\n-line 9\n+nine\n line 10\n line 11\n line 12\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unifiedDiff("x", "y", tt.from, tt.to); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// A plan with hundreds of new projects must still fit a GitHub comment.
func TestMarkdownStaysWithinCommentLimit(t *testing.T) {
	set := &model.Set{Owner: owner, Projects: map[string]*model.Project{}}
	for i := range 400 {
		k := fmt.Sprintf("p%03d", i)
		set.Projects[k] = &model.Project{Key: k, Type: model.Elasticsearch, Name: k, Alias: k, RegionID: "aws-us-east-1",
			APIKeys: map[string]*model.APIKey{"reader": {Key: "reader", RoleDescriptors: js(t, booksReadManifest)}}}
	}
	p := Compute(set, nil, Options{Now: now})
	var buf bytes.Buffer
	if err := RenderMarkdown(&buf, p); err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCount(buf.Bytes()); n > 65536 {
		t.Errorf("markdown is %d characters, over GitHub's limit", n)
	}
	if !strings.Contains(buf.String(), "more project(s) not shown") || !strings.Contains(buf.String(), "| `+` create | 800 |") {
		t.Errorf("truncated markdown should keep the full counts and say what it left out")
	}
	if strings.Count(buf.String(), "<details>") != strings.Count(buf.String(), "</details>") {
		t.Errorf("unbalanced <details>")
	}
}

// Text that could break Markdown (pipes, backticks, HTML) is neutralised.
func TestMarkdownEscaping(t *testing.T) {
	set := &model.Set{Owner: owner, Projects: map[string]*model.Project{
		"x": {Key: "x", Type: model.Elasticsearch, Name: "a|b `c` <script>", RegionID: "r"},
	}}
	var buf bytes.Buffer
	if err := RenderMarkdown(&buf, Compute(set, nil, Options{Now: now})); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Inside a code span HTML is shown literally; pipes must not end the cell
	// and backticks must not end the span.
	if !strings.Contains(out, "| `name` | — | `\"a\\|b ˋcˋ <script>\"` |\n") {
		t.Errorf("unescaped markdown:\n%s", out)
	}
}

func TestTextColourOnlyWhenAsked(t *testing.T) {
	p := richPlan(t)
	var plain, col bytes.Buffer
	if err := RenderText(&plain, p, false); err != nil {
		t.Fatal(err)
	}
	if err := RenderText(&col, p, true); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain.Bytes(), []byte("\x1b[")) {
		t.Error("uncoloured text contains ANSI escapes")
	}
	if !bytes.Contains(col.Bytes(), []byte("\x1b[32m")) {
		t.Error("coloured text has no colour")
	}
	for _, f := range []string{FormatMarkdown, FormatJSON} {
		var b bytes.Buffer
		if err := Render(&b, p, f, true); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b.Bytes(), []byte("\x1b[")) {
			t.Errorf("%s output contains ANSI escapes", f)
		}
	}
}
