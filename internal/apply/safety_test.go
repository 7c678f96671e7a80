package apply_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
)

const rotateV1 = `owner: rot
projects:
  p:
    type: elasticsearch
    name: P
    region_id: aws-us-east-1
    api_keys:
      app: {role_descriptors: {}}
`

// A rotation invalidates the old key only after the new one was
// delivered: when delivery fails, the old key stays valid and the new one
// is invalidated (so that the next apply creates it again).
func TestRotateKeepsOldKeyWhenDeliveryFails(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	v1 := loadYAML(t, rotateV1)
	requireOK(t, e.applySet(v1, nil))
	old := e.read(v1).Managed[0].Keys[0]

	v2 := loadYAML(t, strings.Replace(rotateV1, "app: {", "app: {name: app-v2, ", 1))
	p := e.plan(v2, false)
	if a := p.Action("api_key.p.app"); a == nil || a.Kind != plan.Rotate {
		t.Fatalf("want a rotation, plan has %+v", p.Actions)
	}
	for _, sinkKind := range []string{"exec", "recording"} {
		opts := e.options()
		switch sinkKind {
		case "exec":
			s, err := apply.NewExecSink("cat >/dev/null; echo no vault today >&2; exit 3", 0)
			if err != nil {
				t.Fatal(err)
			}
			opts.Sink = s
		default:
			opts.Sink = &recordingSink{failOn: "app"}
		}
		r, err := apply.Apply(context.Background(), e.plan(v2, false), opts)
		if err != nil {
			t.Fatal(err)
		}
		if r.OK() || !strings.Contains(r.Actions[0].Err.Error(), "old key "+old.ID+" stays valid") {
			t.Fatalf("%s: want a failed rotation keeping the old key, got %+v", sinkKind, r.Actions)
		}
		st := e.read(v2)
		if ks := st.Managed[0].Keys; len(ks) != 1 || ks[0].ID != old.ID {
			t.Fatalf("%s: live keys after a failed delivery: %+v, want only the old %s", sinkKind, ks, old.ID)
		}
	}
	// With a working sink the rotation completes.
	requireOK(t, e.applySet(v2, nil))
	e.converged(v2)
}

// Apply refuses up front, changing nothing, a plan with errors, one that
// deletes more projects than --max-deletes, and one that creates keys
// without a sink.
func TestApplyRefusesUpFront(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	three := loadYAML(t, `owner: many
projects:
  a: {type: elasticsearch, name: A, region_id: aws-us-east-1}
  b: {type: elasticsearch, name: B, region_id: aws-us-east-1}
  c: {type: elasticsearch, name: C, region_id: aws-us-east-1}
`)
	requireOK(t, e.applySet(three, nil))
	none := loadYAML(t, "owner: many\nprojects: {}\n")
	p := e.plan(none, false)
	opts := e.options()
	opts.MaxDeletes = 2
	var ref *apply.RefusedError
	if _, err := apply.Apply(context.Background(), p, opts); !errors.As(err, &ref) || !strings.Contains(err.Error(), "more than --max-deletes 2") {
		t.Fatalf("want a max-deletes refusal, got %v", err)
	}
	if n := len(e.read(three).Managed); n != 3 {
		t.Fatalf("a refused apply changed something: %d projects", n)
	}

	withKey := loadYAML(t, rotateV1)
	opts = e.options()
	opts.Sink = nil
	if _, err := apply.Apply(context.Background(), e.plan(withKey, false), opts); !errors.As(err, &ref) || !strings.Contains(err.Error(), "--secrets-dir") {
		t.Fatalf("want a no-sink refusal, got %v", err)
	}

	bad := loadYAML(t, `owner: many
projects:
  a: {type: observability, name: A, region_id: aws-us-east-1}
`)
	p = e.plan(bad, false) // a type change without --allow-replace: refused action
	if !p.HasErrors() {
		t.Fatal("expected a refused replace")
	}
	if _, err := apply.Apply(context.Background(), p, e.options()); !errors.As(err, &ref) || !strings.Contains(err.Error(), "--allow-replace") {
		t.Fatalf("want the refused action listed, got %v", err)
	}
	if got := e.read(three).Managed; len(got) != 3 || got[0].Type != "elasticsearch" {
		t.Fatalf("a refused apply changed something: %+v", got)
	}
}

