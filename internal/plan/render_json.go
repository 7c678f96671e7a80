package plan

import (
	"encoding/json"
	"io"
	"time"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/roledesc"
)

// The JSON form (README.md, "Reading a plan", documents every field). Struct field
// order is output order; every list is in plan order, so the output is
// byte-for-byte stable for a given plan.
type jsonPlan struct {
	FormatVersion  string `json:"format_version"`
	Owner          string `json:"owner"`
	ManifestDigest string `json:"manifest_digest,omitempty"`
	// Saved plans only.
	CreatedAt    *time.Time `json:"created_at,omitempty"`
	AllowReplace bool       `json:"allow_replace,omitempty"`

	Actions  []jsonAction  `json:"actions"`
	Problems []jsonProblem `json:"problems"`
	// Warnings share the problems' shape; they never make the plan fail.
	Warnings []jsonProblem `json:"warnings"`
	Summary  jsonSummary   `json:"summary"`
}

type jsonAction struct {
	Address    string       `json:"address"`
	Resource   Resource     `json:"resource"`
	Action     Kind         `json:"action"`
	ProjectKey string       `json:"project_key"`
	KeyName    string       `json:"key_name,omitempty"`
	Reason     string       `json:"reason"`
	Changes    []jsonChange `json:"changes"`
	Refused    string       `json:"refused,omitempty"`
	DependsOn  []string     `json:"depends_on,omitempty"`
	// Saved plans only.
	Observed *jsonObserved `json:"observed,omitempty"`
	Desired  *jsonDesired  `json:"desired,omitempty"`
}

type jsonChange struct {
	Path   string `json:"path"`
	Before any    `json:"before"`
	After  any    `json:"after"`
	Diff   string `json:"diff,omitempty"`
}

type jsonProblem struct {
	Address  string          `json:"address"`
	Message  string          `json:"message"`
	Location *model.Location `json:"location,omitempty"`
}

type jsonSummary struct {
	Create     int  `json:"create"`
	Update     int  `json:"update"`
	Replace    int  `json:"replace"`
	Delete     int  `json:"delete"`
	Adopt      int  `json:"adopt"`
	Rotate     int  `json:"rotate"`
	Invalidate int  `json:"invalidate"`
	Refused    int  `json:"refused"`
	Problems   int  `json:"problems"`
	HasChanges bool `json:"has_changes"`
	HasErrors  bool `json:"has_errors"`
}

// jsonObserved is what a saved plan saw live.
type jsonObserved struct {
	ProjectID   string            `json:"project_id,omitempty"`
	ProjectType model.ProjectType `json:"project_type,omitempty"`
	ETag        string            `json:"etag,omitempty"`
	Phase       string            `json:"phase,omitempty"`
	KeyID       string            `json:"key_id,omitempty"`
	KeyName     string            `json:"key_name,omitempty"`
	ExpiresAt   *time.Time        `json:"expires_at,omitempty"`
	KeyMetadata map[string]any    `json:"key_metadata,omitempty"`
}

// jsonDesired is the manifest spec a saved plan's action applies. (The key
// spec is under "key", not "api_key": no field of a plan is named like a
// secret-bearing API field.)
type jsonDesired struct {
	Project *projectSpec `json:"project,omitempty"`
	Key     *keySpec     `json:"key,omitempty"`
}

// projectSpec is model.Project in the manifest's own field names, without its
// API keys (each key action carries its own spec).
type projectSpec struct {
	Key                  string              `json:"key"`
	Type                 model.ProjectType   `json:"type,omitempty"`
	Name                 string              `json:"name,omitempty"`
	Alias                string              `json:"alias,omitempty"`
	RegionID             string              `json:"region_id,omitempty"`
	Tags                 map[string]string   `json:"tags"` // null: not managed; {}: none
	Protect              bool                `json:"protect,omitempty"`
	Adopt                string              `json:"adopt,omitempty"`
	OptimizedFor         string              `json:"optimized_for,omitempty"`
	SearchLake           *model.SearchLake   `json:"search_lake,omitempty"`
	ProductTier          string              `json:"product_tier,omitempty"`
	ProductTypes         []model.ProductType `json:"product_types,omitempty"`
	AdminFeaturesPackage string              `json:"admin_features_package,omitempty"`
	At                   *model.Location     `json:"at,omitempty"`
}

type keySpec struct {
	Key             string          `json:"key"`
	Name            string          `json:"name,omitempty"`
	Expiration      string          `json:"expiration,omitempty"`
	RotateBefore    string          `json:"rotate_before,omitempty"`
	RoleDescriptors map[string]any  `json:"role_descriptors"` // null: not specified
	Metadata        map[string]any  `json:"metadata"`         // null: not managed
	At              *model.Location `json:"at,omitempty"`
}

