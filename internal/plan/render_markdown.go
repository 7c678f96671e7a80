package plan

import (
	"fmt"
	"io"
	"strings"
)

// markdownBudget keeps a PR comment under GitHub's 65,536-character limit
// (with room for a CI wrapper's own text); project sections beyond it are
// summarised in one line.
const markdownBudget = 60000

// RenderMarkdown writes the plan as a pull-request comment: a heading, the
// verdict, a table of counts, errors first, then one collapsible section per
// project. It carries no timestamp, so re-posting an unchanged plan leaves
// the comment unchanged.
func RenderMarkdown(w io.Writer, p *Plan) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "### slsync plan for `%s`\n\n", mdCode(p.Owner))
	fmt.Fprintf(&sb, "**%s**\n", p.SummaryLine())
	if len(p.Warnings) > 0 {
		sb.WriteString("\n#### ⚠️ Warnings\n\n")
		for _, w := range p.Warnings {
			fmt.Fprintf(&sb, "- `%s`: %s", mdCode(w.Address), mdText(w.Message))
			if loc := w.Location.String(); loc != "" {
				fmt.Fprintf(&sb, " (`%s`)", mdCode(loc))
			}
			sb.WriteString("\n")
		}
	}
	if !p.HasChanges() && !p.HasErrors() {
		_, err := io.WriteString(w, sb.String())
		return err
	}

	sb.WriteString("\n| Action | Count |\n|:--|--:|\n")
	for _, k := range kinds() {
		fmt.Fprintf(&sb, "| `%s` %s | %d |\n", symbol(k), k, p.Summary.Count(k))
	}
	if p.Summary.Refused > 0 {
		fmt.Fprintf(&sb, "| ⛔ refused | %d |\n", p.Summary.Refused)
	}
	if len(p.Problems) > 0 {
		fmt.Fprintf(&sb, "| ❌ problems | %d |\n", len(p.Problems))
	}

	if p.HasErrors() {
		sb.WriteString("\n#### ❌ Errors — this plan cannot be applied as it is\n\n")
		for _, pr := range p.Problems {
			fmt.Fprintf(&sb, "- `%s`: %s", mdCode(pr.Address), mdText(pr.Message))
			if loc := pr.Location.String(); loc != "" {
				fmt.Fprintf(&sb, " (`%s`)", mdCode(loc))
			}
			sb.WriteString("\n")
		}
		for _, a := range p.Actions {
			if a.Refused != "" {
				fmt.Fprintf(&sb, "- `%s` (%s) refused: %s\n", mdCode(a.Address), a.Kind, mdText(a.Refused))
			}
		}
	}

	sb.WriteString("\n")
	keys, groups := projectGroups(p.Actions)
	for i, pk := range keys {
		section := markdownProject(pk, groups[pk])
		if sb.Len()+len(section) > markdownBudget {
			fmt.Fprintf(&sb, "_%d more project(s) not shown to keep this comment within GitHub's size limit; run `slsync plan` for the full plan._\n", len(keys)-i)
			break
		}
		sb.WriteString(section)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func markdownProject(pk string, as []*Action) string {
	var sb strings.Builder
	counts := map[Kind]int{}
	refused := 0
	for _, a := range as {
		if a.Refused != "" {
			refused++
		} else {
			counts[a.Kind]++
		}
	}
	var parts []string
	for _, k := range kinds() {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	if refused > 0 {
		parts = append(parts, fmt.Sprintf("%d refused ⛔", refused))
	}
	fmt.Fprintf(&sb, "<details><summary><code>%s</code> — %s</summary>\n\n", htmlEscape(pk), strings.Join(parts, ", "))
	for _, a := range as {
		fmt.Fprintf(&sb, "**`%s %s`** `%s`", symbol(a.Kind), a.Kind, mdCode(a.Address))
		if a.Refused != "" {
			sb.WriteString(" ⛔ **refused**")
		}
		sb.WriteString("\\\n")
		sb.WriteString(mdText(a.Reason) + "\n")
		if a.Refused != "" {
			fmt.Fprintf(&sb, "\n> ⛔ %s\n", mdText(a.Refused))
		}
		if len(a.DependsOn) > 0 {
			deps := make([]string, len(a.DependsOn))
			for i, d := range a.DependsOn {
				deps[i] = "`" + mdCode(d) + "`"
			}
			fmt.Fprintf(&sb, "\nDepends on %s.\n", strings.Join(deps, ", "))
		}
		var rows, diffs []Change
		for _, ch := range a.Changes {
			if ch.Diff != "" {
				diffs = append(diffs, ch)
			} else {
				rows = append(rows, ch)
			}
		}
		if len(rows) > 0 {
			sb.WriteString("\n| Field | Before | After |\n|:--|:--|:--|\n")
			for _, ch := range rows {
				before := "—"
				if ch.Before != nil || a.Kind != Create {
					before = "`" + mdCode(formatValue(ch.Before)) + "`"
				}
				fmt.Fprintf(&sb, "| `%s` | %s | `%s` |\n", mdCode(ch.Path), before, mdCode(formatValue(ch.After)))
			}
		}
		if a.Kind == Invalidate && a.Observed.KeyID != "" {
			fmt.Fprintf(&sb, "\nKey `%s` (id `%s`).\n", mdCode(a.Observed.KeyName), mdCode(a.Observed.KeyID))
		}
		for _, ch := range diffs {
			fmt.Fprintf(&sb, "\n`%s`:\n\n```diff\n%s```\n", mdCode(ch.Path), strings.ReplaceAll(ch.Diff, "```", "`\u200b``"))
		}
		sb.WriteString("\n")
	}
	sb.WriteString("</details>\n\n")
	return sb.String()
}

// mdCode makes s safe inside a single-backtick code span within a table
// cell: backticks cannot be escaped there, so they become a look-alike, and
// pipes and newlines would break the table.
func mdCode(s string) string {
	return strings.NewReplacer("`", "ˋ", "|", "\\|", "\n", " ", "\r", "").Replace(s)
}

// mdText keeps free text from turning into markup by accident: HTML tags,
// and line breaks that would end a list item.
func mdText(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "\n", " ").Replace(s)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
