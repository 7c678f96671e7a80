package model

import "time"

// Project lifecycle phases reported by the status endpoint.
const (
	PhaseInitializing = "initializing"
	PhaseInitialized  = "initialized"
	PhaseDeleting     = "deleting"
	PhaseDeleted      = "deleted"
	PhaseSuspending   = "suspending"
	PhaseSuspended    = "suspended"
)

// LiveProject is a project as the Project API reports it, normalised into the
// manifest's form (alias without suffix, user tags without the slsync tags).
type LiveProject struct {
	Project

	ID        string
	FullAlias string // alias as returned, with the system suffix
	ETag      string
	Phase     string
	CloudID   string
	// Owner is the slsync-owner tag ("" when unmanaged); Project.Key holds
	// the slsync-key tag.
	Owner     string
	Endpoints map[string]string // "elasticsearch", "kibana", ... -> URL

	// Keys are the live API keys carrying this owner's metadata, including
	// expired ones (invalidated keys are never read).
	Keys []*LiveAPIKey
	// UnmanagedKeys are live keys without slsync ownership metadata whose
	// Elasticsearch name is one the manifests ask for: candidates for
	// adoption. They are read in the same query as Keys (so they cost no
	// extra call), only for projects whose keys are read; invalidated keys
	// are never read.
	UnmanagedKeys []*LiveAPIKey
	// KeysUsername is the Elasticsearch user slsync reads and manages this
	// project's keys as (from the credentials file); "" when the keys were
	// not read. Elasticsearch lets only a key's owner update it, so the plan
	// adopts only unmanaged keys this user owns (see LiveAPIKey.OwnedBy).
	KeysUsername string
	// KeysPending is the TagPending tag: an apply created this project and
	// its keys and has not (yet) recorded that every key's secret reached
	// the sinks. The plan treats every managed key of the project as
	// pending (see LiveAPIKey.Pending) and removes the tag after rotating
	// them.
	KeysPending bool
}

// TagPending is the tag apply creates a project with when it also creates
// the project's keys in the same run: one marker for the whole batch
// instead of a metadata marker (MetaPending) and a clearing update per key.
// apply removes it once every key of the project reached a known end
// (delivered, or never live); a project that still carries it was left by
// an apply that stopped in between. Its value is TagPendingKeys. Like
// TagOwner and TagKey it is reserved: manifests cannot set it and it is
// never a user tag.
const (
	TagPending     = "slsync-pending"
	TagPendingKeys = "keys"
)

// IsReservedTag reports whether a tag key is one slsync sets itself
// (TagOwner, TagKey, TagPending): never part of a project's user tags.
func IsReservedTag(k string) bool {
	return k == TagOwner || k == TagKey || k == TagPending
}

// Managed reports whether the project carries the given owner's tags.
func (p *LiveProject) Managed(owner string) bool {
	return p.Owner != "" && p.Owner == owner && p.Key != ""
}

// LiveAPIKey is a key as Elasticsearch reports it, normalised into the
// manifest's form: APIKey.Key from metadata.slsync_key, APIKey.Expiration from
// metadata.slsync_expiration, APIKey.Metadata without the slsync_ keys.
type LiveAPIKey struct {
	APIKey

	ID       string
	Owner    string // metadata.slsync_owner
	Username string // the Elasticsearch principal that owns the key
	// Realm is the realm of that principal; APIKeyRealm when an API key
	// (rather than a user) created the key.
	Realm       string
	Creation    time.Time
	ExpiresAt   *time.Time
	Invalidated bool
	// Pending is metadata.slsync_pending: slsync created the key but has not
	// (yet) recorded that its secret reached the sinks. apply creates every
	// key pending and clears the marker after delivery, so a key still
	// pending is one whose secret may be lost (the apply died in between);
	// the plan rotates it.
	Pending bool
}

// MetaPending is the metadata key apply creates every key with and removes
// once the key's secret was delivered (see LiveAPIKey.Pending). Like the
// other slsync_ keys it is reserved.
const MetaPending = "slsync_pending"

// APIKeyRealm is the realm Elasticsearch records for keys created by an API
// key (derived keys). Such a key belongs to the creating API key, not to
// the user of the same name, so that user cannot update it.
const APIKeyRealm = "_es_api_key"

// OwnedBy reports whether the user authenticated by a password (as slsync
// is, with a project's admin credentials) owns the key and may therefore
// update it: same username, and not created by an API key.
func (k *LiveAPIKey) OwnedBy(username string) bool {
	return username != "" && k.Username == username && k.Realm != APIKeyRealm
}

// Expired reports whether the key has expired at the given instant.
func (k *LiveAPIKey) Expired(now time.Time) bool {
	return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)
}

// Region is one entry of the regions list.
type Region struct {
	ID                     string `json:"id"`
	Name                   string `json:"name"`
	CSP                    string `json:"csp"`
	CSPRegion              string `json:"csp_region"`
	CountryCode            string `json:"country_code"`
	ProjectCreationEnabled bool   `json:"project_creation_enabled"`
}

// LiveState is everything the plan needs to know about the organisation, as
// read for one owner.
type LiveState struct {
	Owner string
	// Managed are the projects tagged with this owner, in key order. A key may
	// appear twice (for example after two applies raced); the diff handles it.
	Managed []*LiveProject
	// Others are all other projects (unmanaged or another owner's); they are
	// never changed, only consulted for alias conflicts and adoption.
	Others []*LiveProject
	// Regions by id; nil when no project needed creating (regions are only
	// read when something is to be created, to keep a no-change plan cheap).
	Regions map[string]Region
	// KeyErrors holds, by project key, why that project's API keys could not
	// be read (no credentials, endpoint unreachable). The plan reports each
	// with the way to fix it and exits 1.
	KeyErrors map[string]error
}
