package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/plan"
)

// ProjectAPI is the part of the Serverless Project API apply uses
// (*cloud.ProjectClient).
type ProjectAPI interface {
	List(ctx context.Context, typ model.ProjectType, tags map[string]string) ([]cloud.Project, error)
	Get(ctx context.Context, typ model.ProjectType, id string) (*cloud.Project, error)
	Create(ctx context.Context, typ model.ProjectType, req *cloud.CreateProjectRequest) (*cloud.CreatedProject, error)
	Patch(ctx context.Context, typ model.ProjectType, id string, req *cloud.PatchProjectRequest, ifMatchETag string) (*cloud.Project, error)
	Delete(ctx context.Context, typ model.ProjectType, id string, ifMatchETag string) error
	Status(ctx context.Context, typ model.ProjectType, id string) (*cloud.ProjectStatus, error)
	ResetCredentials(ctx context.Context, typ model.ProjectType, id string, ifMatchETag string) (*cloud.ProjectCredentials, error)
}

// KeyAPI is the part of a project's Elasticsearch security API apply uses
// (*cloud.ESClient).
type KeyAPI interface {
	CreateAPIKey(ctx context.Context, req *cloud.CreateAPIKeyRequest) (*cloud.CreatedAPIKey, error)
	QueryAPIKeys(ctx context.Context, req *cloud.QueryAPIKeysRequest) ([]cloud.APIKey, error)
	UpdateAPIKey(ctx context.Context, id string, req *cloud.UpdateAPIKeyRequest) (bool, error)
	InvalidateAPIKeys(ctx context.Context, ids []string) (*cloud.InvalidateResult, error)
}

// KeyAPIFactory makes a KeyAPI for one project's Elasticsearch endpoint,
// authenticated with the project's admin credentials.
type KeyAPIFactory func(endpoint, username string, password model.Secret) (KeyAPI, error)

// Defaults of Options.
const (
	DefaultWaitTimeout = 30 * time.Minute
	DefaultMaxDeletes  = 3
)

// Options configure Apply. Projects, NewKeyAPI and CredentialsPath are
// required.
type Options struct {
	Projects  ProjectAPI
	NewKeyAPI KeyAPIFactory
	// CredentialsPath is the credentials file: admin credentials of created
	// projects (and of reset ones) are written there at once, and key
	// actions read them from there.
	CredentialsPath string
	// Sink receives the secret of every created key. Nil (or an empty
	// MultiSink) is refused by Check when the plan creates keys.
	Sink Sink
	// Parallelism bounds concurrent API actions (waits do not count);
	// below 1 means 1.
	Parallelism int
	// WaitTimeout bounds each wait for a project to become initialized or
	// to be gone (DefaultWaitTimeout when 0).
	WaitTimeout time.Duration
	// PollInitial and PollMax tune status polling (WaitFor's defaults when
	// 0). Tests shrink them.
	PollInitial, PollMax time.Duration
	// AllowCredentialReset lets apply obtain new admin credentials with
	// _reset-credentials for a project whose credentials it lacks.
	AllowCredentialReset bool
	// MaxDeletes caps how many projects one apply may delete or replace;
	// Check refuses a plan above it. Negative means no cap. The CLI
	// default is DefaultMaxDeletes; the zero value allows none.
	MaxDeletes int
	// Progress reports actions as they run; nil prints nothing.
	Progress *Progress
	Logger   *slog.Logger
}

// RefusedError says why apply would not start. Nothing was changed.
type RefusedError struct {
	Reasons []string
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString("apply refused; nothing was changed:")
	for _, r := range e.Reasons {
		b.WriteString("\n  - ")
		b.WriteString(r)
	}
	return b.String()
}

// Outcome is what happened to one plan action.
type Outcome struct {
	Address string
	Kind    plan.Kind
	Status  Status
	// Err is why it failed or did not run.
	Err     error
	Elapsed time.Duration
}

// Report is the outcome of every action of the plan, in plan order.
type Report struct {
	Actions []Outcome
}

// Count returns how many actions ended with status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, o := range r.Actions {
		if o.Status == s {
			n++
		}
	}
	return n
}

// OK reports whether every action succeeded.
func (r *Report) OK() bool {
	return r.Count(StatusSucceeded) == len(r.Actions)
}

// hasKeyCreates reports whether the plan creates a key (create or rotate).
func hasKeyCreates(p *plan.Plan) bool {
	for _, a := range p.Actions {
		if a.Refused == "" && a.Resource == plan.ResourceAPIKey && (a.Kind == plan.Create || a.Kind == plan.Rotate) {
			return true
		}
	}
	return false
}

