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
)

// Routes of the emulator's call statistics.
const (
	routeKeyUpdate     = "PUT /es/{id}/_security/api_key/{keyid}"
	routeKeyCreate     = "POST /es/{id}/_security/api_key"
	routeProjectPatch  = "PATCH /api/v1/serverless/projects/{type}/{id}"
	routeProjectCreate = "POST /api/v1/serverless/projects/{type}"
)

const batchYAML = `owner: pend
projects:
  p:
    type: elasticsearch
    name: P
    region_id: aws-us-east-1
    api_keys:
      app: {expiration: 30d, role_descriptors: {r: {indices: [{names: [logs], privileges: [read]}]}}, metadata: {team: a}}
      other: {role_descriptors: {}}
      third: {role_descriptors: {}}
  q:
    type: elasticsearch
    name: Q
    region_id: aws-us-east-1
    api_keys:
      one: {role_descriptors: {}}
  bare:
    type: elasticsearch
    name: Bare
    region_id: aws-us-east-1
`

// calls returns the emulator's call counts by route since before.
func (e *env) calls(t testing.TB, before map[string]int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for r, n := range e.emu.Stats(t).ByRoute {
		if d := n - before[r]; d != 0 {
			out[r] = d
		}
	}
	return out
}

// routeCounts snapshots the emulator's call counts by route.
func (e *env) routeCounts(t testing.TB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for r, n := range e.emu.Stats(t).ByRoute {
		out[r] = n
	}
	return out
}

// The keys of projects an apply creates are one batch per project: no key
// carries a marker of its own (no key update at all), the project is
// created with the tag slsync-pending (no extra call) and loses it in one
// PATCH once its keys are delivered. A project without keys is never
// tagged. A replace counts as a create.
func TestNewProjectKeysAreOneBatch(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	set := loadYAML(t, batchYAML)
	before := e.routeCounts(t)
	requireOK(t, e.applySet(set, nil))
	e.converged(set)
	got := e.calls(t, before)
	if got[routeKeyUpdate] != 0 || got[routeKeyCreate] != 4 || got[routeProjectCreate] != 3 || got[routeProjectPatch] != 2 {
		t.Fatalf("calls by route: %v; want 4 key creates, no key update, 3 project creates and 2 tag removals", got)
	}
	for _, lp := range e.read(set).Managed {
		for id, k := range e.rawKeys(t, "pend", lp.ID) {
			if _, marked := k.Metadata[model.MetaPending]; marked {
				t.Errorf("key %s of new project %s was created with its own marker", id, lp.Key)
			}
		}
	}

	// Replacing p (a new region) creates a new project and its keys: one
	// batch again.
	moved := loadYAML(t, strings.Replace(batchYAML, "name: P\n    region_id: aws-us-east-1", "name: P\n    region_id: aws-eu-west-1", 1))
	p := e.plan(moved, true)
	if a := p.Action("project.p"); a == nil || a.Kind != plan.Replace {
		t.Fatalf("want a replace of p, plan has %+v", p.Actions)
	}
	before = e.routeCounts(t)
	e.applyPlanOK(p)
	e.converged(moved)
	if got := e.calls(t, before); got[routeKeyUpdate] != 0 || got[routeKeyCreate] != 3 || got[routeProjectPatch] != 1 {
		t.Fatalf("calls of the replace by route: %v; want 3 key creates, no key update, 1 tag removal", got)
	}
}

