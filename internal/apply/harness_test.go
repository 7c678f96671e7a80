package apply_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
	"github.com/slsync/slsync/internal/manifest"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
	"github.com/slsync/slsync/internal/state"
)

// env is an emulator on loopback plus everything an apply needs: clients
// with short retry delays, a credentials file and a secrets directory in a
// temporary directory.
type env struct {
	t          testing.TB
	emu        *emulatortest.Env
	pc         *cloud.ProjectClient
	copts      cloud.Options
	credsPath  string
	secretsDir string
}

// fastRetry keeps fault tests quick while still riding out storms.
var fastRetry = cloud.RetryPolicy{MaxAttempts: 8, BaseDelay: 2 * time.Millisecond, MaxDelay: 40 * time.Millisecond}

func newEnv(t testing.TB, opts emulator.Options) *env {
	t.Helper()
	if opts.InitDelay == 0 {
		opts.InitDelay = 150 * time.Millisecond
	}
	if opts.Seed == 0 {
		opts.Seed = 7
	}
	emu := emulatortest.Start(t, opts)
	copts := cloud.Options{HTTPClient: cloud.NewHTTPClient(10 * time.Second), Retry: fastRetry}
	pc, err := cloud.NewProjectClient(emu.URL, model.Secret(emu.APIKey), copts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return &env{t: t, emu: emu, pc: pc, copts: copts,
		credsPath: filepath.Join(dir, "creds", "credentials.json"), secretsDir: filepath.Join(dir, "secrets")}
}

func (e *env) keyAPIs() apply.KeyAPIFactory {
	return func(endpoint, user string, pass model.Secret) (apply.KeyAPI, error) {
		return cloud.NewESClient(endpoint, user, pass, e.copts)
	}
}

// options are the apply options of a test run: fast polling, a file sink.
func (e *env) options() apply.Options {
	sink, err := apply.NewFileSink(e.secretsDir)
	if err != nil {
		e.t.Fatal(err)
	}
	return apply.Options{
		Projects:        e.pc,
		NewKeyAPI:       e.keyAPIs(),
		CredentialsPath: e.credsPath,
		Sink:            apply.NewMultiSink(sink),
		Parallelism:     8,
		WaitTimeout:     20 * time.Second,
		PollInitial:     20 * time.Millisecond,
		PollMax:         100 * time.Millisecond,
		MaxDeletes:      apply.DefaultMaxDeletes,
	}
}

// reader returns a state reader with the current credentials file.
func (e *env) reader() *state.Reader {
	e.t.Helper()
	creds, err := cloud.LoadCredentials(e.credsPath)
	if err != nil {
		e.t.Fatal(err)
	}
	return &state.Reader{Projects: e.pc, Credentials: creds, NewKeyAPI: state.ESClients(e.copts), Parallelism: 8}
}

// read reads the live state for set with the current credentials file.
func (e *env) read(set *model.Set) *model.LiveState {
	e.t.Helper()
	st, err := e.reader().Read(context.Background(), set)
	if err != nil {
		e.t.Fatalf("reading live state: %v", err)
	}
	return st
}

// plan reads live state and plans, filling ETags as the CLI does.
func (e *env) plan(set *model.Set, allowReplace bool) *plan.Plan {
	e.t.Helper()
	p := plan.Compute(set, e.read(set), plan.Options{AllowReplace: allowReplace})
	if err := apply.FillETags(context.Background(), e.pc, p, 8); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// applySet plans and applies, failing the test on a refusal.
func (e *env) applySet(set *model.Set, mod func(*apply.Options)) *apply.Report {
	e.t.Helper()
	opts := e.options()
	if mod != nil {
		mod(&opts)
	}
	if opts.AllowCredentialReset {
		// As the CLI does: new credentials before planning, so that the
		// keys of projects whose password was lost can be read.
		if _, err := apply.ResetMissing(context.Background(), e.pc, e.credsPath, e.read(set)); err != nil {
			e.t.Fatal(err)
		}
	}
	p := e.plan(set, true)
	r, err := apply.Apply(context.Background(), p, opts)
	if err != nil {
		e.t.Fatalf("apply: %v", err)
	}
	return r
}

// applyPlanOK applies p with the test options and fails the test unless
// every action succeeded.
func (e *env) applyPlanOK(p *plan.Plan) {
	e.t.Helper()
	r, err := apply.Apply(context.Background(), p, e.options())
	if err != nil {
		e.t.Fatal(err)
	}
	requireOK(e.t, r)
}

// notSucceeded returns the addresses of the actions that did not succeed,
// in report order.
func notSucceeded(r *apply.Report) []string {
	var out []string
	for _, o := range r.Actions {
		if o.Status != apply.StatusSucceeded {
			out = append(out, o.Address)
		}
	}
	return out
}

// actionList returns a plan's actions as "kind address", sorted.
func actionList(p *plan.Plan) []string {
	var out []string
	for _, a := range p.Actions {
		out = append(out, string(a.Kind)+" "+a.Address)
	}
	sort.Strings(out)
	return out
}

// requireOK fails with every failed action's error.
func requireOK(t testing.TB, r *apply.Report) {
	t.Helper()
	if r.OK() {
		return
	}
	var b strings.Builder
	for _, o := range r.Actions {
		if o.Status != apply.StatusSucceeded {
			fmt.Fprintf(&b, "\n  %s %s: %s: %v", o.Kind, o.Address, o.Status, o.Err)
		}
	}
	t.Fatalf("apply did not succeed:%s", b.String())
}

// converged asserts that a fresh plan has nothing to do and no problem, that
// no project or key exists twice, that every live managed key's secret
// was delivered to the secrets directory and authenticates, and that no key
// still carries the delivery marker, nor any project the batch's tag.
func (e *env) converged(set *model.Set) {
	e.t.Helper()
	st := e.read(set)
	p := plan.Compute(set, st, plan.Options{})
	if p.HasChanges() || p.HasErrors() {
		var b bytes.Buffer
		_ = plan.Render(&b, p, "text", false)
		e.t.Fatalf("not converged; the follow-up plan is:\n%s", b.String())
	}
	seen := map[string]string{}
	for _, lp := range st.Managed {
		if other, dup := seen[lp.Key]; dup {
			e.t.Fatalf("project %s exists twice: %s and %s", lp.Key, other, lp.ID)
		}
		seen[lp.Key] = lp.ID
		if raw, err := e.pc.Get(context.Background(), lp.Type, lp.ID); err != nil {
			e.t.Fatal(err)
		} else if v, tagged := raw.Metadata.Tags[model.TagPending]; tagged {
			e.t.Fatalf("project %s (id %s) still carries the tag %s: %s after apply", lp.Key, lp.ID, model.TagPending, v)
		}
		if len(lp.Keys) != len(set.Projects[lp.Key].APIKeys) {
			e.t.Fatalf("project %s has %d live managed keys, want %d", lp.Key, len(lp.Keys), len(set.Projects[lp.Key].APIKeys))
		}
		for _, k := range lp.Keys {
			e.secretWorks(lp, k)
		}
		// Every delivery was recorded on its key: none is left marked
		// pending (read raw, not through the normalisation under test).
		if len(lp.Keys) == 0 {
			continue
		}
		for id, k := range e.rawKeys(e.t, set.Owner, lp.ID) {
			if _, pending := k.Metadata[model.MetaPending]; pending {
				e.t.Fatalf("key %s/%s (id %s) is still marked %s after apply", lp.Key, k.Metadata[model.MetaKey], id, model.MetaPending)
			}
		}
	}
	if len(seen) != len(set.Projects) {
		e.t.Fatalf("%d managed projects live, want %d", len(seen), len(set.Projects))
	}
}

// secretWorks checks the delivered file of a live key: it names that key
// and its encoded value authenticates against the project's Elasticsearch.
func (e *env) secretWorks(lp *model.LiveProject, k *model.LiveAPIKey) {
	e.t.Helper()
	path := filepath.Join(e.secretsDir, lp.Key, k.Key+".json")
	fi, err := os.Stat(path)
	if err != nil {
		e.t.Fatalf("secret of live key %s/%s (id %s) was not delivered: %v", lp.Key, k.Key, k.ID, err)
	}
	if fi.Mode().Perm() != 0o600 {
		e.t.Fatalf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	var doc struct {
		ProjectKey string `json:"project_key"`
		ProjectID  string `json:"project_id"`
		Name       string `json:"name"`
		ID         string `json:"id"`
		Encoded    string `json:"encoded"`
		Endpoint   string `json:"endpoint"`
	}
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &doc); err != nil {
		e.t.Fatal(err)
	}
	if doc.ProjectKey != lp.Key || doc.ID != k.ID || doc.ProjectID != lp.ID || doc.Name != k.Name || doc.Endpoint != lp.Endpoints["elasticsearch"] {
		e.t.Fatalf("delivered secret %s describes key %s of project %s (%s), live is %s of %s (%s)", path, doc.ID, doc.ProjectID, doc.Name, k.ID, lp.ID, k.Name)
	}
	raw, _ := base64.StdEncoding.DecodeString(doc.Encoded)
	if !strings.HasPrefix(string(raw), k.ID+":") {
		e.t.Fatalf("delivered encoded value of %s does not belong to key %s", path, k.ID)
	}
	r := e.emu.Do(e.t, http.MethodGet, doc.Endpoint+"/_security/_authenticate", "ApiKey "+doc.Encoded, nil)
	if r.Status != http.StatusOK {
		e.t.Fatalf("delivered key %s does not authenticate: %d %s", k.ID, r.Status, r.Body)
	}
}

// allProjects lists every project of every type (ids by "owner/key").
func (e *env) allProjects() map[string][]string {
	e.t.Helper()
	out := map[string][]string{}
	for _, typ := range model.ProjectTypes {
		ps, err := e.pc.List(context.Background(), typ, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, p := range ps {
			id := p.Metadata.Tags[model.TagOwner] + "/" + p.Metadata.Tags[model.TagKey]
			out[id] = append(out[id], p.ID)
		}
	}
	return out
}

// load loads manifests from a directory or file.
func load(t testing.TB, path string) *model.Set {
	t.Helper()
	set, diags, err := manifest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = diags.WriteText(&b, false)
		t.Fatalf("manifests %s: %s", path, b.String())
	}
	return set
}

// loadYAML writes a manifest into a temporary directory and loads it.
func loadYAML(t testing.TB, yaml string) *model.Set {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "slsync.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return load(t, dir)
}

// recordingSink remembers what it delivered (ids by key) and can be made
// to fail.
type recordingSink struct {
	mu     sync.Mutex
	ids    []string
	failOn string // key name to fail for
}

func (s *recordingSink) Name() string { return "test sink" }
func (s *recordingSink) Deliver(ctx context.Context, k apply.KeySecret) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.KeyName == s.failOn {
		return fmt.Errorf("refusing %s on purpose", k.KeyName)
	}
	s.ids = append(s.ids, k.ID)
	return nil
}

// applyTolerant plans and applies like applySet, but returns nil instead of
// failing when the plan cannot be made or is refused (as under faults).
func (e *env) applyTolerant(set *model.Set, mod func(*apply.Options)) *apply.Report {
	e.t.Helper()
	st, err := e.reader().Read(context.Background(), set)
	if err != nil {
		e.t.Logf("read: %v", err)
		return nil
	}
	opts := e.options()
	if mod != nil {
		mod(&opts)
	}
	if opts.AllowCredentialReset {
		reset, err := apply.ResetMissing(context.Background(), e.pc, e.credsPath, st)
		if err != nil {
			e.t.Logf("reset: %v", err)
			return nil
		}
		if len(reset) > 0 {
			if st, err = e.reader().Read(context.Background(), set); err != nil {
				e.t.Logf("read: %v", err)
				return nil
			}
		}
	}
	p := plan.Compute(set, st, plan.Options{})
	if err := apply.FillETags(context.Background(), e.pc, p, 8); err != nil {
		e.t.Logf("etags: %v", err)
		return nil
	}
	rep, err := apply.Apply(context.Background(), p, opts)
	if err != nil {
		e.t.Logf("apply: %v", err)
		return nil
	}
	for _, o := range rep.Actions {
		if o.Status == apply.StatusFailed {
			e.t.Logf("%s %s failed: %v", o.Kind, o.Address, o.Err)
		}
	}
	return rep
}
