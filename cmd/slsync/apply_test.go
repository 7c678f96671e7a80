package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/state"
)

// applyEnv is an in-process emulator and the environment the binary needs
// to reach it, with a credentials file in a temporary directory.
type applyEnv struct {
	emu       *emulatortest.Env
	dir       string
	credsPath string
	secrets   string
}

func newApplyEnv(t testing.TB, opts emulator.Options) *applyEnv {
	t.Helper()
	if opts.InitDelay == 0 {
		opts.InitDelay = 200 * time.Millisecond
	}
	dir := t.TempDir()
	return &applyEnv{emu: emulatortest.Start(t, opts), dir: dir,
		credsPath: filepath.Join(dir, "credentials.json"), secrets: filepath.Join(dir, "secrets")}
}

func (e *applyEnv) env() []string {
	return []string{"EC_ENDPOINT=" + e.emu.URL, "EC_API_KEY=" + e.emu.APIKey, "SLSYNC_CREDENTIALS_FILE=" + e.credsPath}
}

func (e *applyEnv) run(t testing.TB, args ...string) cliResult {
	t.Helper()
	return runCLI(t, "", e.env(), "", args...)
}

// projects counts live projects by "owner/key" tags.
func (e *applyEnv) projects(t testing.TB) map[string]int {
	t.Helper()
	pc, err := cloud.NewProjectClient(e.emu.URL, model.Secret(e.emu.APIKey), cloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, typ := range model.ProjectTypes {
		ps, err := pc.List(context.Background(), typ, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			out[p.Metadata.Tags[model.TagOwner]+"/"+p.Metadata.Tags[model.TagKey]]++
		}
	}
	return out
}

func example(name string) string { return filepath.Join("..", "..", "examples", name) }

// The binary applies every example, then plans empty and has nothing more
// to apply; without a terminal it needs --auto-approve; without a sink it
// refuses to create keys. Secrets never reach the output.
func TestApplyCommand(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	r := e.run(t, "apply", "-f", example("minimal"), "--secrets-dir", e.secrets)
	if r.Code != exitError || !strings.Contains(r.Stderr, "--auto-approve") || !strings.Contains(r.Stdout, "Plan: 2 to create") {
		t.Fatalf("apply without a terminal: want the plan and a refusal naming --auto-approve, got %+v", r)
	}
	r = e.run(t, "apply", "-f", example("minimal"), "--auto-approve")
	if r.Code != exitError || !strings.Contains(r.Stderr, "no secret sink") {
		t.Fatalf("apply without a sink: %+v", r)
	}
	if n := len(e.projects(t)); n != 0 {
		t.Fatalf("a refused apply created %d projects", n)
	}
	for _, ex := range []string{"minimal", "fleet", "teams"} {
		before := len(e.projects(t))
		r = e.run(t, "apply", "-f", example(ex), "--auto-approve", "--secrets-dir", e.secrets)
		if r.Code != exitOK || !strings.Contains(r.Stdout, "Apply complete:") {
			t.Fatalf("apply %s: %+v", ex, r)
		}
		created := len(e.projects(t)) - before
		e.emu.Server.ResetStats()
		r = e.run(t, "plan", "-f", example(ex), "--detailed-exitcode")
		if r.Code != exitOK {
			t.Fatalf("plan after applying %s is not empty: %+v", ex, r)
		}
		// The cost contract of a plan without changes: three lists and one
		// key query per managed project, nothing else.
		if st := e.emu.Server.Stats(); st.Total != 3+created {
			t.Fatalf("plan without changes of %s made %d calls, want 3 + %d; by route: %v", ex, st.Total, created, st.ByRoute)
		}
		r = e.run(t, "apply", "-f", example(ex))
		if r.Code != exitOK || !strings.Contains(r.Stdout, "Nothing to apply") {
			t.Fatalf("second apply of %s: %+v", ex, r)
		}
	}
	// No secret in any output: compare with every delivered value.
	var outputs bytes.Buffer
	outputs.WriteString(r.Stdout + r.Stderr)
	filepath.WalkDir(e.secrets, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if i := bytes.Index(b, []byte(`"encoded":"`)); i >= 0 {
			enc := b[i+11 : i+11+bytes.IndexByte(b[i+11:], '"')]
			if bytes.Contains(outputs.Bytes(), enc) {
				t.Fatalf("the secret of %s appears in the output", p)
			}
		}
		return nil
	})
	creds, err := os.ReadFile(e.credsPath)
	if err != nil || !bytes.Contains(creds, []byte(`"password"`)) {
		t.Fatalf("credentials file: %v", err)
	}
}

