package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
)

// errRunPlanAgain ends every "live state moved" error with the fix.
const errRunPlanAgain = "run `slsync plan` again and review the new plan"

// StaleError says the live state moved since the plan was made: a project's
// ETag no longer matches (412), or a key the plan acts on is gone.
type StaleError struct {
	Address string
	Detail  string
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("%s changed since the plan was made (%s); %s", e.Address, e.Detail, errRunPlanAgain)
}

// RaceLostError says another apply, running at the same time, created the
// same project or key first; this run removed its own duplicate.
type RaceLostError struct {
	Address string
	Other   string // id of the one that stays
	Removed string // id of this run's duplicate, deleted or invalidated
}

func (e *RaceLostError) Error() string {
	return fmt.Sprintf("another apply created %s first (id %s); this run's duplicate (id %s) was removed; run `slsync plan` again once the other apply is done",
		e.Address, e.Other, e.Removed)
}

// createRequest is the body of a project create. keysPending adds the
// TagPending tag: this run also creates the project's keys (see
// executor.batchKeys).
func createRequest(owner string, d *model.Project, keysPending bool) *cloud.CreateProjectRequest {
	tags := map[string]string{}
	for k, v := range d.Tags {
		tags[k] = v
	}
	tags[model.TagOwner] = owner
	tags[model.TagKey] = d.Key
	if keysPending {
		tags[model.TagPending] = model.TagPendingKeys
	}
	return &cloud.CreateProjectRequest{
		Name:                 d.Name,
		Alias:                d.Alias,
		RegionID:             d.RegionID,
		Metadata:             &cloud.CreateMetadata{Tags: tags},
		OptimizedFor:         d.OptimizedFor,
		SearchLake:           d.SearchLake,
		ProductTier:          d.ProductTier,
		ProductTypes:         d.ProductTypes,
		AdminFeaturesPackage: d.AdminFeaturesPackage,
	}
}

func identityTags(owner, key string) map[string]string {
	return map[string]string{model.TagOwner: owner, model.TagKey: key}
}

func (e *executor) waitOpts(what string) WaitOptions {
	return WaitOptions{What: what, Initial: e.opts.PollInitial, Max: e.opts.PollMax, Timeout: e.opts.WaitTimeout, Jitter: true}
}

// createOrReplace runs a project create, or a replace (delete the old
// project, wait until it is gone, create the new one).
func (e *executor) createOrReplace(ctx context.Context, a *plan.Action, pc *projectCtx) error {
	if a.Kind == plan.Replace {
		old := a.Observed
		if err := e.deleteByID(ctx, a.Address, old.ProjectType, old.ProjectID, old.ETag); err != nil {
			return err
		}
		if err := e.waitGone(ctx, a.Address, old.ProjectType, old.ProjectID); err != nil {
			return err
		}
		e.forgetCreds(ctx, old.ProjectID)
	}
	return e.createProject(ctx, a, pc)
}

