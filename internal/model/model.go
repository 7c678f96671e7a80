// Package model is the single shape of desired and live state. The manifest
// loader produces a Set; the live-state reader produces LiveProjects whose
// embedded Project is filled from the API in exactly the same form, so that
// the diff compares like with like and never has to know where a value came
// from.
//
// Conventions that the diff relies on:
//   - a nil pointer, nil map, nil slice or empty string means "not specified"
//     and is never compared (DESIGN.md: an omitted optional field is not
//     compared);
//   - an empty but non-nil map (for example `tags: {}`) is specified and means
//     "none";
//   - JSON-ish values (role descriptors, metadata) hold only the plain types
//     map[string]any, []any, string, float64, bool and nil, so that values
//     decoded from YAML and from API JSON compare equal (roledesc.Plain makes
//     any JSON-ish value plain; the manifest loader uses it).
package model

import (
	"fmt"
	"sort"
)

// ProjectType is the Serverless project type; it is also the path segment of
// the Project API (/api/v1/serverless/projects/{type}).
type ProjectType string

const (
	Elasticsearch ProjectType = "elasticsearch"
	Observability ProjectType = "observability"
	Security      ProjectType = "security"
)

// ProjectTypes lists every project type in the order slsync reads them.
var ProjectTypes = []ProjectType{Elasticsearch, Observability, Security}

// Ownership markers. Tags use the Project API's tag syntax (dash), metadata
// keys use Elasticsearch's usual snake_case.
const (
	TagOwner = "slsync-owner"
	TagKey   = "slsync-key"

	MetaOwner      = "slsync_owner"
	MetaKey        = "slsync_key"
	MetaExpiration = "slsync_expiration"
	// MetaReservedPrefix marks every metadata key slsync keeps for itself.
	MetaReservedPrefix = "slsync_"
)

// Location points at a place in a manifest file. Line and Column are 1-based.
type Location struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

func (l Location) String() string {
	if l.File == "" {
		return ""
	}
	if l.Line == 0 {
		return l.File
	}
	return fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Column)
}

// Set is a whole manifest set: everything one owner wants to exist.
type Set struct {
	Owner   string
	OwnerAt Location
	// Projects by project key.
	Projects map[string]*Project
	// Files read, sorted by path.
	Files []string
	// Digest is a hex SHA-256 over the files' paths and contents; a saved plan
	// records it so that apply can refuse when the manifests moved.
	Digest string
}

// ProjectKeys returns the project keys in sorted order.
func (s *Set) ProjectKeys() []string { return SortedKeys(s.Projects) }

// Project is one project as the manifests want it, or (embedded in
// LiveProject) as the API reports it.
type Project struct {
	// Key is the stable identity: the manifest map key, carried live in the
	// slsync-key tag.
	Key      string
	Type     ProjectType
	Name     string
	Alias    string // requested alias, without the system suffix
	RegionID string
	// Tags are the user's tags; the reserved slsync tags are never in here.
	// nil: not managed; empty: no user tags.
	Tags    map[string]string
	Protect bool
	// Adopt: "" no adoption requested; "true" adopt the unmanaged project of
	// the same type with this alias; otherwise the id of the project to adopt.
	Adopt string

	// elasticsearch
	OptimizedFor string
	// elasticsearch (search_power, boost_window) and security (data_retention)
	SearchLake *SearchLake
	// observability
	ProductTier string
	// security
	ProductTypes         []ProductType
	AdminFeaturesPackage string

	// APIKeys by manifest key name.
	APIKeys map[string]*APIKey

	// At is where the project key is written (zero for live projects).
	At Location
}

// APIKeyNames returns the manifest key names in sorted order.
func (p *Project) APIKeyNames() []string { return SortedKeys(p.APIKeys) }

// SearchLake mirrors the API's search_lake object.
type SearchLake struct {
	SearchPower   *int           `json:"search_power,omitempty"`
	BoostWindow   *int           `json:"boost_window,omitempty"`
	DataRetention *DataRetention `json:"data_retention,omitempty"`
}

// DataRetention mirrors search_lake.data_retention of security projects.
type DataRetention struct {
	MaxRetentionDays     *int `json:"max_retention_days,omitempty"`
	DefaultRetentionDays *int `json:"default_retention_days,omitempty"`
}

// ProductType is one entry of a security project's product_types.
type ProductType struct {
	ProductLine string `json:"product_line"`
	ProductTier string `json:"product_tier"`
}

// APIKey is one scoped Elasticsearch API key as the manifests want it.
type APIKey struct {
	// Key is the manifest map key, carried live in metadata.slsync_key.
	Key string
	// Name is the Elasticsearch key name (defaults to Key).
	Name string
	// Expiration as written, an Elasticsearch duration ("30d"); "" never expires.
	Expiration string
	// RotateBefore plans a rotation this close to expiry ("7d"); "" never.
	RotateBefore string
	// RoleDescriptors: role name -> descriptor (plain JSON values). nil: not
	// specified (the key inherits its owner's privileges).
	RoleDescriptors map[string]any
	// Metadata is the user's part of the key's metadata (no slsync_ keys).
	Metadata map[string]any

	At Location
}

// SortedKeys returns the keys of any string-keyed map, sorted.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