// A saved plan is applied as it is, and refused when the manifests or the
// live project moved since.
func TestApplySavedPlan(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	dir := writeFiles(t, map[string]string{"slsync.yaml": `owner: saved
projects:
  p: {type: elasticsearch, name: P, region_id: aws-us-east-1}
`})
	planFile := filepath.Join(e.dir, "plan.json")
	if r := e.run(t, "plan", "-f", dir, "--out", planFile); r.Code != exitOK {
		t.Fatalf("plan --out: %+v", r)
	}
	if r := e.run(t, "apply", "-f", dir, "--plan", planFile); r.Code != exitOK || !strings.Contains(r.Stdout, "1 created") {
		t.Fatalf("apply --plan: %+v", r)
	}
	// Applying it again: the project it creates exists now.
	if r := e.run(t, "apply", "-f", dir, "--plan", planFile); r.Code != exitError || !strings.Contains(r.Stderr, "exists now") {
		t.Fatalf("apply of a used plan: %+v", r)
	}
	// A plan to rename, then the manifest changes: digest refusal.
	os.WriteFile(filepath.Join(dir, "slsync.yaml"), []byte("owner: saved\nprojects:\n  p: {type: elasticsearch, name: P2, region_id: aws-us-east-1}\n"), 0o644)
	if r := e.run(t, "plan", "-f", dir, "--out", planFile); r.Code != exitOK {
		t.Fatalf("plan --out: %+v", r)
	}
	os.WriteFile(filepath.Join(dir, "slsync.yaml"), []byte("owner: saved\nprojects:\n  p: {type: elasticsearch, name: P3, region_id: aws-us-east-1}\n"), 0o644)
	r := e.run(t, "apply", "-f", dir, "--plan", planFile)
	if r.Code != exitError || !strings.Contains(r.Stderr, "manifests") || !strings.Contains(r.Stderr, "changed since the plan was made") {
		t.Fatalf("apply with changed manifests: %+v", r)
	}
	// Back to the planned manifest, but the live project is changed by hand.
	os.WriteFile(filepath.Join(dir, "slsync.yaml"), []byte("owner: saved\nprojects:\n  p: {type: elasticsearch, name: P2, region_id: aws-us-east-1}\n"), 0o644)
	pc, _ := cloud.NewProjectClient(e.emu.URL, model.Secret(e.emu.APIKey), cloud.Options{})
	ps, _ := pc.List(context.Background(), model.Elasticsearch, nil)
	name := "by hand"
	if _, err := pc.Patch(context.Background(), model.Elasticsearch, ps[0].ID, &cloud.PatchProjectRequest{Name: &name}, ""); err != nil {
		t.Fatal(err)
	}
	r = e.run(t, "apply", "-f", dir, "--plan", planFile)
	if r.Code != exitError || !strings.Contains(r.Stderr, "changed (ETag") {
		t.Fatalf("apply with a changed live project: %+v", r)
	}
	if got, _ := pc.Get(context.Background(), model.Elasticsearch, ps[0].ID); got.Name != "by hand" {
		t.Fatalf("a stale saved plan was applied: name %q", got.Name)
	}
}

// manyProjects is a manifest with n projects of k keys each.
func manyProjects(owner string, n, k int) string {
	var b strings.Builder
	b.WriteString("owner: " + owner + "\nprojects:\n")
	for i := 0; i < n; i++ {
		b.WriteString("  p" + string(rune('a'+i)) + ":\n    type: elasticsearch\n    name: P\n    region_id: aws-us-east-1\n    api_keys:\n")
		for j := 0; j < k; j++ {
			b.WriteString("      k" + string(rune('a'+j)) + ": {expiration: 30d, role_descriptors: {r: {indices: [{names: [x], privileges: [read]}]}}}\n")
		}
	}
	return b.String()
}

// The binary killed with SIGKILL at random points of an apply, then run
// again, converges: every project and key exists once, and the plan is
// empty. (A kill between a project's create and the write of its
// credentials loses its password, hence --allow-credential-reset on the
// final run.)
func TestApplySurvivesSIGKILL(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{InitDelay: 400 * time.Millisecond, Faults: emulator.Faults{Latency: 2 * time.Millisecond}})
	dir := writeFiles(t, map[string]string{"slsync.yaml": manyProjects("kill", 6, 3)})
	rng := rand.New(rand.NewPCG(1, 2))
	killed := 0
	for i := 0; i < 6; i++ {
		cmd, _ := startCLI(t, e.env(), "apply", "-f", dir, "--auto-approve", "--secrets-dir", e.secrets, "--allow-credential-reset", "--parallelism", "4")
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(time.Duration(20+rng.IntN(500)) * time.Millisecond):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed++
		}
	}
	t.Logf("killed %d of 6 runs", killed)
	if killed == 0 {
		t.Fatal("no run was killed; the test did not test anything")
	}
	r := e.run(t, "apply", "-f", dir, "--auto-approve", "--secrets-dir", e.secrets, "--allow-credential-reset")
	if r.Code != exitOK {
		t.Fatalf("final apply: %+v", r)
	}
	if r := e.run(t, "plan", "-f", dir, "--detailed-exitcode"); r.Code != exitOK {
		t.Fatalf("plan after the final apply: %+v", r)
	}
	for k, n := range e.projects(t) {
		if n != 1 {
			t.Fatalf("%s exists %d times", k, n)
		}
	}
	if n := e.assertSecretsDelivered(t, "kill"); n != 6*3 {
		t.Errorf("%d live managed keys, want %d", n, 6*3)
	}
}

