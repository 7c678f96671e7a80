package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/slsync/slsync/internal/roledesc"
)

// Output formats accepted by Render.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// Render writes the plan in one of the formats "text", "markdown" (or "md")
// and "json". color adds ANSI colour to text output; the caller decides it
// (terminal, NO_COLOR), it is ignored by the other formats.
func Render(w io.Writer, p *Plan, format string, color bool) error {
	switch format {
	case FormatText, "":
		return RenderText(w, p, color)
	case FormatMarkdown, "md":
		return RenderMarkdown(w, p)
	case FormatJSON:
		return RenderJSON(w, p)
	}
	return fmt.Errorf("unknown plan format %q: use text, markdown or json", format)
}

// symbol is the one-glance marker of each kind, as Terraform readers expect.
func symbol(k Kind) string {
	switch k {
	case Create:
		return "+"
	case Update:
		return "~"
	case Replace:
		return "-/+"
	case Delete:
		return "-"
	case Adopt:
		return "⇐"
	case Rotate:
		return "↻"
	case Invalidate:
		return "⊘"
	}
	return "?"
}

// SummaryLine is the one-line verdict: "Plan: 2 to create, 1 to update." or
// "No changes. Live state matches the manifests.", with refusals and
// problems appended.
func (p *Plan) SummaryLine() string {
	var parts []string
	for _, k := range kinds() {
		if n := p.Summary.Count(k); n > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", n, k))
		}
	}
	var errs []string
	if n := p.Summary.Refused; n > 0 {
		errs = append(errs, plural(n, "refused action", "refused actions"))
	}
	if n := len(p.Problems); n > 0 {
		errs = append(errs, plural(n, "problem", "problems"))
	}
	switch {
	case len(parts) == 0 && len(errs) == 0:
		return "No changes. Live state matches the manifests."
	case len(errs) == 0:
		return "Plan: " + strings.Join(parts, ", ") + "."
	case len(parts) == 0:
		return "Plan: nothing can be applied; " + strings.Join(errs, ", ") + "."
	}
	return "Plan: " + strings.Join(parts, ", ") + "; " + strings.Join(errs, ", ") + "."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// formatValue renders a change value compactly: JSON for values, "(none)"
// for an absent one.
func formatValue(v any) string {
	if v == nil {
		return "(none)"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(roledesc.Plain(v)); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// projectGroups returns the actions grouped by project key, in project-key
// order, each group holding the project action first and then its keys, so
// that a reader sees everything about one project together.
func projectGroups(as []*Action) (keys []string, groups map[string][]*Action) {
	groups = map[string][]*Action{}
	for _, a := range as {
		if _, ok := groups[a.ProjectKey]; !ok {
			keys = append(keys, a.ProjectKey)
		}
		groups[a.ProjectKey] = append(groups[a.ProjectKey], a)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		sortActions(g)
	}
	return keys, groups
}
