package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
	"github.com/slsync/slsync/internal/state"
)

// StalePlanError says a saved plan no longer describes the world: the
// manifests or the live state moved since it was made. Nothing was changed.
type StalePlanError struct {
	Reasons []string
}

func (e *StalePlanError) Error() string {
	var b strings.Builder
	b.WriteString("the saved plan is out of date, so it was not applied (nothing was changed):")
	for _, r := range e.Reasons {
		b.WriteString("\n  - ")
		b.WriteString(r)
	}
	b.WriteString("\nmake a new plan with `slsync plan --out FILE`, review it, and apply that")
	return b.String()
}

// ProjectGetter reads one project with its ETag (*cloud.ProjectClient).
type ProjectGetter = state.ProjectGetter

// CheckSaved compares a saved plan with the manifests as they are now
// (their digest) and with live state read just now, and refuses it
// (*StalePlanError) when either moved: a project it creates exists, a
// project it changes is gone or has a new ETag (one GET per such project
// whose ETag the plan recorded), a key it creates exists, a key it updates,
// rotates or invalidates is gone or invalidated. Apply's If-Match still
// catches a change made between this check and the write.
func CheckSaved(ctx context.Context, p *plan.Plan, set *model.Set, live *model.LiveState, api ProjectGetter, parallelism int) error {
	var reasons []string
	if set != nil && p.ManifestDigest != set.Digest {
		reasons = append(reasons, fmt.Sprintf("the manifests changed since the plan was made (digest %s then, %s now)", short(p.ManifestDigest), short(set.Digest)))
	}
	if set != nil && p.Owner != set.Owner {
		reasons = append(reasons, fmt.Sprintf("the plan is for owner %q but the manifests say owner %q", p.Owner, set.Owner))
	}
	managed := map[string]*model.LiveProject{}
	byID := map[string]*model.LiveProject{}
	if live != nil {
		for _, lp := range live.Managed {
			managed[lp.Key] = lp
			byID[lp.ID] = lp
		}
		for _, lp := range live.Others {
			byID[lp.ID] = lp
		}
	}
	newProject := map[string]bool{}
	type etagCheck struct {
		addr string
		typ  model.ProjectType
		id   string
		etag string
	}
	var etags []etagCheck
	for _, a := range p.Actions {
		if a.Refused != "" {
			continue
		}
		o := a.Observed
		switch a.Resource {
		case plan.ResourceProject:
			if a.Kind == plan.Create {
				newProject[a.ProjectKey] = true
				if lp := managed[a.ProjectKey]; lp != nil {
					reasons = append(reasons, fmt.Sprintf("%s: the plan creates it, but it exists now (id %s)", a.Address, lp.ID))
				}
				continue
			}
			if a.Kind == plan.Replace {
				newProject[a.ProjectKey] = true
			}
			if byID[o.ProjectID] == nil {
				reasons = append(reasons, fmt.Sprintf("%s: project id %s is gone (or being deleted)", a.Address, o.ProjectID))
				continue
			}
			if o.ETag != "" {
				etags = append(etags, etagCheck{a.Address, o.ProjectType, o.ProjectID, o.ETag})
			}
		case plan.ResourceAPIKey:
			if newProject[a.ProjectKey] {
				continue // keys of a project the plan creates: nothing to compare
			}
			lp := managed[a.ProjectKey]
			if lp == nil || (o.ProjectID != "" && lp.ID != o.ProjectID) {
				reasons = append(reasons, fmt.Sprintf("%s: project %s (id %s) is gone", a.Address, a.ProjectKey, o.ProjectID))
				continue
			}
			if err := live.KeyErrors[a.ProjectKey]; err != nil {
				reasons = append(reasons, fmt.Sprintf("%s: cannot check the project's keys: %v", a.Address, err))
				continue
			}
			switch a.Kind {
			case plan.Create:
				for _, k := range lp.Keys {
					if k.Key == a.KeyName && !k.Invalidated {
						reasons = append(reasons, fmt.Sprintf("%s: the plan creates it, but key %s exists now", a.Address, k.ID))
						break
					}
				}
			default:
				found := false
				for _, k := range lp.Keys {
					if k.ID == o.KeyID && !k.Invalidated {
						found = true
					}
				}
				if !found {
					reasons = append(reasons, fmt.Sprintf("%s: key %s is gone or invalidated", a.Address, o.KeyID))
				}
			}
		}
	}
	if len(etags) > 0 && api != nil {
		var mu sync.Mutex
		var moved []string
		err := state.ForEach(ctx, len(etags), parallelism, func(ctx context.Context, i int) error {
			c := etags[i]
			got, err := api.Get(ctx, c.typ, c.id)
			var msg string
			switch {
			case cloud.IsNotFound(err):
				msg = fmt.Sprintf("%s: project id %s is gone", c.addr, c.id)
			case err != nil:
				return fmt.Errorf("reading project %s (id %s): %w", c.addr, c.id, err)
			case got.ETag != c.etag:
				msg = fmt.Sprintf("%s: project id %s changed (ETag %s then, %s now)", c.addr, c.id, c.etag, got.ETag)
			}
			if msg != "" {
				mu.Lock()
				moved = append(moved, msg)
				mu.Unlock()
			}
			return nil
		})
		if err != nil {
			return err
		}
		sort.Strings(moved)
		reasons = append(reasons, moved...)
	}
	if len(reasons) > 0 {
		return &StalePlanError{Reasons: reasons}
	}
	return nil
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	if digest == "" {
		return "(none)"
	}
	return digest
}

// FillETags records in the plan the current ETag of every live project an
// action patches, replaces or deletes (one GET each, in parallel), so that
// apply sends them as If-Match and a saved plan can be checked against
// them. A plan without such actions costs nothing.
func FillETags(ctx context.Context, api ProjectGetter, p *plan.Plan, parallelism int) error {
	var todo []*plan.Action
	for _, a := range p.Actions {
		if a.Resource != plan.ResourceProject || a.Observed.ProjectID == "" || a.Observed.ETag != "" {
			continue
		}
		switch a.Kind {
		case plan.Update, plan.Adopt, plan.Replace, plan.Delete:
			todo = append(todo, a)
		}
	}
	return state.ForEach(ctx, len(todo), parallelism, func(ctx context.Context, i int) error {
		a := todo[i]
		got, err := api.Get(ctx, a.Observed.ProjectType, a.Observed.ProjectID)
		if err != nil {
			return fmt.Errorf("reading project %s (id %s) for its ETag: %w", a.ProjectKey, a.Observed.ProjectID, err)
		}
		a.Observed.ETag = got.ETag
		return nil
	})
}