// assertSecretsDelivered checks that every live key of owner is settled
// (no pending marker on the key, no slsync-pending tag on its project) and
// that the secrets dir holds its secret (the file names the key's id), and
// returns how many live keys there are.
func (e *applyEnv) assertSecretsDelivered(t *testing.T, owner string) int {
	t.Helper()
	pc, err := cloud.NewProjectClient(e.emu.URL, model.Secret(e.emu.APIKey), cloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range model.ProjectTypes {
		ps, err := pc.List(context.Background(), typ, map[string]string{model.TagOwner: owner})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if v, tagged := p.Metadata.Tags[model.TagPending]; tagged {
				t.Errorf("live project %s (id %s) still carries the tag %s: %s", p.Metadata.Tags[model.TagKey], p.ID, model.TagPending, v)
			}
		}
	}
	creds, err := cloud.LoadCredentials(e.credsPath)
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for _, id := range creds.ProjectIDs() {
		c, _ := creds.Lookup(id)
		es, err := cloud.NewESClient(c.Endpoint, c.Username, c.Password, cloud.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ks, err := es.QueryAPIKeys(context.Background(), state.KeyQuery(owner))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			keys++
			name, _ := k.Metadata[model.MetaKey].(string)
			if _, pending := k.Metadata[model.MetaPending]; pending {
				t.Errorf("live key %s/%s (id %s) is still marked %s", c.Key, name, k.ID, model.MetaPending)
			}
			var doc struct{ ID string }
			b, err := os.ReadFile(filepath.Join(e.secrets, c.Key, name+".json"))
			if err == nil {
				err = json.Unmarshal(b, &doc)
			}
			if err != nil || doc.ID != k.ID {
				t.Errorf("the secret of live key %s/%s (id %s) was not delivered: the file names %q (%v)", c.Key, name, k.ID, doc.ID, err)
			}
		}
	}
	return keys
}

// Two applies with one credentials file at once: the second fails at once
// on the lock, creating nothing.
func TestApplyLockedByAnotherApply(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{InitDelay: time.Second})
	cmd, out := startCLI(t, e.env(), "apply", "-f", example("minimal"), "--auto-approve", "--secrets-dir", e.secrets)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "creating") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r := e.run(t, "apply", "-f", example("minimal"), "--auto-approve", "--secrets-dir", e.secrets)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out.String())
	}
	if r.Code != exitError || !strings.Contains(r.Stderr, "another slsync apply is running") {
		t.Fatalf("second apply: %+v", r)
	}
	if got := e.projects(t); got["demo/search"] != 1 {
		t.Fatalf("projects: %v", got)
	}
}

// Manifest errors are reported before anything needs an API key or the
// network: plan, apply and adopt on a broken set without EC_API_KEY show the
// located errors, not "no Elastic Cloud API key".
func TestManifestErrorsComeFirst(t *testing.T) {
	dir := writeFiles(t, map[string]string{"m.yaml": "owner: o\nprojects:\n  p:\n    type: elasticsearch\n    name: P\n    region_id: aws-us-east-1\n    colour: blue\n"})
	for _, args := range [][]string{
		{"plan", "-f", dir},
		{"apply", "-f", dir, "--auto-approve"},
		{"adopt", "-f", dir, "p", "--auto-approve"},
	} {
		r := runCLI(t, "", nil, "", args...)
		if r.Code != exitError || !strings.Contains(r.Stderr, "m.yaml:7:5:") || strings.Contains(r.Stderr, "API key") {
			t.Errorf("%v: want the located manifest error and exit 1, got %+v", args, r)
		}
	}
}

// A replacement into a region that does not exist is refused by the plan,
// before apply would delete the old project and fail to create the new one.
func TestPlanRefusesReplacementIntoUnknownRegion(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	m := "owner: regions\nprojects:\n  alpha:\n    type: elasticsearch\n    name: Alpha\n    region_id: aws-us-east-1\n"
	dir := writeFiles(t, map[string]string{"m.yaml": m})
	if r := e.run(t, "apply", "-f", dir, "--auto-approve"); r.Code != 0 {
		t.Fatalf("first apply: %+v", r)
	}
	dir = writeFiles(t, map[string]string{"m.yaml": strings.Replace(m, "aws-us-east-1", "aws-nowhere-1", 1)})
	r := e.run(t, "plan", "-f", dir, "--allow-replace", "-o", "json")
	if r.Code != exitError || !strings.Contains(r.Stdout, `region \"aws-nowhere-1\" does not exist`) {
		t.Fatalf("plan of a replacement into an unknown region: want it refused, got %+v", r)
	}
}