// failOneExec is an exec sink that fails (exit 3) for the key named app and
// takes every other secret.
func failOneExec(t testing.TB) apply.Sink {
	t.Helper()
	s, err := apply.NewExecSink(`if grep -q '"name": *"app"'; then exit 3; fi`, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A delivery that fails in a new project is a known end: the undelivered
// key is invalidated at once, so no live key lacks its secret, the other
// keys are delivered, and the tag goes. The next plan only creates the
// missing key (with its own marker: the project exists now), rotating
// nothing.
func TestBatchDeliveryFailureIsAKnownEnd(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	set := loadYAML(t, batchYAML)
	r := e.applySet(set, func(o *apply.Options) { o.Sink = apply.NewMultiSink(o.Sink, failOneExec(t)) })
	if failed := notSucceeded(r); fmt.Sprint(failed) != "[api_key.p.app]" || !strings.Contains(r.Actions[3].Err.Error(), "was invalidated") {
		t.Fatalf("failed %v (%v); want only app to fail, its key invalidated", failed, r.Actions[3].Err)
	}
	lp := e.read(set).Managed[1]
	if lp.Key != "p" || lp.KeysPending || len(lp.Keys) != 2 {
		t.Fatalf("project %s after every key reached a known end: tagged %v, %d keys; want no tag, other and third", lp.Key, lp.KeysPending, len(lp.Keys))
	}
	for _, k := range lp.Keys {
		if k.Key == "app" {
			t.Fatalf("the undelivered key %s is live", k.ID)
		}
		e.secretWorks(lp, k)
	}
	if kinds := actionList(e.plan(set, false)); fmt.Sprint(kinds) != "[create api_key.p.app]" {
		t.Fatalf("plan after the failed delivery: %v", kinds)
	}
	requireOK(t, e.applySet(set, nil))
	e.converged(set)
}

// lostCreate is a KeyAPI on which the create of key `lose` happens but
// ends in err instead of its answer, and the look-up that would find it
// fails: the key is live and nobody knows its secret.
type lostCreate struct {
	apply.KeyAPI
	lose   string
	err    error
	losing *atomic.Bool
}

func (l lostCreate) CreateAPIKey(ctx context.Context, r *cloud.CreateAPIKeyRequest) (*cloud.CreatedAPIKey, error) {
	c, err := l.KeyAPI.CreateAPIKey(ctx, r)
	if err == nil && r.Name == l.lose {
		l.losing.Store(true)
		return nil, l.err
	}
	return c, err
}

func (l lostCreate) QueryAPIKeys(ctx context.Context, r *cloud.QueryAPIKeysRequest) ([]cloud.APIKey, error) {
	if l.losing.Load() {
		return nil, errors.New("connection refused")
	}
	return l.KeyAPI.QueryAPIKeys(ctx, r)
}

// A key whose create's outcome stays unknown is not a known end: the tag
// stays though every other key was delivered, and the next plan rotates
// every managed key of the project (the lost one among them), then removes
// the tag; after that apply nothing is left to do.
func TestBatchUnknownOutcomeKeepsTheTag(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"answer lost and the key not found", &cloud.OutcomeUnknownError{Method: "POST", Path: "/_security/api_key", Err: errors.New("connection reset")}},
		// No answer at all, as when the run is stopped mid-call: not a
		// refusal either.
		{"no answer", fmt.Errorf("POST /_security/api_key: %w", context.Canceled)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testUnknownOutcomeKeepsTheTag(t, tc.err)
		})
	}
}

func testUnknownOutcomeKeepsTheTag(t *testing.T, lossErr error) {
	e := newEnv(t, emulator.Options{})
	set := loadYAML(t, batchYAML)
	losing := &atomic.Bool{}
	r := e.applySet(set, func(o *apply.Options) {
		o.Parallelism = 1 // app, other, third in order: the loss comes last
		inner := o.NewKeyAPI
		o.NewKeyAPI = func(endpoint, user string, pass model.Secret) (apply.KeyAPI, error) {
			api, err := inner(endpoint, user, pass)
			return lostCreate{KeyAPI: api, lose: "third", err: lossErr, losing: losing}, err
		}
	})
	if failed := notSucceeded(r); fmt.Sprint(failed) != "[api_key.p.third]" {
		t.Fatalf("failed: %v", failed)
	}
	st := e.read(set)
	lp := st.Managed[1]
	if lp.Key != "p" || !lp.KeysPending || len(lp.Keys) != 3 {
		t.Fatalf("project %s: tagged %v with %d keys; want the tag kept over 3 live keys", lp.Key, lp.KeysPending, len(lp.Keys))
	}
	if q := st.Managed[2]; q.Key != "q" || q.KeysPending {
		t.Fatalf("project q, whose batch is unaffected, is tagged: %+v", q)
	}
	p := e.plan(set, false)
	want := "[rotate api_key.p.app rotate api_key.p.other rotate api_key.p.third update project.p]"
	if kinds := actionList(p); fmt.Sprint(kinds) != want {
		t.Fatalf("plan after the lost create:\n got %v\nwant %s", kinds, want)
	}
	if d := p.Action("project.p").DependsOn; len(d) != 3 {
		t.Fatalf("the tag removal depends on %v, want the 3 rotations", d)
	}
	before := e.routeCounts(t)
	e.applyPlanOK(p)
	e.converged(set)
	// Outside a batch: each new key marked and cleared on its own.
	if got := e.calls(t, before); got[routeKeyUpdate] != 3 || got[routeProjectPatch] != 1 {
		t.Fatalf("calls of the rotations: %v; want 3 key updates (markers) and 1 tag removal", got)
	}
}