// RenderJSON writes the plan's JSON form (without what only saved plans
// carry), indented, for machines and scripts.
func RenderJSON(w io.Writer, p *Plan) error {
	return writeJSON(w, toJSON(p, false))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func toJSON(p *Plan, saved bool) *jsonPlan {
	jp := &jsonPlan{
		FormatVersion:  FormatVersion,
		Owner:          p.Owner,
		ManifestDigest: p.ManifestDigest,
		Actions:        make([]jsonAction, 0, len(p.Actions)),
		Problems:       make([]jsonProblem, 0, len(p.Problems)),
		Warnings:       make([]jsonProblem, 0, len(p.Warnings)),
		Summary: jsonSummary{
			Create: p.Summary.Create, Update: p.Summary.Update, Replace: p.Summary.Replace,
			Delete: p.Summary.Delete, Adopt: p.Summary.Adopt, Rotate: p.Summary.Rotate,
			Invalidate: p.Summary.Invalidate, Refused: p.Summary.Refused, Problems: p.Summary.Problems,
			HasChanges: p.HasChanges(), HasErrors: p.HasErrors(),
		},
	}
	if saved {
		t := p.CreatedAt.UTC()
		jp.CreatedAt = &t
		jp.AllowReplace = p.AllowReplace
	}
	for _, a := range p.Actions {
		ja := jsonAction{
			Address: a.Address, Resource: a.Resource, Action: a.Kind, ProjectKey: a.ProjectKey,
			KeyName: a.KeyName, Reason: a.Reason, Refused: a.Refused, DependsOn: a.DependsOn,
			Changes: make([]jsonChange, 0, len(a.Changes)),
		}
		for _, ch := range a.Changes {
			ja.Changes = append(ja.Changes, jsonChange{Path: ch.Path, Before: roledesc.Plain(ch.Before), After: roledesc.Plain(ch.After), Diff: ch.Diff})
		}
		if saved {
			o := a.Observed
			ja.Observed = &jsonObserved{
				ProjectID: o.ProjectID, ProjectType: o.ProjectType, ETag: o.ETag, Phase: o.Phase,
				KeyID: o.KeyID, KeyName: o.KeyName, ExpiresAt: o.ExpiresAt, KeyMetadata: o.KeyMetadata,
			}
			if a.Project != nil || a.Key != nil {
				ja.Desired = &jsonDesired{Project: toProjectSpec(a.Project), Key: toKeySpec(a.Key)}
			}
		}
		jp.Actions = append(jp.Actions, ja)
	}
	for _, pr := range p.Problems {
		jpr := jsonProblem{Address: pr.Address, Message: pr.Message}
		if pr.Location.File != "" {
			loc := pr.Location
			jpr.Location = &loc
		}
		jp.Problems = append(jp.Problems, jpr)
	}
	for _, w := range p.Warnings {
		jw := jsonProblem{Address: w.Address, Message: w.Message}
		if w.Location.File != "" {
			loc := w.Location
			jw.Location = &loc
		}
		jp.Warnings = append(jp.Warnings, jw)
	}
	return jp
}

func toProjectSpec(p *model.Project) *projectSpec {
	if p == nil {
		return nil
	}
	s := &projectSpec{
		Key: p.Key, Type: p.Type, Name: p.Name, Alias: p.Alias, RegionID: p.RegionID,
		Tags: p.Tags, Protect: p.Protect, Adopt: p.Adopt, OptimizedFor: p.OptimizedFor,
		SearchLake: p.SearchLake, ProductTier: p.ProductTier, ProductTypes: p.ProductTypes,
		AdminFeaturesPackage: p.AdminFeaturesPackage,
	}
	if p.At.File != "" {
		at := p.At
		s.At = &at
	}
	return s
}

func (s *projectSpec) model() *model.Project {
	if s == nil {
		return nil
	}
	p := &model.Project{
		Key: s.Key, Type: s.Type, Name: s.Name, Alias: s.Alias, RegionID: s.RegionID,
		Tags: s.Tags, Protect: s.Protect, Adopt: s.Adopt, OptimizedFor: s.OptimizedFor,
		SearchLake: s.SearchLake, ProductTier: s.ProductTier, ProductTypes: s.ProductTypes,
		AdminFeaturesPackage: s.AdminFeaturesPackage,
	}
	if s.At != nil {
		p.At = *s.At
	}
	return p
}

func toKeySpec(k *model.APIKey) *keySpec {
	if k == nil {
		return nil
	}
	s := &keySpec{
		Key: k.Key, Name: k.Name, Expiration: k.Expiration, RotateBefore: k.RotateBefore,
		Metadata: k.Metadata,
	}
	if k.RoleDescriptors != nil {
		s.RoleDescriptors, _ = roledesc.Plain(k.RoleDescriptors).(map[string]any)
	}
	if k.Metadata != nil {
		s.Metadata, _ = roledesc.Plain(k.Metadata).(map[string]any)
	}
	if k.At.File != "" {
		at := k.At
		s.At = &at
	}
	return s
}

func (s *keySpec) model() *model.APIKey {
	if s == nil {
		return nil
	}
	k := &model.APIKey{
		Key: s.Key, Name: s.Name, Expiration: s.Expiration, RotateBefore: s.RotateBefore,
		RoleDescriptors: s.RoleDescriptors, Metadata: s.Metadata,
	}
	if s.At != nil {
		k.At = *s.At
	}
	return k
}