// createProject creates a project and stores its admin credentials before
// anything else. A create whose answer was lost is never repeated blindly:
// the project is looked up by its tags first and adopted when found. After
// a create, a project with the same tags made earlier by another apply wins,
// and this run deletes its own.
func (e *executor) createProject(ctx context.Context, a *plan.Action, pc *projectCtx) error {
	d := a.Project
	typ := d.Type
	pc.mu.Lock()
	batch := pc.batch
	pc.mu.Unlock()
	req := createRequest(e.owner, d, batch)
	var created *cloud.CreatedProject
	for attempt := 1; ; attempt++ {
		cp, err := e.opts.Projects.Create(ctx, typ, req)
		if err == nil {
			created = cp
			break
		}
		switch {
		case cloud.IsOutcomeUnknown(err):
			found, ferr := e.findByTags(ctx, typ, d.Key)
			if ferr != nil {
				return fmt.Errorf("creating the project: %v; and looking for it by its tags failed too (%v), so it may exist without stored credentials; %s",
					err, ferr, errRunPlanAgain)
			}
			if found != nil {
				// Our create went through; its password is lost.
				e.note(fmt.Sprintf("  %s: the create's answer was lost, but the project exists (id %s); adopting it — its admin password was never seen, so its keys need --allow-credential-reset",
					a.Address, found.ID))
				pc.mu.Lock()
				pc.id, pc.typ, pc.endpoint, pc.createdHere = found.ID, typ, found.Endpoints["elasticsearch"], true
				// Keys go without their own marker only into a project
				// known to carry the batch's (the one found might be
				// another apply's).
				_, pc.tagged = found.Metadata.Tags[model.TagPending]
				pc.tagged = pc.tagged && batch
				pc.etag = found.ETag
				pc.mu.Unlock()
				return nil
			}
			if attempt >= maxCreateAttempts {
				return fmt.Errorf("creating the project: %w (tried %d times; no project with its tags exists)", err, attempt)
			}
			e.log.Info("project create answer lost and no project found; creating again", "project", d.Key)
		case cloud.IsConflict(err) && a.Kind == plan.Replace && attempt < 30:
			// The old project may still hold the alias for a moment.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(e.pollInterval()):
			}
		default:
			return fmt.Errorf("creating the project: %w", err)
		}
	}
	endpoint := created.Endpoints["elasticsearch"]
	entry := cloud.CredentialEntry{ProjectID: created.ID, Key: d.Key, Owner: e.owner,
		Username: created.Credentials.Username, Password: created.Credentials.Password, Endpoint: endpoint}
	if err := e.storeCreds(ctx, entry); err != nil {
		// The password exists nowhere else: say so plainly.
		return fmt.Errorf("project created (id %s) but its admin credentials could not be written to %s: %v; fix the file, then run apply again with --allow-credential-reset to get new ones",
			created.ID, e.opts.CredentialsPath, err)
	}
	if err := e.raceCheckProject(ctx, a, typ, created); err != nil {
		return err
	}
	pc.mu.Lock()
	pc.id, pc.typ, pc.endpoint, pc.createdHere = created.ID, typ, endpoint, true
	pc.username, pc.password = created.Credentials.Username, created.Credentials.Password
	pc.tagged, pc.etag = batch, created.ETag
	pc.mu.Unlock()
	return nil
}

func (e *executor) pollInterval() time.Duration {
	if e.opts.PollInitial > 0 {
		return e.opts.PollInitial
	}
	return DefaultWaitInitial
}

// findByTags returns the oldest live project carrying this owner's tags for
// key, or nil.
func (e *executor) findByTags(ctx context.Context, typ model.ProjectType, key string) (*cloud.Project, error) {
	ps, err := e.opts.Projects.List(ctx, typ, identityTags(e.owner, key))
	if err != nil {
		return nil, err
	}
	ps = e.alive(ctx, typ, ps)
	if len(ps) == 0 {
		return nil, nil
	}
	sortOldestFirst(ps)
	return &ps[0], nil
}

// alive drops projects that are being deleted. It asks for the status only
// when the list holds more than one project, which is rare.
func (e *executor) alive(ctx context.Context, typ model.ProjectType, ps []cloud.Project) []cloud.Project {
	if len(ps) < 2 {
		return ps
	}
	return e.aliveAll(ctx, typ, ps)
}

// sortOldestFirst orders projects by created_at, then id.
func sortOldestFirst(ps []cloud.Project) {
	sort.SliceStable(ps, func(i, j int) bool {
		ti, ei := time.Parse(time.RFC3339Nano, ps[i].Metadata.CreatedAt)
		tj, ej := time.Parse(time.RFC3339Nano, ps[j].Metadata.CreatedAt)
		if ei == nil && ej == nil && !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return ps[i].ID < ps[j].ID
	})
}

