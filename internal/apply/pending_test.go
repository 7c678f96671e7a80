package apply_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
	"github.com/slsync/slsync/internal/state"
)

const pendingYAML = `owner: pend
projects:
  p:
    type: elasticsearch
    name: P
    region_id: aws-us-east-1
    api_keys:
      app: {expiration: 30d, role_descriptors: {r: {indices: [{names: [logs], privileges: [read]}]}}, metadata: {team: a}}
      other: {role_descriptors: {}}
`

// errKilled stands for a process that is gone: nothing it would still do
// reaches the API.
var errKilled = errors.New("the apply process was killed")

// killedAPI is a KeyAPI that stops reaching Elasticsearch once dead is set,
// like a process killed at that instant.
type killedAPI struct {
	apply.KeyAPI
	dead *atomic.Bool
}

func (k killedAPI) CreateAPIKey(ctx context.Context, r *cloud.CreateAPIKeyRequest) (*cloud.CreatedAPIKey, error) {
	if k.dead.Load() {
		return nil, errKilled
	}
	return k.KeyAPI.CreateAPIKey(ctx, r)
}

func (k killedAPI) QueryAPIKeys(ctx context.Context, r *cloud.QueryAPIKeysRequest) ([]cloud.APIKey, error) {
	if k.dead.Load() {
		return nil, errKilled
	}
	return k.KeyAPI.QueryAPIKeys(ctx, r)
}

func (k killedAPI) UpdateAPIKey(ctx context.Context, id string, r *cloud.UpdateAPIKeyRequest) (bool, error) {
	if k.dead.Load() {
		return false, errKilled
	}
	return k.KeyAPI.UpdateAPIKey(ctx, id, r)
}

func (k killedAPI) InvalidateAPIKeys(ctx context.Context, ids []string) (*cloud.InvalidateResult, error) {
	if k.dead.Load() {
		return nil, errKilled
	}
	return k.KeyAPI.InvalidateAPIKeys(ctx, ids)
}

// killDuringDelivery is a sink that "kills" the apply when asked to deliver
// the secret of one key: the secret goes nowhere and from then on no call
// reaches Elasticsearch.
type killDuringDelivery struct {
	keyName string
	dead    *atomic.Bool
	killed  atomic.Int32
}

func (s *killDuringDelivery) Name() string { return "killing sink" }
func (s *killDuringDelivery) Deliver(ctx context.Context, k apply.KeySecret) error {
	if k.KeyName == s.keyName {
		s.dead.Store(true)
		s.killed.Add(1)
		return errKilled
	}
	return nil
}

// rawTags returns a project's tags as the Project API stores them.
func (e *env) rawTags(t testing.TB, lp *model.LiveProject) map[string]string {
	t.Helper()
	p, err := e.pc.Get(context.Background(), lp.Type, lp.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p.Metadata.Tags
}

// rawKeys returns the owner's live keys of a project as Elasticsearch
// stores them (metadata with slsync's markers), by id.
func (e *env) rawKeys(t testing.TB, owner, projectID string) map[string]cloud.APIKey {
	t.Helper()
	ks, err := e.esClient(t, projectID).QueryAPIKeys(context.Background(), state.KeyQuery(owner))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]cloud.APIKey{}
	for _, k := range ks {
		out[k.ID] = k
	}
	return out
}

