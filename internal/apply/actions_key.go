package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
	"github.com/slsync/slsync/internal/state"
)

// MissingCredentialsError says apply holds no admin credentials for a
// project whose keys it must manage, and may not reset them.
type MissingCredentialsError struct {
	ProjectKey string
	ProjectID  string
	File       string
}

func (e *MissingCredentialsError) Error() string {
	return fmt.Sprintf("no admin credentials for project %s (id %s) in %s, so its API keys cannot be managed; "+
		"store them with `slsync credentials set %s`, or run apply again with --allow-credential-reset to issue new ones (this resets the project's admin password)",
		e.ProjectKey, e.ProjectID, e.File, e.ProjectKey)
}

// keyClient returns the Elasticsearch client of the project, resolving it
// once per run: the endpoint (from the create, the credentials file or a
// GET), readiness (one status call for a project this run did not create),
// and the admin credentials (stored, or reset when allowed).
func (e *executor) keyClient(ctx context.Context, pc *projectCtx) (KeyAPI, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.api != nil || pc.apiErr != nil {
		return pc.api, pc.apiErr
	}
	api, err := e.resolveKeyClient(ctx, pc)
	if ctx.Err() == nil {
		// Remember failures too, so that a project's ten keys do not reset
		// its credentials ten times; a cancelled run remembers nothing.
		pc.api, pc.apiErr = api, err
	}
	return api, err
}

// resolveKeyClient does keyClient's work; the caller holds pc.mu.
func (e *executor) resolveKeyClient(ctx context.Context, pc *projectCtx) (KeyAPI, error) {
	if pc.id == "" {
		return nil, fmt.Errorf("internal error: project %s has no id", pc.key)
	}
	entry, stored := e.lookupCreds(pc.id)
	if pc.endpoint == "" && stored {
		pc.endpoint = entry.Endpoint
	}
	if pc.endpoint == "" {
		p, err := e.opts.Projects.Get(ctx, pc.typ, pc.id)
		if err != nil {
			return nil, fmt.Errorf("reading project %s (id %s) for its endpoint: %w", pc.key, pc.id, err)
		}
		pc.endpoint = p.Endpoints["elasticsearch"]
		if pc.endpoint == "" {
			return nil, fmt.Errorf("project %s (id %s) has no Elasticsearch endpoint", pc.key, pc.id)
		}
	}
	if !pc.ready {
		// A project left initializing by an interrupted apply: its
		// Elasticsearch does not answer yet.
		err := WaitFor(ctx, e.statusCheck(pc.typ, pc.id, model.PhaseInitialized),
			e.waitOpts(fmt.Sprintf("project %s (id %s) to be initialized", pc.key, pc.id)))
		if err != nil {
			return nil, err
		}
		pc.ready = true
	}
	user, pass := pc.username, pc.password
	if pass.Reveal() == "" && stored {
		user, pass = entry.Username, entry.Password
	}
	if pass.Reveal() == "" {
		if !e.opts.AllowCredentialReset {
			return nil, &MissingCredentialsError{ProjectKey: pc.key, ProjectID: pc.id, File: e.opts.CredentialsPath}
		}
		cr, err := ResetCredentials(ctx, e.opts.Projects, e.opts.CredentialsPath, e.owner, pc.key, pc.typ, pc.id, pc.endpoint)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		_ = e.creds.Put(cloud.CredentialEntry{ProjectID: pc.id, Key: pc.key, Owner: e.owner, Username: cr.Username, Password: cr.Password, Endpoint: pc.endpoint})
		e.mu.Unlock()
		e.note(fmt.Sprintf("  project %s: admin credentials reset (--allow-credential-reset) and stored in %s", pc.key, e.opts.CredentialsPath))
		user, pass = cr.Username, cr.Password
		pc.username, pc.password = user, pass
	}
	return e.opts.NewKeyAPI(pc.endpoint, user, pass)
}

// ResetCredentials issues new admin credentials for a project and stores
// them in the credentials file before returning. The project's old admin
// password stops working.
func ResetCredentials(ctx context.Context, api ProjectAPI, credentialsPath, owner, key string, typ model.ProjectType, id, endpoint string) (*cloud.ProjectCredentials, error) {
	cr, err := api.ResetCredentials(ctx, typ, id, "")
	if err != nil {
		return nil, fmt.Errorf("resetting the admin credentials of project %s (id %s): %w", key, id, err)
	}
	err = cloud.UpdateCredentials(ctx, credentialsPath, func(c *cloud.Credentials) error {
		return c.Put(cloud.CredentialEntry{ProjectID: id, Key: key, Owner: owner, Username: cr.Username, Password: cr.Password, Endpoint: endpoint})
	})
	if err != nil {
		return nil, fmt.Errorf("project %s (id %s): new admin credentials were issued but could not be stored in %s: %v; fix the file and run apply again with --allow-credential-reset",
			key, id, credentialsPath, err)
	}
	return cr, nil
}

