// Package plan turns the difference between what the manifests want
// (model.Set) and what the organisation has (model.LiveState) into an ordered
// list of actions, and renders it for people (text, Markdown) and machines
// (JSON, saved plans).
//
// The diff is pure: it reads only in-memory model values, never the network
// and never a secret, so a plan can be shown, logged, posted to a pull request
// or written to disk without leaking anything. Everything apply needs to carry
// an action out (the desired spec, and what was observed: ids, ETags, phases)
// travels on the Action, so that apply never has to re-derive a decision the
// plan already showed to a reviewer.
package plan

import (
	"time"

	"github.com/slsync/slsync/internal/model"
)

// FormatVersion is the version of the JSON and saved-plan formats. It changes
// only when a field changes meaning or is removed.
const FormatVersion = "1"

// Resource says what an action acts on.
type Resource string

const (
	ResourceProject Resource = "project"
	ResourceAPIKey  Resource = "api_key"
)

// Kind is what an action does.
type Kind string

const (
	// Projects and keys.
	Create Kind = "create"
	Update Kind = "update"
	// Adopt puts an existing unmanaged resource under management without
	// recreating it (projects: add the two ownership tags; API keys — reserved
	// for issue 7 — add the ownership metadata).
	Adopt Kind = "adopt"
	// Projects only.
	Replace Kind = "replace"
	Delete  Kind = "delete"
	// API keys only.
	Rotate     Kind = "rotate"
	Invalidate Kind = "invalidate"
)

// kinds returns every kind in the order summaries and renderings use.
func kinds() []Kind { return []Kind{Create, Update, Replace, Delete, Adopt, Rotate, Invalidate} }

// Plan is the ordered set of actions that would make the organisation match
// the manifests, plus what prevents parts of it.
type Plan struct {
	FormatVersion  string
	Owner          string
	ManifestDigest string
	// CreatedAt is Options.Now; only saved plans carry it (renderings stay
	// stable so that a pull-request comment does not churn).
	CreatedAt    time.Time
	AllowReplace bool
	// Actions in execution-compatible order: project actions before key
	// actions, each group sorted by address. DependsOn gives the real edges.
	Actions  []*Action
	Problems []Problem
	// Warnings are worth a reader's attention but block nothing (an adopt
	// marker left on a project that is already managed).
	Warnings []Warning
	Summary  Summary
}

// Action is one change to one resource.
type Action struct {
	// Address is "project.<key>" or "api_key.<project key>.<key name>"; an
	// extra live key that shares a key name with another (left by a crash)
	// gets `api_key.<project key>.<key name>[<key id>]`.
	Address    string
	Resource   Resource
	Kind       Kind
	ProjectKey string
	KeyName    string // manifest key name (api_key actions)
	// Reason says in one sentence why the action is planned.
	Reason  string
	Changes []Change
	// Refused is non-empty when the action will not be applied, and says why
	// and what to do. A refused action makes the plan fail (exit 1).
	Refused string
	// DependsOn lists addresses of actions that must succeed first.
	DependsOn []string

	// Project is the desired project (create, update, replace, adopt; for
	// api_key actions the desired project the key belongs to). nil for delete.
	Project *model.Project
	// Key is the desired key (create, update, rotate). nil for invalidate.
	Key *model.APIKey
	// Observed is what the live state showed when the plan was made; apply
	// refuses a saved plan when it no longer holds.
	Observed Observed
}

// Observed records the live values an action was planned against.
type Observed struct {
	ProjectID   string
	ProjectType model.ProjectType
	ETag        string
	Phase       string
	// KeyID is the live key updated, rotated away from or invalidated.
	KeyID string
	// KeyName is the live Elasticsearch name of that key.
	KeyName   string
	ExpiresAt *time.Time
	// KeyMetadata is the user part of the live key's metadata (no slsync_
	// keys), for apply to keep when the manifest does not manage metadata.
	KeyMetadata map[string]any
}

// Change is one field-level difference. Before is nil for a value that is
// absent live (and for every field of a create); After is nil for a value
// being removed.
type Change struct {
	Path   string
	Before any
	After  any
	// Diff is a unified line diff of canonical JSON (role_descriptors only).
	Diff string
}

// Problem is an error not attached to one action: something the plan cannot
// decide (two live projects with one key, an adoption that matches nothing,
// unreadable API keys). Any problem makes the plan fail (exit 1).
type Problem struct {
	Address  string
	Message  string
	Location model.Location // where in the manifests, when known
}

// Warning is a remark that does not make the plan fail.
type Warning struct {
	Address  string
	Message  string
	Location model.Location // where in the manifests, when known
}

// Summary counts the actions that would be applied, by kind; Refused counts
// those that will not (they are not counted under their kind).
type Summary struct {
	Create     int
	Update     int
	Replace    int
	Delete     int
	Adopt      int
	Rotate     int
	Invalidate int
	Refused    int
	Problems   int
}

// count returns the counter for a kind.
func (s *Summary) count(k Kind) *int {
	switch k {
	case Create:
		return &s.Create
	case Update:
		return &s.Update
	case Replace:
		return &s.Replace
	case Delete:
		return &s.Delete
	case Adopt:
		return &s.Adopt
	case Rotate:
		return &s.Rotate
	case Invalidate:
		return &s.Invalidate
	}
	return new(int)
}

// Count returns the number of applicable actions of one kind.
func (s Summary) Count(k Kind) int { return *s.count(k) }

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	for _, a := range p.Actions {
		if a.Refused == "" {
			return true
		}
	}
	return false
}

// HasErrors reports whether the plan has problems or refused actions; the
// CLI exits 1 then, and apply refuses to run it.
func (p *Plan) HasErrors() bool {
	if len(p.Problems) > 0 {
		return true
	}
	for _, a := range p.Actions {
		if a.Refused != "" {
			return true
		}
	}
	return false
}

// ExitCode is the --detailed-exitcode value: 1 when the plan has errors, 2
// when it has changes, 0 otherwise.
func (p *Plan) ExitCode() int {
	switch {
	case p.HasErrors():
		return 1
	case p.HasChanges():
		return 2
	}
	return 0
}

// Action returns the action at an address, or nil.
func (p *Plan) Action(address string) *Action {
	for _, a := range p.Actions {
		if a.Address == address {
			return a
		}
	}
	return nil
}

// Changed reports whether the action changes the field at path (exactly, or
// anything below it: "tags" matches "tags.env").
func (a *Action) Changed(path string) bool {
	for _, c := range a.Changes {
		if c.Path == path || len(c.Path) > len(path) && c.Path[:len(path)] == path && c.Path[len(path)] == '.' {
			return true
		}
	}
	return false
}

// summarize recomputes the summary from the actions and problems.
func (p *Plan) summarize() {
	var s Summary
	for _, a := range p.Actions {
		if a.Refused != "" {
			s.Refused++
			continue
		}
		*s.count(a.Kind)++
	}
	s.Problems = len(p.Problems)
	p.Summary = s
}
