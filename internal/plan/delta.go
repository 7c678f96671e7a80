package plan

import (
	"sort"

	"github.com/slsync/slsync/internal/roledesc"
)

// Delta says how a plan differs from the one shown before it, so that
// `slsync watch` can mark what the last save changed instead of making the
// reader compare two screens.
type Delta struct {
	// Added are addresses whose action is new or changed kind/content.
	Added map[string]bool
	// Gone are actions of the previous plan that are no longer planned
	// ("address (kind)"), sorted.
	Gone []string
}

// Compare returns what changed from prev to next; prev may be nil (nothing
// is then marked: the first plan is all news).
func Compare(prev, next *Plan) Delta {
	d := Delta{Added: map[string]bool{}}
	if prev == nil || next == nil {
		return d
	}
	old := map[string]string{}
	for _, a := range prev.Actions {
		old[a.Address] = fingerprint(a)
	}
	seen := map[string]bool{}
	for _, a := range next.Actions {
		seen[a.Address] = true
		if fp, ok := old[a.Address]; !ok || fp != fingerprint(a) {
			d.Added[a.Address] = true
		}
	}
	for _, a := range prev.Actions {
		if !seen[a.Address] {
			d.Gone = append(d.Gone, a.Address+" ("+string(a.Kind)+")")
		}
	}
	sort.Strings(d.Gone)
	return d
}

// fingerprint identifies what an action would do, for Compare.
func fingerprint(a *Action) string {
	s := string(a.Kind) + "|" + a.Refused
	for _, c := range a.Changes {
		s += "|" + c.Path + "=" + roledesc.JSON(c.Before) + ">" + roledesc.JSON(c.After)
	}
	return s
}