// A saved plan is refused when the manifests or the live state moved; a
// change slipping in after the check is caught by If-Match (412).
func TestSavedPlanStaleness(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	v1 := loadYAML(t, rotateV1)
	requireOK(t, e.applySet(v1, nil))
	v2 := loadYAML(t, strings.Replace(rotateV1, "name: P", "name: P2", 1))
	p := e.plan(v2, false)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := plan.Save(path, p); err != nil {
		t.Fatal(err)
	}
	saved, err := plan.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := apply.CheckSaved(context.Background(), saved, v2, e.read(v2), e.pc, 4); err != nil {
		t.Fatalf("a fresh saved plan was refused: %v", err)
	}
	// Manifests changed.
	v3 := loadYAML(t, strings.Replace(rotateV1, "name: P", "name: P3", 1))
	var stale *apply.StalePlanError
	if err := apply.CheckSaved(context.Background(), saved, v3, e.read(v3), e.pc, 4); !errors.As(err, &stale) || !strings.Contains(err.Error(), "manifests changed") {
		t.Fatalf("want a manifest-digest refusal, got %v", err)
	}
	// Live project changed (someone patched it): refused up front...
	id := saved.Actions[0].Observed.ProjectID
	if _, err := e.pc.Patch(context.Background(), "elasticsearch", id, &cloud.PatchProjectRequest{Name: ptr("by hand")}, ""); err != nil {
		t.Fatal(err)
	}
	if err := apply.CheckSaved(context.Background(), saved, v2, e.read(v2), e.pc, 4); !errors.As(err, &stale) || !strings.Contains(err.Error(), "changed (ETag") {
		t.Fatalf("want an ETag refusal, got %v", err)
	}
	// ...and, applied anyway, the PATCH's If-Match fails with 412.
	r, err := apply.Apply(context.Background(), saved, e.options())
	if err != nil {
		t.Fatal(err)
	}
	var se *apply.StaleError
	if r.OK() || !errors.As(r.Actions[0].Err, &se) || !strings.Contains(se.Error(), "412") || !strings.Contains(se.Error(), "run `slsync plan` again") {
		t.Fatalf("want a 412 stale error, got %+v", r.Actions)
	}
	if got := e.read(v2).Managed[0].Name; got != "by hand" {
		t.Fatalf("the stale plan overwrote the hand-made change: name %q", got)
	}
	// A key the plan acts on was invalidated since.
	v4 := loadYAML(t, strings.Replace(rotateV1, "app: {", "app: {name: app-v2, ", 1))
	p4 := e.plan(v4, false)
	keyID := p4.Action("api_key.p.app").Observed.KeyID
	es := e.esClient(t, id)
	if _, err := es.InvalidateAPIKeys(context.Background(), []string{keyID}); err != nil {
		t.Fatal(err)
	}
	if err := apply.CheckSaved(context.Background(), p4, v4, e.read(v4), e.pc, 4); !errors.As(err, &stale) || !strings.Contains(err.Error(), "gone or invalidated") {
		t.Fatalf("want a key refusal, got %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// esClient returns an Elasticsearch client of a project, with the stored
// admin credentials.
func (e *env) esClient(t testing.TB, projectID string) *cloud.ESClient {
	t.Helper()
	creds, err := cloud.LoadCredentials(e.credsPath)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := creds.Lookup(projectID)
	if !ok {
		t.Fatalf("no credentials for %s", projectID)
	}
	es, err := cloud.NewESClient(c.Endpoint, c.Username, c.Password, e.copts)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

const raceYAML = `owner: race
projects:
  base:
    type: elasticsearch
    name: Base
    region_id: aws-us-east-1
    api_keys:
      shared: {role_descriptors: {}}
  p1: {type: elasticsearch, name: P1, region_id: aws-us-east-1}
  p2: {type: elasticsearch, name: P2, region_id: aws-us-east-1}
  p3: {type: observability, name: P3, region_id: aws-us-east-1}
  p4: {type: security, name: P4, region_id: aws-us-east-1}
`

// Two applies of the same plan at once (say, two CI runners): every
// project and key ends up existing once, and for each the loser fails
// cleanly, saying another apply created it first.
func TestConcurrentAppliesMakeNoDuplicates(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	base := loadYAML(t, `owner: race
projects:
  base: {type: elasticsearch, name: Base, region_id: aws-us-east-1}
`)
	requireOK(t, e.applySet(base, nil))
	set := loadYAML(t, raceYAML)
	plans := []*plan.Plan{e.plan(set, false), e.plan(set, false)}
	reports := make([]*apply.Report, 2)
	var wg sync.WaitGroup
	for i := range plans {
		wg.Go(func() {
			r, err := apply.Apply(context.Background(), plans[i], e.options())
			if err != nil {
				t.Error(err)
				return
			}
			reports[i] = r
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	lost := 0
	for i, a := range plans[0].Actions {
		var oks int
		for _, r := range reports {
			o := r.Actions[i]
			var rl *apply.RaceLostError
			switch {
			case o.Status == apply.StatusSucceeded:
				oks++
			case errors.As(o.Err, &rl):
				lost++
			default:
				t.Fatalf("%s failed with something other than a lost race: %v", a.Address, o.Err)
			}
		}
		if oks > 1 {
			t.Fatalf("%s succeeded in both applies", a.Address)
		}
	}
	if lost < len(plans[0].Actions) {
		t.Fatalf("only %d lost races for %d actions: the applies did not race", lost, len(plans[0].Actions))
	}
	for k, ids := range e.allProjects() {
		if len(ids) > 1 {
			t.Fatalf("%s exists %d times", k, len(ids))
		}
	}
	// Whatever both lost (a tie) the next apply creates.
	requireOK(t, e.applySet(set, nil))
	e.converged(set)
}

// A project create whose answer was lost is adopted, not repeated; its
// password was never seen, so without --allow-credential-reset its keys
// fail with the way to fix it while other actions proceed, and with the
// flag a re-run converges.
func TestLostCreateAnswerNeedsCredentialReset(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	set := loadYAML(t, `owner: lost
projects:
  a:
    type: elasticsearch
    name: A
    region_id: aws-us-east-1
    api_keys:
      k: {role_descriptors: {}}
  b:
    type: elasticsearch
    name: B
    region_id: aws-us-east-1
    api_keys:
      k: {role_descriptors: {}}
`)
	p := e.plan(set, false)
	opts := e.options()
	// Drop the answer of the first project create only.
	opts.Projects = &dropFirstCreate{ProjectAPI: e.pc}
	r, err := apply.Apply(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	var mc *apply.MissingCredentialsError
	failed := 0
	for _, o := range r.Actions {
		switch {
		case o.Status == apply.StatusSucceeded:
		case errors.As(o.Err, &mc) && strings.Contains(o.Err.Error(), "--allow-credential-reset"):
			failed++
		default:
			t.Fatalf("%s: %v", o.Address, o.Err)
		}
	}
	if failed != 1 {
		t.Fatalf("want exactly the lost project's key to fail, got %+v", r.Actions)
	}
	for k, ids := range e.allProjects() {
		if len(ids) != 1 {
			t.Fatalf("%s exists %d times", k, len(ids))
		}
	}
	requireOK(t, e.applySet(set, func(o *apply.Options) { o.AllowCredentialReset = true }))
	e.converged(set)
	if _, err := os.Stat(apply.LockPath(e.credsPath)); err == nil {
		t.Fatal("Apply itself must not create the CLI's lock file")
	}
}

// dropFirstCreate commits the first project create and then reports its
// outcome as unknown, as a dropped connection would.
type dropFirstCreate struct {
	apply.ProjectAPI
	once sync.Once
}

func (d *dropFirstCreate) Create(ctx context.Context, typ model.ProjectType, req *cloud.CreateProjectRequest) (*cloud.CreatedProject, error) {
	p, err := d.ProjectAPI.Create(ctx, typ, req)
	dropped := false
	d.once.Do(func() { dropped = true })
	if err == nil && dropped {
		return nil, &cloud.OutcomeUnknownError{Method: "POST", Path: "/api/v1/serverless/projects/" + string(typ), Err: errors.New("connection reset")}
	}
	return p, err
}

// The advisory lock lets one apply per credentials file run at a time.
func TestLockExcludesSecondApply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	unlock, err := apply.Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apply.Lock(path); err == nil || !strings.Contains(err.Error(), "another slsync apply is running") {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	unlock2, err := apply.Lock(path)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}