// Check refuses, before anything changes, a plan that must not run: one
// with problems or refused actions, one that deletes or replaces more
// projects than MaxDeletes, one that deletes a protected project, and one
// that creates keys while no sink would receive their secrets.
func Check(p *plan.Plan, opts Options) error {
	var reasons []string
	for _, pr := range p.Problems {
		msg := pr.Address + ": " + pr.Message
		if at := pr.Location.String(); at != "" {
			msg = at + ": " + msg
		}
		reasons = append(reasons, msg)
	}
	deletes := 0
	for _, a := range p.Actions {
		if a.Refused != "" {
			reasons = append(reasons, fmt.Sprintf("%s (%s) is refused: %s", a.Address, a.Kind, a.Refused))
			continue
		}
		if a.Resource != plan.ResourceProject {
			continue
		}
		if a.Kind == plan.Delete || a.Kind == plan.Replace {
			deletes++
			if a.Project != nil && a.Project.Protect {
				reasons = append(reasons, fmt.Sprintf("%s has protect: true and would be %sd; slsync never does that", a.Address, a.Kind))
			}
		}
	}
	if opts.MaxDeletes >= 0 && deletes > opts.MaxDeletes {
		reasons = append(reasons, fmt.Sprintf("the plan deletes or replaces %d projects, more than --max-deletes %d allows; check that the manifests are complete (a missing file deletes its projects), then raise --max-deletes if this is intended",
			deletes, opts.MaxDeletes))
	}
	if hasKeyCreates(p) && !hasSink(opts.Sink) {
		reasons = append(reasons, "the plan creates API keys but no secret sink is configured, so their secrets would be lost; pass --secrets-dir DIR and/or --secrets-exec CMD")
	}
	if len(reasons) > 0 {
		return &RefusedError{Reasons: reasons}
	}
	return nil
}

func hasSink(s Sink) bool {
	if s == nil {
		return false
	}
	if m, ok := s.(*MultiSink); ok {
		return m.Len() > 0
	}
	return true
}

