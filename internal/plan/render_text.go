package plan

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// ANSI styles; used only when the caller asks for colour.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiMagenta = "\x1b[35m"
	ansiCyan    = "\x1b[36m"
)

type painter bool

func (c painter) paint(style, s string) string {
	if !c || s == "" {
		return s
	}
	return style + s + ansiReset
}

func kindStyle(k Kind) string {
	switch k {
	case Create:
		return ansiGreen
	case Update:
		return ansiYellow
	case Replace:
		return ansiMagenta
	case Delete, Invalidate:
		return ansiRed
	case Rotate, Adopt:
		return ansiCyan
	}
	return ""
}

// RenderText writes the plan for a person at a terminal or reading a CI log:
// one block per resource, grouped by project, with field-level old → new
// values and role descriptor changes as a unified diff; problems and refused
// actions are marked ✗ and repeated at the end so they cannot be missed.
func RenderText(w io.Writer, p *Plan, color bool) error {
	bw := bufio.NewWriter(w)
	c := painter(color)
	fmt.Fprintf(bw, "slsync plan for owner %s\n", p.Owner)

	keys, groups := projectGroups(p.Actions)
	for _, pk := range keys {
		for _, a := range groups[pk] {
			bw.WriteString("\n")
			writeTextAction(bw, c, a)
		}
	}

	if len(p.Warnings) > 0 {
		fmt.Fprintf(bw, "\n%s\n", c.paint(ansiBold+ansiYellow, "Warnings:"))
		for _, w := range p.Warnings {
			fmt.Fprintf(bw, "  %s %s: %s\n", c.paint(ansiYellow, "!"), w.Address, w.Message)
			if loc := w.Location.String(); loc != "" {
				fmt.Fprintf(bw, "      at %s\n", loc)
			}
		}
	}
	if len(p.Problems) > 0 {
		fmt.Fprintf(bw, "\n%s\n", c.paint(ansiBold+ansiRed, "Problems:"))
		for _, pr := range p.Problems {
			fmt.Fprintf(bw, "  %s %s: %s\n", c.paint(ansiRed, "✗"), pr.Address, pr.Message)
			if loc := pr.Location.String(); loc != "" {
				fmt.Fprintf(bw, "      at %s\n", loc)
			}
		}
	}
	var refused []*Action
	for _, a := range p.Actions {
		if a.Refused != "" {
			refused = append(refused, a)
		}
	}
	if len(refused) > 0 {
		fmt.Fprintf(bw, "\n%s\n", c.paint(ansiBold+ansiRed, "Refused:"))
		for _, a := range refused {
			fmt.Fprintf(bw, "  %s %s (%s): %s\n", c.paint(ansiRed, "✗"), a.Address, a.Kind, a.Refused)
		}
	}
	fmt.Fprintf(bw, "\n%s\n", c.paint(ansiBold, p.SummaryLine()))
	return bw.Flush()
}

func writeTextAction(bw *bufio.Writer, c painter, a *Action) {
	head := fmt.Sprintf("%s %s", symbol(a.Kind), a.Address)
	fmt.Fprintf(bw, "%s %s", c.paint(kindStyle(a.Kind)+ansiBold, head), c.paint(kindStyle(a.Kind), "("+string(a.Kind)+")"))
	if a.Refused != "" {
		fmt.Fprintf(bw, " %s", c.paint(ansiBold+ansiRed, "REFUSED"))
	}
	bw.WriteString("\n")
	const ind = "    "
	if a.Reason != "" {
		fmt.Fprintf(bw, "%s%s\n", ind, a.Reason)
	}
	if a.Refused != "" {
		fmt.Fprintf(bw, "%s%s %s\n", ind, c.paint(ansiRed, "✗ refused:"), a.Refused)
	}
	if len(a.DependsOn) > 0 {
		fmt.Fprintf(bw, "%sdepends on %s\n", ind, strings.Join(a.DependsOn, ", "))
	}
	width := 0
	for _, ch := range a.Changes {
		if ch.Diff == "" && len(ch.Path) > width {
			width = len(ch.Path)
		}
	}
	for _, ch := range a.Changes {
		if ch.Diff != "" {
			fmt.Fprintf(bw, "%s%s:\n", ind, ch.Path)
			writeTextDiff(bw, c, ind+"    ", ch.Diff)
			continue
		}
		pad := strings.Repeat(" ", width-len(ch.Path))
		switch {
		case a.Kind == Create:
			fmt.Fprintf(bw, "%s%s:%s %s\n", ind, ch.Path, pad, c.paint(ansiGreen, formatValue(ch.After)))
		default:
			fmt.Fprintf(bw, "%s%s:%s %s → %s\n", ind, ch.Path, pad,
				c.paint(ansiRed, formatValue(ch.Before)), c.paint(ansiGreen, formatValue(ch.After)))
		}
	}
	if a.Kind == Invalidate || a.Kind == Delete {
		if a.Observed.KeyID != "" {
			fmt.Fprintf(bw, "%skey %q (id %s)\n", ind, a.Observed.KeyName, a.Observed.KeyID)
		}
	}
}

func writeTextDiff(bw *bufio.Writer, c painter, ind, diff string) {
	for _, l := range strings.SplitAfter(diff, "\n") {
		if l == "" {
			continue
		}
		l = strings.TrimSuffix(l, "\n")
		style := ""
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			style = ansiBold
		case strings.HasPrefix(l, "@@"):
			style = ansiCyan
		case strings.HasPrefix(l, "+"):
			style = ansiGreen
		case strings.HasPrefix(l, "-"):
			style = ansiRed
		}
		fmt.Fprintf(bw, "%s%s\n", ind, c.paint(style, l))
	}
}
