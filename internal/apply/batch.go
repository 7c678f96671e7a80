package apply

import (
	"context"
	"fmt"
	"slices"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
)

// A key whose secret nobody holds must never look settled to the next plan.
// A key created in a project that already existed carries its own marker
// (metadata slsync_pending) from its create until an update after delivery
// removes it. The keys of a project this run creates go in a batch instead:
// the project is created with the tag slsync-pending (model.TagPending) —
// in the create request, so it costs no call — its keys are created
// without a marker, and one PATCH removes the tag once every key of the
// batch reached a known end. That saves one update per key: half the calls
// of filling a new project with keys. A run that stops in between leaves
// the tag, and the next plan rotates every managed key of the project.

// batchKeys returns, by project action address, the key creates that go in
// the batch of a project the plan creates (or replaces: the new project is
// created by this run all the same).
func batchKeys(actions []*plan.Action) map[string][]string {
	created := map[string]string{} // project key → address of its create
	for _, a := range actions {
		if a.Resource == plan.ResourceProject && (a.Kind == plan.Create || a.Kind == plan.Replace) {
			created[a.ProjectKey] = a.Address
		}
	}
	out := map[string][]string{}
	for _, a := range actions {
		if a.Resource != plan.ResourceAPIKey || a.Kind != plan.Create {
			continue
		}
		if p, ok := created[a.ProjectKey]; ok && slices.Contains(a.DependsOn, p) {
			out[p] = append(out[p], a.Address)
		}
	}
	return out
}

// inBatch reports whether a key action is part of its project's batch and,
// if so, counts it as unsettled until settled is called. A key goes
// without its own marker only into a project known to carry the tag.
func (pc *projectCtx) inBatch(a *plan.Action) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if a.Kind != plan.Create || !pc.tagged {
		return false
	}
	pc.unsettled++
	return true
}

// settled records that a key action of the batch reached a known end: its
// secret was delivered, or no key it made is live.
func (pc *projectCtx) settled() {
	pc.mu.Lock()
	pc.unsettled--
	pc.mu.Unlock()
}

// settleBatch runs once every key action of a created project's batch has
// finished, whatever the outcome (an AfterAll node), and removes the
// project's TagPending tag when each of them confirmed a known end. When
// one did not (a create whose outcome stayed unknown, an undelivered key
// that could not be invalidated, a run stopped mid-call), the tag stays
// and the next plan rotates the project's keys. It also runs after the run
// was stopped, so that keys delivered before the stop are not rotated for
// nothing.
func (e *executor) settleBatch(ctx context.Context, a *plan.Action, pc *projectCtx) error {
	pc.mu.Lock()
	tagged, unsettled, typ, id, etag := pc.tagged, pc.unsettled, pc.typ, pc.id, pc.etag
	pc.mu.Unlock()
	if !tagged {
		return nil // not created (its action says why), or not with the tag
	}
	if unsettled > 0 {
		e.note(fmt.Sprintf("  %s keeps its %s tag: %d of its key actions ended without knowing whether they left a live key whose secret was not delivered; the next plan rotates the project's keys",
			a.Address, model.TagPending, unsettled))
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clearPendingTimeout)
	defer cancel()
	if err := e.removePendingTag(ctx, typ, id, etag); err != nil {
		return fmt.Errorf("the project (id %s) and its keys were created and every key's secret delivered, but removing its %s tag failed: %w; the next plan rotates its keys",
			id, model.TagPending, err)
	}
	return nil
}

// removePendingTag PATCHes the TagPending tag away with If-Match: the ETag
// from the create (or a GET when there is none), read again once if the
// project moved since.
func (e *executor) removePendingTag(ctx context.Context, typ model.ProjectType, id, etag string) error {
	req := &cloud.PatchProjectRequest{Metadata: &cloud.PatchMetadata{Tags: map[string]*string{model.TagPending: nil}}}
	reread := func() (string, bool, error) {
		p, err := e.opts.Projects.Get(ctx, typ, id)
		if err != nil {
			return "", false, err
		}
		_, has := p.Metadata.Tags[model.TagPending]
		return p.ETag, has, nil
	}
	if etag == "" {
		t, has, err := reread()
		if err != nil || !has {
			return err
		}
		etag = t
	}
	for attempt := 1; ; attempt++ {
		_, err := e.opts.Projects.Patch(ctx, typ, id, req, etag)
		switch {
		case err == nil:
			return nil
		case cloud.IsPreconditionFailed(err) && attempt == 1:
			t, has, gerr := reread()
			if gerr != nil || !has {
				return gerr
			}
			etag = t
		case cloud.IsOutcomeUnknown(err):
			// Did it happen? Ask.
			if _, has, gerr := reread(); gerr == nil && !has {
				return nil
			}
			return err
		default:
			return err
		}
	}
}