// keyMetadata is the metadata a managed key carries: the user's part plus
// slsync's markers.
func keyMetadata(owner string, k *model.APIKey, user map[string]any) map[string]any {
	m := map[string]any{}
	for mk, mv := range user {
		m[mk] = mv
	}
	m[model.MetaOwner] = owner
	m[model.MetaKey] = k.Key
	if k.Expiration != "" {
		m[model.MetaExpiration] = k.Expiration
	}
	return m
}

func esKeyName(k *model.APIKey) string {
	if k.Name != "" {
		return k.Name
	}
	return k.Key
}

// maxCreateAttempts bounds creates repeated after a lost answer (each
// repetition only after checking that the lost one left nothing behind).
const maxCreateAttempts = 4

// createKey runs a key create or rotate: create the key, deliver its secret
// to the sinks and (rotate) only then invalidate the old key. A key of a
// project this run created goes in the project's batch (see batch.go):
// created without a marker, and counted settled once it reached a known
// end. Any other key is created marked pending (metadata slsync_pending) and
// the marker is removed after delivery.
func (e *executor) createKey(ctx context.Context, a *plan.Action, pc *projectCtx) error {
	batch := pc.inBatch(a)
	settled, err := e.createAndDeliver(ctx, a, pc, batch)
	if batch && settled {
		pc.settled()
	}
	return err
}

// createAndDeliver does createKey's work. settled reports a known end: no
// key this action made is live without its secret delivered (the secret
// was delivered, or the create was refused, or what it made is
// invalidated). An error without an answer from Elasticsearch (a lost
// connection, a stopped run) is not a known end.
func (e *executor) createAndDeliver(ctx context.Context, a *plan.Action, pc *projectCtx, batch bool) (settled bool, _ error) {
	api, err := e.keyClient(ctx, pc)
	if err != nil {
		return true, err
	}
	if a.Kind == plan.Rotate {
		// The old key must still be there, or the plan is stale.
		if err := e.checkKeyLive(ctx, api, a); err != nil {
			return true, err
		}
	}
	k := a.Key
	if k.Key == "" {
		cp := *k
		cp.Key = a.KeyName
		k = &cp
	}
	user := k.Metadata
	if user == nil {
		user = a.Observed.KeyMetadata
	}
	// Outside a batch the key is created marked pending; the marker is
	// removed once its secret was delivered. Whatever stops this run in
	// between (a kill, a crash, a lost connection), the next plan sees the
	// marker (or the batch's tag) and rotates the key instead of trusting a
	// key whose secret nobody may hold.
	delivered := keyMetadata(e.owner, k, user)
	metadata := delivered
	if !batch {
		metadata = keyMetadata(e.owner, k, user)
		metadata[model.MetaPending] = true
	}
	req := &cloud.CreateAPIKeyRequest{
		Name:            esKeyName(k),
		Expiration:      k.Expiration,
		RoleDescriptors: k.RoleDescriptors,
		Metadata:        metadata,
	}
	known := e.known(a)
	var created *cloud.CreatedAPIKey
	for attempt := 1; ; attempt++ {
		c, err := api.CreateAPIKey(ctx, req)
		if err == nil {
			created = c
			break
		}
		if !cloud.IsOutcomeUnknown(err) {
			// Refused by an answer: nothing was made. Without one (the run
			// stopped mid-call), it may have been.
			return cloud.StatusOf(err) != 0, fmt.Errorf("creating the key: %w", err)
		}
		// The key may exist, but its secret was never seen: find it and
		// invalidate it, then create anew.
		ks, qerr := api.QueryAPIKeys(ctx, state.KeyNameQuery(e.owner, a.KeyName))
		if qerr != nil {
			return false, fmt.Errorf("creating the key: %v; and looking for it by its metadata failed too (%v); %s", err, qerr, errRunPlanAgain)
		}
		var lost []string
		for _, lk := range ks {
			if !known[lk.ID] {
				lost = append(lost, lk.ID)
			}
		}
		if len(lost) > 0 {
			if _, ierr := api.InvalidateAPIKeys(ctx, lost); ierr != nil {
				return false, fmt.Errorf("creating the key: its answer was lost and invalidating the keys it may have made (%v) failed: %v", lost, ierr)
			}
			e.note(fmt.Sprintf("  %s: the create's answer was lost; invalidated the key it made (%v, secret never seen)", a.Address, lost))
		}
		if attempt >= maxCreateAttempts {
			return true, fmt.Errorf("creating the key: %w (tried %d times; every key it may have made is invalidated)", err, attempt)
		}
	}
	pc.mu.Lock()
	createdHere, endpoint, projectID := pc.createdHere, pc.endpoint, pc.id
	pc.mu.Unlock()
	// A project this run created has credentials no other apply holds, so
	// nobody else can have created keys in it.
	if !createdHere {
		if err := e.raceCheckKey(ctx, api, a, created, known); err != nil {
			var lostRace *RaceLostError
			return errors.As(err, &lostRace), err
		}
	}
	var expires *time.Time
	if created.Expiration != nil {
		t := time.UnixMilli(*created.Expiration).UTC()
		expires = &t
	}
	secret := KeySecret{
		ProjectKey: a.ProjectKey, ProjectID: projectID, KeyName: a.KeyName, Name: created.Name,
		ID: created.ID, Encoded: created.Encoded, Endpoint: endpoint, ExpiresAt: expires,
	}
	if secret.Name == "" {
		secret.Name = req.Name
	}
	if err := e.opts.Sink.Deliver(ctx, secret); err != nil {
		// A live key whose secret nobody has would look fine to the next
		// plan forever: invalidate it, so that the next apply creates it
		// again. A rotation's old key stays valid.
		if _, ierr := api.InvalidateAPIKeys(context.WithoutCancel(ctx), []string{created.ID}); ierr != nil {
			return false, fmt.Errorf("%w; invalidating the undelivered key %s failed too (%v): invalidate it by hand", err, created.ID, ierr)
		}
		if a.Kind == plan.Rotate {
			return true, fmt.Errorf("%w; the new key %s was invalidated and the old key %s stays valid", err, created.ID, a.Observed.KeyID)
		}
		return true, fmt.Errorf("%w; the new key %s was invalidated", err, created.ID)
	}
	// Delivered: record it on the key (the batch records it on the
	// project once all its keys are done). The secret is with the sinks
	// now, so a stop (Ctrl-C) must not cut this short and leave the key
	// to be rotated for nothing.
	var clearErr error
	if !batch {
		clearErr = e.clearPending(ctx, api, created.ID, delivered)
	}
	if a.Kind == plan.Rotate {
		// The new key was delivered, so the old one may go, marker or not.
		if _, err := api.InvalidateAPIKeys(ctx, []string{a.Observed.KeyID}); err != nil {
			if clearErr != nil {
				return true, fmt.Errorf("%w; and invalidating the old key %s failed too: %v", clearErr, a.Observed.KeyID, err)
			}
			return true, fmt.Errorf("the new key %s was created and delivered, but invalidating the old key %s failed: %w; run apply again", created.ID, a.Observed.KeyID, err)
		}
	}
	return true, clearErr
}