// An apply that dies between creating a key and delivering its secret
// leaves the key marked pending — by its own metadata (slsync_pending), or,
// in a project that apply created, by the project's slsync-pending tag; the
// next plan rotates it (with a tagged project: every managed key of it, and
// then removes the tag), and applying that plan delivers a new secret,
// invalidates the key whose secret was lost and leaves nothing pending. A
// failing sink on the way keeps the pending key valid (rotation order) and
// the tag in place.
func TestKeyLeftPendingByAKilledApplyIsRotated(t *testing.T) {
	cases := []struct {
		name string
		// before applies what exists before the apply that is killed.
		before string
		// killed is the manifest of the apply that is killed.
		killed string
		// batch: the killed apply created the project, so its keys carry
		// no marker of their own and the project carries the tag.
		batch bool
		// wantPlan is the plan after the kill.
		wantPlan map[string]plan.Kind
	}{
		{
			name:   "killed while delivering a new key of a new project",
			killed: pendingYAML,
			batch:  true,
			// "other" comes after app (parallelism 1): the kill left it
			// uncreated. The tag goes once app is rotated.
			wantPlan: map[string]plan.Kind{"api_key.p.app": plan.Rotate, "api_key.p.other": plan.Create, "project.p": plan.Update},
		},
		{
			// The new key is pending; whether the sinks got its secret or
			// still hold the old one is unknown, so neither key is kept.
			name:     "killed while delivering a rotation's new key",
			before:   pendingYAML,
			killed:   strings.Replace(pendingYAML, "app: {", "app: {name: app-v2, ", 1),
			wantPlan: map[string]plan.Kind{"api_key.p.app": plan.Rotate, "api_key.p.app[%OLD%]": plan.Invalidate},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, emulator.Options{})
			var oldID string
			if tc.before != "" {
				v := loadYAML(t, tc.before)
				requireOK(t, e.applySet(v, nil))
				e.converged(v)
				for _, k := range e.read(v).Managed[0].Keys {
					if k.Key == "app" {
						oldID = k.ID
					}
				}
			}
			set := loadYAML(t, tc.killed)

			// The apply that is killed in the middle of delivering app's
			// secret.
			dead := &atomic.Bool{}
			sink := &killDuringDelivery{keyName: "app", dead: dead}
			r := e.applySet(set, func(o *apply.Options) {
				o.Parallelism = 1 // "other" is done before or after, never beside
				o.Sink = sink
				inner := o.NewKeyAPI
				o.NewKeyAPI = func(endpoint, user string, pass model.Secret) (apply.KeyAPI, error) {
					api, err := inner(endpoint, user, pass)
					return killedAPI{KeyAPI: api, dead: dead}, err
				}
			})
			if sink.killed.Load() != 1 || r.OK() {
				t.Fatalf("the apply was not killed during app's delivery: %+v", r.Actions)
			}

			// What the kill left: app's new key, live and pending (by
			// itself, or by its project's tag).
			st := e.read(set)
			lp := st.Managed[0]
			var pending []*model.LiveAPIKey
			for _, k := range lp.Keys {
				if k.Key == "app" && k.ID != oldID {
					pending = append(pending, k)
				}
			}
			if len(pending) != 1 || pending[0].Pending == tc.batch || lp.KeysPending != tc.batch {
				t.Fatalf("after the kill: project tagged %v, keys %+v; want one new key app, pending by the %s", lp.KeysPending, pending, map[bool]string{true: "project's tag", false: "key's metadata"}[tc.batch])
			}
			lost := pending[0]
			if raw := e.rawKeys(t, "pend", lp.ID)[lost.ID]; (raw.Metadata[model.MetaPending] == true) == tc.batch || raw.Metadata["team"] != "a" {
				t.Fatalf("the key as Elasticsearch stores it: metadata %v", raw.Metadata)
			}
			if tagged := e.rawTags(t, lp)[model.TagPending] == model.TagPendingKeys; tagged != tc.batch {
				t.Fatalf("the project as the API stores it: tagged %v, want %v", tagged, tc.batch)
			}

			// The next plan rotates it, saying why.
			p := e.plan(set, false)
			got := map[string]plan.Kind{}
			for _, a := range p.Actions {
				got[a.Address] = a.Kind
			}
			want := map[string]plan.Kind{}
			for addr, k := range tc.wantPlan {
				want[strings.Replace(addr, "%OLD%", oldID, 1)] = k
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("plan after the kill: got %v, want %v", got, want)
			}
			rot := p.Action("api_key.p.app")
			if rot.Observed.KeyID != lost.ID || !strings.Contains(rot.Reason, "not known to have been delivered") {
				t.Fatalf("rotation of %s: reason %q", rot.Observed.KeyID, rot.Reason)
			}
			if tc.batch {
				if u := p.Action("project.p"); fmt.Sprint(u.DependsOn) != "[api_key.p.app]" || !u.Changed("tags."+model.TagPending) {
					t.Fatalf("the tag removal must wait for the rotation: %+v", u)
				}
			}

			// A failing exec sink: the new key is invalidated, the pending
			// one (and a rotation's old one) stays valid, and the plan still
			// rotates it.
			failing, err := apply.NewExecSink("cat >/dev/null; exit 3", 0)
			if err != nil {
				t.Fatal(err)
			}
			rf, err := apply.Apply(context.Background(), e.plan(set, false), func() apply.Options {
				o := e.options()
				o.Sink = failing
				return o
			}())
			if err != nil {
				t.Fatal(err)
			}
			if rf.OK() {
				t.Fatal("apply with a failing sink succeeded")
			}
			raw := e.rawKeys(t, "pend", lp.ID)
			if _, ok := raw[lost.ID]; !ok {
				t.Fatalf("the pending key %s was invalidated although no new key was delivered", lost.ID)
			}
			if _, ok := raw[oldID]; oldID != "" && !ok {
				t.Fatalf("the old key %s was invalidated although no new key was delivered", oldID)
			}
			if a := e.plan(set, false).Action("api_key.p.app"); a == nil || a.Kind != plan.Rotate || a.Observed.KeyID != lost.ID {
				t.Fatalf("after the failed delivery the plan should still rotate %s: %+v", lost.ID, a)
			}
			if tagged := e.rawTags(t, lp)[model.TagPending] != ""; tagged != tc.batch {
				t.Fatalf("after the failed rotation the project is tagged %v, want %v", tagged, tc.batch)
			}

			// A working sink: a new secret is delivered, the lost key (and
			// the old one) are invalidated, nothing is pending.
			requireOK(t, e.applySet(set, nil))
			e.converged(set)
			raw = e.rawKeys(t, "pend", lp.ID)
			if _, ok := raw[lost.ID]; ok {
				t.Fatalf("the key whose secret was lost (%s) is still valid", lost.ID)
			}
			if _, ok := raw[oldID]; oldID != "" && ok {
				t.Fatalf("the rotation's old key %s is still valid", oldID)
			}
		})
	}
}