// raceCheckProject looks for another live project with the same identity
// tags. Two applies that both saw the project missing both create it; the
// one created later (created_at, at nanosecond precision) sees the other
// when it re-lists and deletes its own. Whichever way the two runs
// interleave, the later one's re-list comes after both creates, so exactly
// one project stays. On a tie of created_at both yield: no duplicate, and
// the next apply creates it.
func (e *executor) raceCheckProject(ctx context.Context, a *plan.Action, typ model.ProjectType, ours *cloud.CreatedProject) error {
	ps, err := e.opts.Projects.List(ctx, typ, identityTags(e.owner, a.ProjectKey))
	if err != nil {
		// The create succeeded; a failed check must not fail it. The next
		// plan would report a duplicate as a problem.
		e.log.Warn("could not check for a concurrent create", "project", a.ProjectKey, "error", err)
		return nil
	}
	mine, err1 := time.Parse(time.RFC3339Nano, ours.Metadata.CreatedAt)
	var others []cloud.Project
	for _, p := range ps {
		if p.ID == ours.ID {
			if t, err := time.Parse(time.RFC3339Nano, p.Metadata.CreatedAt); err == nil {
				mine, err1 = t, nil
			}
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, p.Metadata.CreatedAt)
		if err1 == nil && err == nil && t.After(mine) {
			continue // a later duplicate: its creator removes it
		}
		if err1 != nil && err != nil && p.ID > ours.ID {
			continue
		}
		others = append(others, p)
	}
	others = e.aliveAll(ctx, typ, others)
	if len(others) == 0 {
		return nil
	}
	sortOldestFirst(others)
	if err := e.opts.Projects.Delete(ctx, typ, ours.ID, ours.ETag); err != nil && !cloud.IsNotFound(err) && !cloud.IsOutcomeUnknown(err) {
		return fmt.Errorf("another apply created %s first (id %s), and deleting this run's duplicate (id %s) failed: %v; delete it by hand",
			a.Address, others[0].ID, ours.ID, err)
	}
	e.forgetCreds(ctx, ours.ID)
	return &RaceLostError{Address: a.Address, Other: others[0].ID, Removed: ours.ID}
}