// clearPendingTimeout bounds clearing the delivery marker once the run was
// told to stop.
const clearPendingTimeout = 30 * time.Second

// clearPending removes the delivery marker (metadata slsync_pending) from a
// key whose secret was delivered: one update that sends the full metadata
// and nothing else — no role_descriptors (kept as they are) and no
// expiration (sending it would restart the key's clock).
func (e *executor) clearPending(ctx context.Context, api KeyAPI, id string, metadata map[string]any) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clearPendingTimeout)
	defer cancel()
	if _, err := api.UpdateAPIKey(ctx, id, &cloud.UpdateAPIKeyRequest{Metadata: metadata}); err != nil {
		return fmt.Errorf("the key %s was created and its secret delivered, but removing its %s marker failed: %w; "+
			"the next plan rotates it (a new key is delivered before this one is invalidated)", id, model.MetaPending, err)
	}
	return nil
}

// known returns the ids of live keys of this key name that the plan knows
// about (so not another apply's).
func (e *executor) known(a *plan.Action) map[string]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]bool{}
	for id := range e.knownIDs[a.ProjectKey+"/"+a.KeyName] {
		out[id] = true
	}
	return out
}

// raceCheckKey looks for another live key of the same key name that the
// plan did not know: one a concurrent apply created. The older one stays
// (creation, then id); on a tie both yield. The loser invalidates its own
// key before its secret is delivered anywhere.
func (e *executor) raceCheckKey(ctx context.Context, api KeyAPI, a *plan.Action, ours *cloud.CreatedAPIKey, known map[string]bool) error {
	ks, err := api.QueryAPIKeys(ctx, state.KeyNameQuery(e.owner, a.KeyName))
	if err != nil {
		e.log.Warn("could not check for a concurrent key create", "key", a.Address, "error", err)
		return nil
	}
	var mine int64 = -1
	for _, k := range ks {
		if k.ID == ours.ID {
			mine = k.Creation
		}
	}
	if mine < 0 {
		return nil // not visible yet; nothing to compare with
	}
	for _, k := range ks {
		if k.ID == ours.ID || known[k.ID] || k.Creation > mine {
			continue
		}
		if _, err := api.InvalidateAPIKeys(context.WithoutCancel(ctx), []string{ours.ID}); err != nil {
			return fmt.Errorf("another apply created %s first (id %s), and invalidating this run's duplicate %s failed: %v; invalidate it by hand",
				a.Address, k.ID, ours.ID, err)
		}
		return &RaceLostError{Address: a.Address, Other: k.ID, Removed: ours.ID}
	}
	return nil
}