// While its secret is being delivered, a new key is already live and marked
// pending — by its own metadata, or in a project this apply creates by the
// project's tag — so a kill at that instant is seen by the next plan, which
// rotates it, and the old key of a rotation is still valid. After the apply
// nothing is pending (converged checks that too), and an update that
// clears the marker keeps the key's expiry instant.
func TestKeyIsPendingUntilDelivered(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	v1 := loadYAML(t, pendingYAML)
	v2 := loadYAML(t, strings.Replace(pendingYAML, "app: {", "app: {name: app-v2, ", 1))
	v3 := loadYAML(t, strings.Replace(pendingYAML, "app: {", "app: {name: app-v2, ", 1)+"      third: {role_descriptors: {}}\n")

	type seen struct {
		id, keyName string
		pending     bool // the key's own marker
		tagged      bool // its project's tag
		metadata    map[string]any
		planKind    plan.Kind
		planReason  string
		liveIDs     []string
	}
	var mu sync.Mutex
	var log []seen
	var errs []error
	// observe runs inside Deliver: it reads the key as Elasticsearch has
	// it and plans as a new run would at that instant.
	observe := func(set *model.Set, k apply.KeySecret) {
		fail := func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
		creds, err := cloud.LoadCredentials(e.credsPath)
		if err != nil {
			fail(err)
			return
		}
		c, _ := creds.Lookup(k.ProjectID)
		es, err := cloud.NewESClient(c.Endpoint, c.Username, c.Password, e.copts)
		if err != nil {
			fail(err)
			return
		}
		ks, err := es.QueryAPIKeys(context.Background(), state.KeyQuery("pend"))
		if err != nil {
			fail(err)
			return
		}
		s := seen{id: k.ID, keyName: k.KeyName}
		p, err := e.pc.Get(context.Background(), model.Elasticsearch, k.ProjectID)
		if err != nil {
			fail(err)
			return
		}
		s.tagged = p.Metadata.Tags[model.TagPending] == model.TagPendingKeys
		for _, rk := range ks {
			if rk.Metadata[model.MetaKey] == k.KeyName {
				s.liveIDs = append(s.liveIDs, rk.ID)
			}
			if rk.ID == k.ID {
				s.pending = rk.Metadata[model.MetaPending] == true
				s.metadata = rk.Metadata
			}
		}
		r := &state.Reader{Projects: e.pc, Credentials: creds, NewKeyAPI: state.ESClients(e.copts), Parallelism: 2}
		st, err := r.Read(context.Background(), set)
		if err != nil {
			fail(err)
			return
		}
		if a := plan.Compute(set, st, plan.Options{}).Action("api_key.p." + k.KeyName); a != nil {
			s.planKind, s.planReason = a.Kind, a.Reason
		}
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	run := func(set *model.Set) {
		t.Helper()
		log, errs = nil, nil
		requireOK(t, e.applySet(set, func(o *apply.Options) {
			o.Sink = apply.NewMultiSink(o.Sink, sinkFunc(func(ctx context.Context, k apply.KeySecret) error {
				observe(set, k)
				return nil
			}))
		}))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
	}

	// A new project: its keys are one batch under the project's tag.
	run(v1)
	if len(log) != 2 {
		t.Fatalf("observed %d deliveries, want 2", len(log))
	}
	for _, s := range log {
		if s.pending || !s.tagged {
			t.Errorf("key %s of a new project while its secret was delivered: marked %v (metadata %v), project tagged %v; want the project's tag only", s.keyName, s.pending, s.metadata, s.tagged)
		}
		if s.planKind != plan.Rotate || !strings.Contains(s.planReason, model.TagPending) {
			t.Errorf("a plan made while %s was delivered: %s (%s), want a rotation because its project is tagged", s.keyName, s.planKind, s.planReason)
		}
	}
	e.converged(v1)
	before := map[string]*model.LiveAPIKey{}
	for _, k := range e.read(v1).Managed[0].Keys {
		before[k.Key] = k
	}
	if k := before["app"]; k.Metadata["team"] != "a" || k.Expiration != "30d" || k.ExpiresAt == nil {
		t.Fatalf("clearing the marker lost metadata or expiry: %+v", k)
	}

	// A rotation: the new key is pending during delivery, the old one
	// still valid.
	run(v2)
	if len(log) != 1 || log[0].keyName != "app" || !log[0].pending || log[0].tagged {
		t.Fatalf("rotation deliveries: %+v", log)
	}
	if !strings.Contains(log[0].planReason, model.MetaPending) {
		t.Errorf("a plan made during the rotation's delivery: %s", log[0].planReason)
	}
	if fmt.Sprint(log[0].liveIDs) != fmt.Sprint([]string{before["app"].ID, log[0].id}) && fmt.Sprint(log[0].liveIDs) != fmt.Sprint([]string{log[0].id, before["app"].ID}) {
		t.Fatalf("during the rotation's delivery live keys were %v, want the old %s and the new %s", log[0].liveIDs, before["app"].ID, log[0].id)
	}
	e.converged(v2)
	after := map[string]*model.LiveAPIKey{}
	for _, k := range e.read(v2).Managed[0].Keys {
		after[k.Key] = k
	}
	// "other" was untouched: same id, same expiry, never rewritten.
	if o := after["other"]; o.ID != before["other"].ID {
		t.Fatalf("other changed: %s -> %s", before["other"].ID, o.ID)
	}
	if a := after["app"]; a.ID != log[0].id || a.Pending {
		t.Fatalf("app after the rotation: %+v, want %s not pending", a, log[0].id)
	}

	// A key added to the existing project is marked by itself; the
	// project is not tagged again.
	run(v3)
	if len(log) != 1 || log[0].keyName != "third" || !log[0].pending || log[0].tagged || log[0].planKind != plan.Rotate {
		t.Fatalf("deliveries of a key added later: %+v", log)
	}
	e.converged(v3)
}

// sinkFunc adapts a function to apply.Sink.
type sinkFunc func(ctx context.Context, k apply.KeySecret) error

func (f sinkFunc) Name() string                                         { return "test observer" }
func (f sinkFunc) Deliver(ctx context.Context, k apply.KeySecret) error { return f(ctx, k) }

// Adopting an unmanaged key writes slsync's ownership metadata but never
// the delivery marker: the key and its secret stay the user's, and the
// next plan has nothing to do.
func TestAdoptedKeyIsNotPending(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	bare := loadYAML(t, strings.Replace(pendingYAML, "    api_keys:\n      app: {expiration: 30d, role_descriptors: {r: {indices: [{names: [logs], privileges: [read]}]}}, metadata: {team: a}}\n      other: {role_descriptors: {}}\n", "", 1))
	requireOK(t, e.applySet(bare, nil))
	pid := e.read(bare).Managed[0].ID
	handMade, err := e.esClient(t, pid).CreateAPIKey(context.Background(), &cloud.CreateAPIKeyRequest{
		Name: "app", Expiration: "30d", RoleDescriptors: map[string]any{"r": map[string]any{"indices": []any{map[string]any{"names": []any{"logs"}, "privileges": []any{"read"}}}}},
		Metadata: map[string]any{"team": "a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	set := loadYAML(t, strings.Replace(pendingYAML, "      other: {role_descriptors: {}}\n", "", 1))
	p := e.plan(set, false)
	if a := p.Action("api_key.p.app"); a == nil || a.Kind != plan.Adopt || a.Observed.KeyID != handMade.ID {
		t.Fatalf("want an adoption of %s, plan has %+v", handMade.ID, p.Actions)
	}
	r, err := apply.Apply(context.Background(), p, e.options())
	if err != nil {
		t.Fatal(err)
	}
	requireOK(t, r)
	k, ok := e.rawKeys(t, "pend", pid)[handMade.ID]
	if !ok || k.Metadata[model.MetaOwner] != "pend" || k.Metadata[model.MetaKey] != "app" {
		t.Fatalf("the adopted key %s: %+v", handMade.ID, k)
	}
	if _, pending := k.Metadata[model.MetaPending]; pending {
		t.Fatalf("adoption marked the key pending: %v", k.Metadata)
	}
	if p := e.plan(set, false); p.HasChanges() {
		t.Fatalf("plan after adoption has changes: %+v", p.Actions)
	}
}

// failingUpdate is a KeyAPI whose key updates all fail.
type failingUpdate struct{ apply.KeyAPI }

func (failingUpdate) UpdateAPIKey(ctx context.Context, id string, r *cloud.UpdateAPIKeyRequest) (bool, error) {
	return false, errors.New("update refused on purpose")
}

// When the marker cannot be cleared after delivery, the action fails and
// says so, a rotation's old key is still invalidated (the new secret was
// delivered), and the next plan rotates the key that stayed pending.
func TestMarkerClearFailure(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	v1 := loadYAML(t, pendingYAML)
	requireOK(t, e.applySet(v1, nil))
	var oldID string
	for _, k := range e.read(v1).Managed[0].Keys {
		if k.Key == "app" {
			oldID = k.ID
		}
	}
	v2 := loadYAML(t, strings.Replace(pendingYAML, "app: {", "app: {name: app-v2, ", 1))
	rec := &recordingSink{}
	r := e.applySet(v2, func(o *apply.Options) {
		o.Sink = apply.NewMultiSink(o.Sink, rec)
		inner := o.NewKeyAPI
		o.NewKeyAPI = func(endpoint, user string, pass model.Secret) (apply.KeyAPI, error) {
			api, err := inner(endpoint, user, pass)
			return failingUpdate{api}, err
		}
	})
	if len(r.Actions) != 1 || r.OK() || !strings.Contains(r.Actions[0].Err.Error(), "removing its "+model.MetaPending+" marker failed") {
		t.Fatalf("want the rotation to fail on the marker, got %+v", r.Actions)
	}
	if len(rec.ids) != 1 {
		t.Fatalf("delivered %v, want the new key", rec.ids)
	}
	newID := rec.ids[0]
	lp := e.read(v2).Managed[0]
	raw := e.rawKeys(t, "pend", lp.ID)
	if _, ok := raw[oldID]; ok {
		t.Fatalf("the old key %s is still valid although the new one was delivered", oldID)
	}
	if raw[newID].Metadata[model.MetaPending] != true {
		t.Fatalf("the new key %s: metadata %v, want it still pending", newID, raw[newID].Metadata)
	}
	if a := e.plan(v2, false).Action("api_key.p.app"); a == nil || a.Kind != plan.Rotate || a.Observed.KeyID != newID {
		t.Fatalf("want a rotation of the pending %s, got %+v", newID, a)
	}
	requireOK(t, e.applySet(v2, nil))
	e.converged(v2)
}