// aliveAll drops projects that are being deleted (one status call each).
func (e *executor) aliveAll(ctx context.Context, typ model.ProjectType, ps []cloud.Project) []cloud.Project {
	var out []cloud.Project
	for _, p := range ps {
		if goneOrGoing(e.opts.Projects.Status(ctx, typ, p.ID)) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// goneOrGoing reports whether a status call's answer says the project is
// deleted or being deleted.
func goneOrGoing(st *cloud.ProjectStatus, err error) bool {
	return cloud.IsNotFound(err) || (err == nil && (st.Phase == model.PhaseDeleting || st.Phase == model.PhaseDeleted))
}

// waitInitialized polls a created project's status until it is initialized.
func (e *executor) waitInitialized(ctx context.Context, pc *projectCtx) error {
	pc.mu.Lock()
	typ, id, key := pc.typ, pc.id, pc.key
	pc.mu.Unlock()
	if id == "" {
		return errors.New("internal error: project id unknown after create")
	}
	if e.prog != nil {
		e.prog.WaitStarted(key)
		defer e.prog.WaitDone(key)
	}
	err := WaitFor(ctx, e.statusCheck(typ, id, model.PhaseInitialized), e.waitOpts(fmt.Sprintf("project %s (id %s) to be initialized", key, id)))
	if err != nil {
		return err
	}
	pc.mu.Lock()
	pc.ready = true
	pc.mu.Unlock()
	return nil
}

// statusCheck polls a project's phase until it is want.
func (e *executor) statusCheck(typ model.ProjectType, id, want string) CheckFunc {
	return func(ctx context.Context) (bool, string, error) {
		st, err := e.opts.Projects.Status(ctx, typ, id)
		switch {
		case cloud.IsNotFound(err), cloud.IsUnauthorized(err):
			return false, "", err
		case err != nil:
			return false, "", Retryable(err)
		}
		if st.Phase == model.PhaseSuspended {
			return false, st.Phase, fmt.Errorf("project %s is suspended; resume it in the Elastic Cloud console, then run apply again", id)
		}
		return st.Phase == want, st.Phase, nil
	}
}

// waitGone polls until a deleted project has disappeared (its alias is
// then free again).
func (e *executor) waitGone(ctx context.Context, addr string, typ model.ProjectType, id string) error {
	check := func(ctx context.Context) (bool, string, error) {
		st, err := e.opts.Projects.Status(ctx, typ, id)
		switch {
		case cloud.IsNotFound(err):
			return true, "gone", nil
		case err != nil:
			return false, "", Retryable(err)
		}
		return st.Phase == model.PhaseDeleted, st.Phase, nil
	}
	return WaitFor(ctx, check, e.waitOpts(fmt.Sprintf("%s (id %s) to be deleted", addr, id)))
}

// etagOf returns the ETag to send as If-Match: the one the plan observed,
// else a fresh one.
func (e *executor) etagOf(ctx context.Context, typ model.ProjectType, id, observed string) (string, error) {
	if observed != "" {
		return observed, nil
	}
	p, err := e.opts.Projects.Get(ctx, typ, id)
	if err != nil {
		return "", fmt.Errorf("reading the project for its ETag: %w", err)
	}
	return p.ETag, nil
}

// deleteProject deletes a project the manifests no longer want; with
// waitGone (another action waits for its alias) it also waits until it is
// gone.
func (e *executor) deleteProject(ctx context.Context, a *plan.Action, waitGone bool) error {
	o := a.Observed
	if err := e.deleteByID(ctx, a.Address, o.ProjectType, o.ProjectID, o.ETag); err != nil {
		return err
	}
	if waitGone {
		if err := e.waitGone(ctx, a.Address, o.ProjectType, o.ProjectID); err != nil {
			return err
		}
	}
	e.forgetCreds(ctx, o.ProjectID)
	return nil
}

func (e *executor) deleteByID(ctx context.Context, addr string, typ model.ProjectType, id, observedETag string) error {
	etag, err := e.etagOf(ctx, typ, id, observedETag)
	if cloud.IsNotFound(err) {
		return nil // gone already
	}
	if err != nil {
		return err
	}
	err = e.opts.Projects.Delete(ctx, typ, id, etag)
	switch {
	case err == nil, cloud.IsNotFound(err):
		return nil
	case cloud.IsPreconditionFailed(err):
		return &StaleError{Address: addr, Detail: fmt.Sprintf("project id %s no longer has ETag %s: If-Match failed with 412", id, etag)}
	case cloud.IsOutcomeUnknown(err):
		// Did it happen? Ask.
		if goneOrGoing(e.opts.Projects.Status(ctx, typ, id)) {
			return nil
		}
		return fmt.Errorf("deleting project %s: %w", id, err)
	}
	return fmt.Errorf("deleting project %s: %w", id, err)
}

// patchRequest builds the PATCH body of an update or adopt from the fields
// the plan says change.
func patchRequest(owner string, a *plan.Action) *cloud.PatchProjectRequest {
	d := a.Project
	req := &cloud.PatchProjectRequest{}
	if a.Changed("name") {
		req.Name = &d.Name
	}
	if a.Changed("alias") {
		req.Alias = &d.Alias
	}
	tags := map[string]*string{}
	for _, ch := range a.Changes {
		k, ok := cutPrefix(ch.Path, "tags.")
		if !ok {
			continue
		}
		if s, isStr := ch.After.(string); isStr {
			tags[k] = &s
		} else {
			tags[k] = nil
		}
	}
	if a.Kind == plan.Adopt {
		o, k := owner, d.Key
		tags[model.TagOwner], tags[model.TagKey] = &o, &k
	}
	if len(tags) > 0 {
		req.Metadata = &cloud.PatchMetadata{Tags: tags}
	}
	if a.Changed("search_lake") {
		req.SearchLake = d.SearchLake
	}
	if a.Changed("product_tier") {
		req.ProductTier = &d.ProductTier
	}
	if a.Changed("product_types") {
		req.ProductTypes = d.ProductTypes
	}
	if a.Changed("admin_features_package") {
		req.AdminFeaturesPackage = &d.AdminFeaturesPackage
	}
	return req
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

// patchApplied reports whether a project carries everything req sets, for a
// patch whose answer was lost.
func patchApplied(req *cloud.PatchProjectRequest, p *cloud.Project) bool {
	if req.Name != nil && p.Name != *req.Name {
		return false
	}
	if req.Alias != nil && p.Alias != *req.Alias && (len(p.ID) < 6 || p.Alias != *req.Alias+"-"+p.ID[:6]) {
		return false
	}
	if req.Metadata != nil {
		for k, v := range req.Metadata.Tags {
			have, ok := p.Metadata.Tags[k]
			if (v == nil) == ok || (v != nil && have != *v) {
				return false
			}
		}
	}
	if req.ProductTier != nil && p.ProductTier != *req.ProductTier {
		return false
	}
	if req.AdminFeaturesPackage != nil && p.AdminFeaturesPackage != *req.AdminFeaturesPackage {
		return false
	}
	if req.SearchLake != nil && !searchLakeHas(p.SearchLake, req.SearchLake) {
		return false
	}
	if req.ProductTypes != nil && !sameProductTypes(p.ProductTypes, req.ProductTypes) {
		return false
	}
	return true
}

// searchLakeHas reports whether have carries every member want sets.
func searchLakeHas(have, want *model.SearchLake) bool {
	if have == nil {
		have = &model.SearchLake{}
	}
	eq := func(h, w *int) bool { return w == nil || (h != nil && *h == *w) }
	if !eq(have.SearchPower, want.SearchPower) || !eq(have.BoostWindow, want.BoostWindow) {
		return false
	}
	if w := want.DataRetention; w != nil {
		h := have.DataRetention
		if h == nil {
			h = &model.DataRetention{}
		}
		return eq(h.MaxRetentionDays, w.MaxRetentionDays) && eq(h.DefaultRetentionDays, w.DefaultRetentionDays)
	}
	return true
}

// sameProductTypes compares product_types as sets.
func sameProductTypes(have, want []model.ProductType) bool {
	if len(have) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// patchProject runs an update or an adopt: a PATCH with If-Match.
func (e *executor) patchProject(ctx context.Context, a *plan.Action, pc *projectCtx) error {
	o := a.Observed
	etag, err := e.etagOf(ctx, o.ProjectType, o.ProjectID, o.ETag)
	if cloud.IsNotFound(err) {
		return &StaleError{Address: a.Address, Detail: fmt.Sprintf("project id %s no longer exists", o.ProjectID)}
	}
	if err != nil {
		return err
	}
	req := patchRequest(e.owner, a)
	p, err := e.opts.Projects.Patch(ctx, o.ProjectType, o.ProjectID, req, etag)
	switch {
	case err == nil:
	case cloud.IsPreconditionFailed(err):
		return &StaleError{Address: a.Address, Detail: fmt.Sprintf("project id %s no longer has ETag %s: If-Match failed with 412", o.ProjectID, etag)}
	case cloud.IsNotFound(err):
		return &StaleError{Address: a.Address, Detail: fmt.Sprintf("project id %s no longer exists", o.ProjectID)}
	case cloud.IsOutcomeUnknown(err):
		got, gerr := e.opts.Projects.Get(ctx, o.ProjectType, o.ProjectID)
		if gerr != nil || !patchApplied(req, got) {
			return fmt.Errorf("updating the project: %w", err)
		}
		p = got
	default:
		return fmt.Errorf("updating the project: %w", err)
	}
	pc.mu.Lock()
	if pc.endpoint == "" {
		pc.endpoint = p.Endpoints["elasticsearch"]
	}
	pc.mu.Unlock()
	return nil
}