// checkKeyLive makes sure the key the plan acts on is still live and not
// invalidated (by id: a rotation may replace an unmanaged key).
func (e *executor) checkKeyLive(ctx context.Context, api KeyAPI, a *plan.Action) error {
	ks, err := api.QueryAPIKeys(ctx, &cloud.QueryAPIKeysRequest{Query: map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"ids": map[string]any{"values": []any{a.Observed.KeyID}}},
		map[string]any{"term": map[string]any{"invalidated": false}},
	}}}})
	if err != nil {
		return fmt.Errorf("reading key %s: %w", a.Observed.KeyID, err)
	}
	for _, k := range ks {
		if k.ID == a.Observed.KeyID {
			return nil
		}
	}
	return &StaleError{Address: a.Address, Detail: fmt.Sprintf("key %s is gone or invalidated", a.Observed.KeyID)}
}

// updateKey changes a key in place (update), or puts an unmanaged key
// under management by writing slsync's metadata (adopt, with whatever else
// the manifest changes). Expiration is sent only when it changed: sending
// it restarts the key's clock.
func (e *executor) updateKey(ctx context.Context, a *plan.Action, pc *projectCtx) error {
	api, err := e.keyClient(ctx, pc)
	if err != nil {
		return err
	}
	k := a.Key
	if k.Key == "" {
		cp := *k
		cp.Key = a.KeyName
		k = &cp
	}
	user := k.Metadata
	if user == nil {
		user = a.Observed.KeyMetadata
	}
	req := &cloud.UpdateAPIKeyRequest{Metadata: keyMetadata(e.owner, k, user)}
	if a.Changed("role_descriptors") {
		req.RoleDescriptors = k.RoleDescriptors
		if req.RoleDescriptors == nil {
			req.RoleDescriptors = map[string]any{}
		}
	}
	if a.Changed("expiration") {
		req.Expiration = k.Expiration
	}
	_, err = api.UpdateAPIKey(ctx, a.Observed.KeyID, req)
	if err != nil {
		var es *cloud.ESError
		if cloud.IsNotFound(err) || (errors.As(err, &es) && es.Status == 400 && (strings.Contains(es.Reason, "invalidated") || strings.Contains(es.Reason, "expired"))) {
			return &StaleError{Address: a.Address, Detail: fmt.Sprintf("key %s: %v", a.Observed.KeyID, err)}
		}
		return fmt.Errorf("updating key %s: %w", a.Observed.KeyID, err)
	}
	return nil
}

// invalidateKey invalidates a key the manifests no longer want.
func (e *executor) invalidateKey(ctx context.Context, a *plan.Action, pc *projectCtx) error {
	api, err := e.keyClient(ctx, pc)
	if err != nil {
		return err
	}
	r, err := api.InvalidateAPIKeys(ctx, []string{a.Observed.KeyID})
	if err != nil {
		return fmt.Errorf("invalidating key %s: %w", a.Observed.KeyID, err)
	}
	if r.ErrorCount > 0 {
		reason := ""
		if len(r.ErrorDetails) > 0 {
			reason = ": " + r.ErrorDetails[0].Reason
		}
		return fmt.Errorf("invalidating key %s failed%s", a.Observed.KeyID, reason)
	}
	return nil
}

// ResetMissing issues and stores new admin credentials for every managed
// project whose keys state.Reader could not read for lack of credentials
// (a *state.MissingCredentialsError in st.KeyErrors) — the projects whose
// password an interrupted apply, or a lost create answer, never stored. It
// returns the project keys it reset; the caller reads the live state again
// and plans with the new credentials. Only for --allow-credential-reset.
func ResetMissing(ctx context.Context, api ProjectAPI, credentialsPath string, st *model.LiveState) ([]string, error) {
	var reset []string
	for _, lp := range st.Managed {
		var mc *state.MissingCredentialsError
		if !errors.As(st.KeyErrors[lp.Key], &mc) {
			continue
		}
		if _, err := ResetCredentials(ctx, api, credentialsPath, st.Owner, lp.Key, lp.Type, lp.ID, lp.Endpoints["elasticsearch"]); err != nil {
			return reset, err
		}
		reset = append(reset, lp.Key)
	}
	return reset, nil
}
