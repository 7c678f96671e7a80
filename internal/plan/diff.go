package plan

import (
	"fmt"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// diffContext is the number of unchanged lines shown around a change, as
// `diff -U3`.
const diffContext = 3

// unifiedDiff returns a unified line diff from one text to another, or "" when
// they are equal. Line mode follows the diff-match-patch recipe (lines encoded
// as runes, diffed, rehydrated; no character-level cleanup afterwards, which
// could split lines); DiffTimeout 0 keeps the result minimal and therefore
// deterministic, which the golden files and stable PR comments rely on.
func unifiedDiff(fromName, toName, from, to string) string {
	from, to = normalizeText(from), normalizeText(to)
	if from == to {
		return ""
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	a, b, lines := dmp.DiffLinesToRunes(from, to)
	diffs := dmp.DiffCharsToLines(dmp.DiffMainRunes(a, b, false), lines)
	return unified(fromName, toName, lineOps(diffs), diffContext)
}

// normalizeText makes line endings uniform and ensures a final newline, so
// that "x" and "x\n" do not differ in their last line. The empty text stays
// empty (zero lines).
func normalizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

type diffLine struct {
	op   diffmatchpatch.Operation
	text string
}

func lineOps(diffs []diffmatchpatch.Diff) []diffLine {
	var out []diffLine
	for _, d := range diffs {
		for _, l := range strings.SplitAfter(d.Text, "\n") {
			if l != "" {
				out = append(out, diffLine{d.Type, strings.TrimSuffix(l, "\n")})
			}
		}
	}
	return out
}

// unified writes hunks with ctx lines of context; hunks closer than 2*ctx
// lines are merged, as diff -U does.
func unified(from, to string, ls []diffLine, ctx int) string {
	var idx []int
	for i, l := range ls {
		if l.op != diffmatchpatch.DiffEqual {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return ""
	}
	oldNo, newNo := make([]int, len(ls)+1), make([]int, len(ls)+1)
	for i, l := range ls {
		oldNo[i+1], newNo[i+1] = oldNo[i], newNo[i]
		if l.op != diffmatchpatch.DiffInsert {
			oldNo[i+1]++
		}
		if l.op != diffmatchpatch.DiffDelete {
			newNo[i+1]++
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", from, to)
	for k := 0; k < len(idx); {
		start, end := max(0, idx[k]-ctx), idx[k]
		for k < len(idx) && idx[k]-end <= 2*ctx+1 {
			end = idx[k]
			k++
		}
		end = min(len(ls), end+ctx+1)
		oc, nc := oldNo[end]-oldNo[start], newNo[end]-newNo[start]
		oStart, nStart := oldNo[start]+1, newNo[start]+1
		if oc == 0 {
			oStart--
		}
		if nc == 0 {
			nStart--
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", oStart, oc, nStart, nc)
		for _, l := range ls[start:end] {
			p := " "
			switch l.op {
			case diffmatchpatch.DiffDelete:
				p = "-"
			case diffmatchpatch.DiffInsert:
				p = "+"
			}
			sb.WriteString(p + l.text + "\n")
		}
	}
	return sb.String()
}