// Apply executes the plan's actions as a dependency graph (see RunGraph):
// projects first, a new project's keys once it is initialized, at most
// opts.Parallelism API actions at a time. A failed action fails only what
// depends on it. The error is non-nil only when apply refused to start
// (*RefusedError, from Check) or was misconfigured; otherwise the Report
// says what happened to each action.
func Apply(ctx context.Context, p *plan.Plan, opts Options) (*Report, error) {
	if opts.Projects == nil || opts.NewKeyAPI == nil || opts.CredentialsPath == "" {
		return nil, errors.New("apply: Options need Projects, NewKeyAPI and CredentialsPath")
	}
	if err := Check(p, opts); err != nil {
		return nil, err
	}
	if p.Owner == "" {
		return nil, errors.New("apply: the plan has no owner")
	}
	creds, err := cloud.LoadCredentials(opts.CredentialsPath)
	if err != nil {
		return nil, err
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	if opts.Sink == nil {
		opts.Sink = NewMultiSink()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &executor{
		opts:     opts,
		owner:    p.Owner,
		log:      log,
		prog:     opts.Progress,
		creds:    creds,
		projects: map[string]*projectCtx{},
		knownIDs: map[string]map[string]bool{},
	}
	return e.run(ctx, p)
}

// executor is one run of Apply.
type executor struct {
	opts  Options
	owner string
	log   *slog.Logger
	prog  *Progress

	mu       sync.Mutex
	creds    *cloud.Credentials     // the file as loaded, plus what this run wrote
	projects map[string]*projectCtx // by project key
	// knownIDs: "<project key>/<key name>" → ids of live keys the plan
	// knows (rotated, invalidated), which are not a concurrent apply's.
	knownIDs map[string]map[string]bool
}

// projectCtx is what the actions of one project share: its id, endpoint
// and a client for its Elasticsearch, resolved once.
type projectCtx struct {
	key string

	mu          sync.Mutex
	typ         model.ProjectType
	id          string
	endpoint    string
	createdHere bool // created (or adopted after a lost answer) by this run
	ready       bool // known to be initialized
	username    string
	password    model.Secret // set when this run created or reset it
	api         KeyAPI
	apiErr      error

	// The batch of a project this run creates together with its keys (see
	// batchKeys): batch is decided before the run, tagged once the project
	// is known to carry the TagPending tag, etag is its ETag from the
	// create, and unsettled counts the batch's key actions that started and
	// did not confirm a known end.
	batch     bool
	tagged    bool
	etag      string
	unsettled int
}

func (e *executor) project(a *plan.Action) *projectCtx {
	e.mu.Lock()
	defer e.mu.Unlock()
	pc := e.projects[a.ProjectKey]
	if pc == nil {
		pc = &projectCtx{key: a.ProjectKey}
		e.projects[a.ProjectKey] = pc
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	// Key actions of an existing project (and project actions on one)
	// name it; creates fill it in when they succeed.
	if pc.id == "" && a.Observed.ProjectID != "" && !(a.Resource == plan.ResourceProject && (a.Kind == plan.Replace || a.Kind == plan.Delete)) {
		pc.id = a.Observed.ProjectID
	}
	if pc.typ == "" {
		switch {
		case a.Project != nil && a.Project.Type != "":
			pc.typ = a.Project.Type
		default:
			pc.typ = a.Observed.ProjectType
		}
	}
	return pc
}

// verbs returns what progress says while and after an action runs.
func verbs(a *plan.Action) (doing, done string) {
	switch a.Kind {
	case plan.Create:
		return "creating", "created"
	case plan.Update:
		return "updating", "updated"
	case plan.Replace:
		return "replacing (delete, then create)", "replaced"
	case plan.Delete:
		return "deleting", "deleted"
	case plan.Adopt:
		return "adopting", "adopted"
	case plan.Rotate:
		return "rotating (create, deliver, invalidate the old key)", "rotated"
	case plan.Invalidate:
		return "invalidating", "invalidated"
	}
	return string(a.Kind), string(a.Kind)
}

// waitSuffix names the node that waits for a created project to be
// initialized; the project's keys depend on it.
const waitSuffix = " (initialized)"

// settleSuffix names the node that removes a created project's TagPending
// tag once its keys are settled (see settleBatch).
const settleSuffix = " (keys settled)"

func (e *executor) run(ctx context.Context, p *plan.Plan) (*Report, error) {
	var actions []*plan.Action
	for _, a := range p.Actions {
		if a.Refused != "" {
			continue // Check refuses such plans; never execute one anyway
		}
		actions = append(actions, a)
	}
	// What keys the plan knows, per project key and key name.
	for _, a := range actions {
		if a.Resource == plan.ResourceAPIKey && a.Observed.KeyID != "" {
			k := a.ProjectKey + "/" + a.KeyName
			if e.knownIDs[k] == nil {
				e.knownIDs[k] = map[string]bool{}
			}
			e.knownIDs[k][a.Observed.KeyID] = true
		}
	}
	batches := batchKeys(actions)
	// Addresses whose dependents must wait until the project is ready.
	waitNode := map[string]string{}
	hasDependents := map[string]bool{}
	for _, a := range actions {
		for _, d := range a.DependsOn {
			hasDependents[d] = true
		}
	}
	byNode := map[string]*plan.Action{}
	settleNode := map[string]string{}
	var projNodes, waitNodes, settleNodes, keyNodes []Node
	for _, a := range actions {
		a := a
		pc := e.project(a)
		byNode[a.Address] = a
		n := Node{ID: a.Address}
		switch a.Resource {
		case plan.ResourceProject:
			switch a.Kind {
			case plan.Create, plan.Replace:
				w := a.Address + waitSuffix
				waitNode[a.Address] = w
				n.Run = func(ctx context.Context) error { return e.createOrReplace(ctx, a, pc) }
				waitNodes = append(waitNodes, Node{ID: w, DependsOn: []string{a.Address}, Unlimited: true,
					Run: func(ctx context.Context) error { return e.waitInitialized(ctx, pc) }})
				if keys := batches[a.Address]; len(keys) > 0 {
					pc.mu.Lock()
					pc.batch = true
					pc.mu.Unlock()
					settleNode[a.Address] = a.Address + settleSuffix
					settleNodes = append(settleNodes, Node{ID: a.Address + settleSuffix, DependsOn: append([]string{a.Address}, keys...), AfterAll: true,
						Run: func(ctx context.Context) error { return e.settleBatch(ctx, a, pc) }})
				}
			case plan.Update, plan.Adopt:
				n.Run = func(ctx context.Context) error { return e.patchProject(ctx, a, pc) }
			case plan.Delete:
				waitGone := hasDependents[a.Address]
				n.Run = func(ctx context.Context) error { return e.deleteProject(ctx, a, waitGone) }
			default:
				return nil, fmt.Errorf("apply: %s: unknown project action %q", a.Address, a.Kind)
			}
			projNodes = append(projNodes, n)
		case plan.ResourceAPIKey:
			switch a.Kind {
			case plan.Create, plan.Rotate:
				n.Run = func(ctx context.Context) error { return e.createKey(ctx, a, pc) }
			case plan.Update, plan.Adopt:
				n.Run = func(ctx context.Context) error { return e.updateKey(ctx, a, pc) }
			case plan.Invalidate:
				n.Run = func(ctx context.Context) error { return e.invalidateKey(ctx, a, pc) }
			default:
				return nil, fmt.Errorf("apply: %s: %s of API keys is not supported by this version of slsync", a.Address, a.Kind)
			}
			keyNodes = append(keyNodes, n)
		default:
			return nil, fmt.Errorf("apply: %s: unknown resource %q", a.Address, a.Resource)
		}
	}
	// Dependencies: on a created or replaced project, wait for it to be
	// initialized (key actions), except for project actions, which only
	// need its deletion or creation done (alias moves).
	deps := func(a *plan.Action) []string {
		var out []string
		for _, d := range a.DependsOn {
			if w, ok := waitNode[d]; ok && a.Resource == plan.ResourceAPIKey {
				d = w
			}
			if _, ok := byNode[d]; !ok && !strings.HasSuffix(d, waitSuffix) {
				continue // an action not in this run (refused plans never get here)
			}
			out = append(out, d)
		}
		return out
	}
	// A batch settles as soon as it can (before keys of other projects
	// start): its keys' secrets are delivered already.
	nodes := make([]Node, 0, len(projNodes)+len(waitNodes)+len(settleNodes)+len(keyNodes))
	for _, list := range [][]Node{projNodes, waitNodes, settleNodes, keyNodes} {
		for _, n := range list {
			if a := byNode[n.ID]; a != nil {
				n.DependsOn = deps(a)
			}
			nodes = append(nodes, n)
		}
	}

	res, err := RunGraph(ctx, nodes, GraphOptions{
		Parallelism: e.opts.Parallelism,
		OnEvent: func(ev Event) {
			if e.prog == nil {
				return
			}
			a := byNode[ev.ID]
			if strings.HasSuffix(ev.ID, settleSuffix) {
				if ev.Kind == EventFinished && ev.Result.Status == StatusFailed {
					e.prog.Failed(ev.ID, ev.Result.Err, ev.Result.Elapsed)
				}
				return
			}
			if a == nil { // a wait node
				if ev.Kind == EventFinished {
					switch ev.Result.Status {
					case StatusFailed:
						e.prog.Failed(ev.ID, ev.Result.Err, ev.Result.Elapsed)
					case StatusSucceeded:
						e.prog.Note(fmt.Sprintf("  %s is initialized (%s)", strings.TrimSuffix(ev.ID, waitSuffix), FormatElapsed(ev.Result.Elapsed)))
					}
				}
				return
			}
			doing, done := verbs(a)
			switch {
			case ev.Kind == EventStarted:
				e.prog.Started(ev.ID, doing)
			case ev.Result.Status == StatusSucceeded:
				e.prog.Succeeded(ev.ID, done, ev.Result.Elapsed)
			case ev.Result.Status == StatusFailed:
				e.prog.Failed(ev.ID, ev.Result.Err, ev.Result.Elapsed)
			default:
				e.prog.Skipped(ev.ID, ev.Result.Err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	out := &Report{}
	byID := map[string]Result{}
	for _, r := range res {
		byID[r.ID] = r
	}
	for _, a := range actions {
		r := byID[a.Address]
		o := Outcome{Address: a.Address, Kind: a.Kind, Status: r.Status, Err: r.Err, Elapsed: r.Elapsed}
		// A created project whose wait failed is not done: its keys did
		// not run. Nor is one whose keys were delivered but whose tag
		// stayed: the next plan would rotate them all.
		for _, follow := range []map[string]string{waitNode, settleNode} {
			if n, ok := follow[a.Address]; ok && o.Status == StatusSucceeded {
				if fr := byID[n]; fr.Status != StatusSucceeded {
					o.Status, o.Err = fr.Status, fr.Err
				}
			}
		}
		out.Actions = append(out.Actions, o)
	}
	return out, nil
}

// lookupCreds returns the stored admin credentials of a project.
func (e *executor) lookupCreds(id string) (cloud.CredentialEntry, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.creds.Lookup(id)
}

// storeCreds writes a project's admin credentials to the credentials file
// at once (under its lock, atomically) and remembers them.
func (e *executor) storeCreds(ctx context.Context, entry cloud.CredentialEntry) error {
	err := cloud.UpdateCredentials(ctx, e.opts.CredentialsPath, func(c *cloud.Credentials) error {
		return c.Put(entry)
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	_ = e.creds.Put(entry)
	e.mu.Unlock()
	return nil
}

// forgetCreds removes a deleted project's entry from the credentials file.
func (e *executor) forgetCreds(ctx context.Context, id string) {
	e.mu.Lock()
	_, had := e.creds.Lookup(id)
	e.creds.Remove(id)
	e.mu.Unlock()
	if !had {
		return
	}
	err := cloud.UpdateCredentials(ctx, e.opts.CredentialsPath, func(c *cloud.Credentials) error {
		c.Remove(id)
		return nil
	})
	if err != nil {
		e.log.Warn("could not remove a deleted project's credentials", "project_id", id, "error", err)
	}
}

func (e *executor) note(msg string) {
	if e.prog != nil {
		e.prog.Note(msg)
	}
	e.log.Debug(msg)
}