// An apply stopped (Ctrl-C) after some keys of a new project were
// delivered still removes the tag — the stop skips the keys not started,
// which made nothing — so the next plan creates just the missing keys and
// rotates none.
func TestBatchStoppedRunSettlesWhatWasDelivered(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	set := loadYAML(t, batchYAML)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := e.options()
	opts.Parallelism = 1
	opts.Sink = apply.NewMultiSink(opts.Sink, sinkFunc(func(_ context.Context, k apply.KeySecret) error {
		if k.KeyName == "app" {
			cancel() // as Ctrl-C while app's secret is being written
		}
		return nil
	}))
	r, err := apply.Apply(ctx, e.plan(set, false), opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() {
		t.Fatal("the stopped apply reports success")
	}
	st := e.read(set)
	var p *model.LiveProject
	for _, lp := range st.Managed {
		if lp.Key == "p" {
			p = lp
		}
	}
	if p == nil || p.KeysPending || len(p.Keys) != 1 || p.Keys[0].Key != "app" {
		t.Fatalf("after the stop: %+v; want p untagged with app only", p)
	}
	for _, a := range e.plan(set, false).Actions {
		if a.Kind == plan.Rotate {
			t.Fatalf("a delivered key is rotated after the stop: %s (%s)", a.Address, a.Reason)
		}
	}
	requireOK(t, e.applySet(set, nil))
	e.converged(set)
}

// movingProject is a ProjectAPI on which someone else changes a project
// just before each of apply's first `moves` tag removals of it, so that the
// ETag apply holds is stale.
type movingProject struct {
	apply.ProjectAPI
	moves int

	mu    sync.Mutex
	moved map[string]int // by project id
}

func (m *movingProject) Patch(ctx context.Context, typ model.ProjectType, id string, req *cloud.PatchProjectRequest, etag string) (*cloud.Project, error) {
	if req.Metadata == nil {
		return m.ProjectAPI.Patch(ctx, typ, id, req, etag)
	}
	if _, removing := req.Metadata.Tags[model.TagPending]; removing {
		m.mu.Lock()
		n := m.moved[id]
		m.moved[id] = n + 1
		m.mu.Unlock()
		if n < m.moves {
			v := "yes"
			other := &cloud.PatchProjectRequest{Metadata: &cloud.PatchMetadata{Tags: map[string]*string{fmt.Sprint("touched-", n): &v}}}
			if _, err := m.ProjectAPI.Patch(ctx, typ, id, other, ""); err != nil {
				return nil, err
			}
		}
	}
	return m.ProjectAPI.Patch(ctx, typ, id, req, etag)
}

// The tag removal sends If-Match with the ETag of the create; when the
// project moved since (412) it reads the project again once and retries. A
// second 412 fails the project's create action and leaves the tag for the
// next plan, which rotates the keys and then removes it.
func TestBatchTagRemovalRereadsOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		moves int
	}{{"moved once", 1}, {"moved twice", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, emulator.Options{})
			set := loadYAML(t, batchYAML)
			r := e.applySet(set, func(o *apply.Options) {
				o.Projects = &movingProject{ProjectAPI: o.Projects, moves: tc.moves, moved: map[string]int{}}
			})
			if tc.moves == 1 {
				requireOK(t, r)
				e.converged(set)
				return
			}
			if failed := notSucceeded(r); fmt.Sprint(failed) != "[project.p project.q]" {
				t.Fatalf("failed: %v", failed)
			}
			for _, o := range r.Actions[1:3] {
				if !strings.Contains(o.Err.Error(), "removing its "+model.TagPending+" tag failed") || !strings.Contains(o.Err.Error(), "412") {
					t.Errorf("%s: %v", o.Address, o.Err)
				}
			}
			if p := e.plan(set, false); p.Summary.Rotate != 4 || p.Action("project.p").Kind != plan.Update {
				t.Fatalf("plan after the failed tag removals: %+v", p.Actions)
			}
			requireOK(t, e.applySet(set, nil))
			e.converged(set)
		})
	}
}
