// Package state reads the live organisation — projects from the Serverless
// Project API, each managed project's API keys from its Elasticsearch — and
// normalises it into model.LiveState, the same shape the manifests produce,
// so that the diff compares like with like.
//
// Cost is the design constraint: `slsync plan` runs on every pull request
// against fleets of hundreds of projects, so a read with nothing to change
// makes exactly 3 + P calls:
//
//   - one list call per project type (three, in parallel), unfiltered,
//     because unmanaged and other owners' projects matter too (alias
//     conflicts, adoption);
//   - one _query/api_key call per managed project whose keys must be known
//     (P of them), selecting this owner's non-invalidated keys, one page of
//     1000 unless there are more; bounded parallelism;
//   - nothing else. In particular no per-project GET: list items carry no
//     ETag header and no phase. LiveProject.ETag and Phase therefore stay
//     empty after Read; FetchETags reads the ETags of just the projects an
//     action will touch (plan --out records them, apply sends them as
//     If-Match), and Read asks for the status only of managed projects that
//     are about to be deleted (to skip ones already deleting), so those
//     calls are only made when something changes.
//
// Regions are read (one call) only when some desired project will be
// created: it has no live counterpart, or it will be replaced.
package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slsync/slsync/internal/cloud"
	"github.com/slsync/slsync/internal/model"
)

// DefaultParallelism bounds concurrent per-project calls.
const DefaultParallelism = 8

// ProjectLister lists projects (*cloud.ProjectClient).
type ProjectLister interface {
	List(ctx context.Context, typ model.ProjectType, tags map[string]string) ([]cloud.Project, error)
}

// ProjectAPI is the part of the Project API a read needs
// (*cloud.ProjectClient).
type ProjectAPI interface {
	ProjectLister
	Status(ctx context.Context, typ model.ProjectType, id string) (*cloud.ProjectStatus, error)
	Regions(ctx context.Context) ([]model.Region, error)
}

// KeyAPI is the part of a project's Elasticsearch a read needs
// (*cloud.ESClient).
type KeyAPI interface {
	QueryAPIKeys(ctx context.Context, req *cloud.QueryAPIKeysRequest) ([]cloud.APIKey, error)
}

// KeyAPIFactory makes a KeyAPI for one project's Elasticsearch endpoint.
type KeyAPIFactory func(endpoint, username string, password model.Secret) (KeyAPI, error)

// ESClients returns a KeyAPIFactory that makes *cloud.ESClient with opts;
// without opts.HTTPClient they all share one new cloud.NewHTTPClient, so that
// hundreds of projects do not each get a connection pool.
func ESClients(opts cloud.Options) KeyAPIFactory {
	if opts.HTTPClient == nil {
		opts.HTTPClient = cloud.NewHTTPClient(cloud.DefaultTimeout)
	}
	return func(endpoint, username string, password model.Secret) (KeyAPI, error) {
		return cloud.NewESClient(endpoint, username, password, opts)
	}
}

// Reader reads live state. Projects and NewKeyAPI are required.
type Reader struct {
	Projects ProjectAPI
	// Credentials hold each project's admin credentials by project id; nil
	// is the same as an empty file.
	Credentials *cloud.Credentials
	NewKeyAPI   KeyAPIFactory
	// Parallelism bounds concurrent per-project calls (default 8).
	Parallelism int
	Logger      *slog.Logger
}

// MissingCredentialsError says a managed project declares API keys but
// slsync holds no admin credentials for it, so its keys cannot be read or
// managed.
type MissingCredentialsError struct {
	ProjectKey string
	ProjectID  string
	File       string // credentials file consulted ("" if none)
}

func (e *MissingCredentialsError) Error() string {
	where := "no credentials file was given"
	if e.File != "" {
		where = "the credentials file " + e.File + " has no entry for it"
	}
	return fmt.Sprintf("project %q (id %s) declares API keys but %s, so its keys cannot be read; "+
		"store its admin credentials with `slsync credentials set %s` (or point SLSYNC_CREDENTIALS_FILE at the file that has them), "+
		"or let apply issue new ones with `slsync apply --allow-credential-reset` (this resets the project's admin password)",
		e.ProjectKey, e.ProjectID, where, e.ProjectKey)
}

// KeyReadError says a project's API keys could not be read.
type KeyReadError struct {
	ProjectKey string
	ProjectID  string
	Err        error
}

func (e *KeyReadError) Error() string {
	return fmt.Sprintf("reading the API keys of project %q (id %s): %v", e.ProjectKey, e.ProjectID, e.Err)
}

func (e *KeyReadError) Unwrap() error { return e.Err }

// Read returns the live state for desired's owner.
func (r *Reader) Read(ctx context.Context, desired *model.Set) (*model.LiveState, error) {
	if desired == nil || desired.Owner == "" {
		return nil, errors.New("read live state: no owner (the manifests must set owner:)")
	}
	if r.Projects == nil || r.NewKeyAPI == nil {
		return nil, errors.New("read live state: Reader needs Projects and NewKeyAPI")
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	owner := desired.Owner
	start := time.Now()

	all, err := ListAll(ctx, r.Projects)
	if err != nil {
		return nil, err
	}
	st := &model.LiveState{Owner: owner, KeyErrors: map[string]error{}}
	for _, lp := range all {
		if lp.Managed(owner) {
			st.Managed = append(st.Managed, lp)
		} else {
			st.Others = append(st.Others, lp)
		}
	}

	if err := r.dropDeleting(ctx, desired, st, log); err != nil {
		return nil, err
	}
	sortProjects(st.Managed, true)
	sortProjects(st.Others, false)

	if err := r.readKeys(ctx, desired, st, log); err != nil {
		return nil, err
	}

	if needsRegions(desired, st) {
		rs, err := r.Projects.Regions(ctx)
		if err != nil {
			return nil, fmt.Errorf("read regions: %w", err)
		}
		st.Regions = make(map[string]model.Region, len(rs))
		for _, rg := range rs {
			st.Regions[rg.ID] = rg
		}
	}
	log.LogAttrs(ctx, slog.LevelDebug, "read live state", slog.String("owner", owner),
		slog.Int("managed", len(st.Managed)), slog.Int("others", len(st.Others)),
		slog.Int("key_errors", len(st.KeyErrors)), slog.Duration("took", time.Since(start)))
	return st, nil
}

// ListAll lists every project of the three types (three calls, in
// parallel, unfiltered: whoever owns them) and normalises them
// (NormalizeProject), in type order.
func ListAll(ctx context.Context, api ProjectLister) ([]*model.LiveProject, error) {
	results := make([][]cloud.Project, len(model.ProjectTypes))
	errs := make([]error, len(model.ProjectTypes))
	var wg sync.WaitGroup
	for i, typ := range model.ProjectTypes {
		wg.Go(func() {
			results[i], errs[i] = api.List(ctx, typ, nil)
		})
	}
	wg.Wait()
	var out []*model.LiveProject
	for i, typ := range model.ProjectTypes {
		if errs[i] != nil {
			return nil, fmt.Errorf("list %s projects: %w", typ, errs[i])
		}
		for _, p := range results[i] {
			out = append(out, NormalizeProject(typ, p))
		}
	}
	return out, nil
}

// dropDeleting asks for the status of managed projects the manifests no
// longer want (they will be planned for deletion) and removes those already
// deleting or deleted, so that a plan right after an apply does not delete
// them again. Projects the manifests want are not checked: that would cost a
// call each on every plan.
func (r *Reader) dropDeleting(ctx context.Context, desired *model.Set, st *model.LiveState, log *slog.Logger) error {
	var gone []*model.LiveProject
	for _, lp := range st.Managed {
		if _, wanted := desired.Projects[lp.Key]; !wanted {
			gone = append(gone, lp)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	drop := make([]bool, len(gone))
	err := r.forEach(ctx, len(gone), func(ctx context.Context, i int) error {
		lp := gone[i]
		s, err := r.Projects.Status(ctx, lp.Type, lp.ID)
		switch {
		case cloud.IsNotFound(err):
			drop[i] = true
		case err != nil:
			if ctx.Err() != nil {
				return err
			}
			log.LogAttrs(ctx, slog.LevelWarn, "could not read project status", slog.String("project", lp.Key),
				slog.String("id", lp.ID), slog.String("error", err.Error()))
		default:
			lp.Phase = s.Phase
			drop[i] = s.Phase == model.PhaseDeleting || s.Phase == model.PhaseDeleted
		}
		return nil
	})
	if err != nil {
		return err
	}
	dropped := map[*model.LiveProject]bool{}
	for i, lp := range gone {
		if drop[i] {
			dropped[lp] = true
			log.LogAttrs(ctx, slog.LevelInfo, "project is already being deleted", slog.String("project", lp.Key), slog.String("id", lp.ID))
		}
	}
	if len(dropped) > 0 {
		kept := st.Managed[:0]
		for _, lp := range st.Managed {
			if !dropped[lp] {
				kept = append(kept, lp)
			}
		}
		st.Managed = kept
	}
	return nil
}

// readKeys reads the keys of every managed project the manifests want and
// slsync can read: those with credentials, and (as errors) those declaring
// keys without credentials. It also reads the keys of each unmanaged project
// a manifest project adopts (adoptees), so that the plan can adopt keys and
// compare the rest: one query per such project, and only in plans that adopt.
func (r *Reader) readKeys(ctx context.Context, desired *model.Set, st *model.LiveState, log *slog.Logger) error {
	type job struct {
		lp    *model.LiveProject
		pk    string // desired project key
		entry cloud.CredentialEntry
		query *cloud.QueryAPIKeysRequest
	}
	var jobs []job
	var mu sync.Mutex // guards st.KeyErrors
	missing := func(pk string, lp *model.LiveProject, dp *model.Project) {
		if len(dp.APIKeys) > 0 {
			file := ""
			if r.Credentials != nil {
				file = r.Credentials.Path()
			}
			st.KeyErrors[pk] = &MissingCredentialsError{ProjectKey: pk, ProjectID: lp.ID, File: file}
		} else {
			log.LogAttrs(ctx, slog.LevelDebug, "no credentials and no keys declared; not reading keys",
				slog.String("project", pk), slog.String("id", lp.ID))
		}
	}
	managedKeys := map[string]bool{}
	for _, lp := range st.Managed {
		managedKeys[lp.Key] = true
		dp, wanted := desired.Projects[lp.Key]
		if !wanted || dp == nil {
			continue // to be deleted: its keys go with it
		}
		entry, ok := r.Credentials.Lookup(lp.ID)
		if !ok {
			missing(lp.Key, lp, dp)
			continue
		}
		jobs = append(jobs, job{lp, lp.Key, entry, ReadQuery(desired.Owner, desiredKeyNames(dp))})
	}
	for _, pk := range desired.ProjectKeys() {
		dp := desired.Projects[pk]
		if dp == nil || dp.Adopt == "" || managedKeys[pk] {
			continue
		}
		lp := Adoptee(dp, desired.Owner, st.Others)
		if lp == nil {
			continue // the plan reports why
		}
		entry, ok := r.Credentials.Lookup(lp.ID)
		if !ok {
			missing(pk, lp, dp)
			continue
		}
		jobs = append(jobs, job{lp, pk, entry, ReadQuery(desired.Owner, desiredKeyNames(dp))})
	}
	return r.forEach(ctx, len(jobs), func(ctx context.Context, i int) error {
		j := jobs[i]
		keys, err := ReadProjectKeys(ctx, r.NewKeyAPI, j.lp, j.entry, j.query)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			mu.Lock()
			st.KeyErrors[j.pk] = &KeyReadError{ProjectKey: j.pk, ProjectID: j.lp.ID, Err: err}
			mu.Unlock()
			return nil
		}
		j.lp.Keys, j.lp.UnmanagedKeys = nil, nil
		for _, k := range keys {
			switch {
			case k.Owner == desired.Owner:
				j.lp.Keys = append(j.lp.Keys, k)
			case k.Owner == "":
				j.lp.UnmanagedKeys = append(j.lp.UnmanagedKeys, k)
			}
		}
		j.lp.KeysUsername = j.entry.Username
		return nil
	})
}

// desiredKeyNames returns the Elasticsearch names a desired project's keys
// get, sorted and distinct.
func desiredKeyNames(dp *model.Project) []string {
	seen := map[string]bool{}
	for _, name := range dp.APIKeyNames() {
		k := dp.APIKeys[name]
		if k == nil {
			continue
		}
		n := k.Name
		if n == "" {
			n = name
		}
		seen[n] = true
	}
	return model.SortedKeys(seen)
}

// Adoptee returns the live project a desired project's adopt marker means,
// by the plan's rules (internal/plan): adopt: <id> names it; adopt: true
// picks the single project of the same type with the same alias that no
// other owner manages. It returns nil when there is none or more than one —
// the plan reports those as problems; reading cannot decide them.
func Adoptee(dp *model.Project, owner string, others []*model.LiveProject) *model.LiveProject {
	var found *model.LiveProject
	n := 0
	for _, lp := range others {
		if lp == nil || lp.Phase == model.PhaseDeleting || lp.Phase == model.PhaseDeleted {
			continue
		}
		switch {
		case dp.Adopt != "true":
			if lp.ID != dp.Adopt || lp.Type != dp.Type {
				continue
			}
		case dp.Alias == "" || lp.Type != dp.Type || lp.Alias != dp.Alias || (lp.Owner != "" && lp.Owner != owner):
			continue
		}
		found = lp
		n++
	}
	if n != 1 {
		return nil
	}
	return found
}

// KeyQuery is the _query/api_key request that selects an owner's live keys:
// metadata.slsync_owner = owner and not invalidated (expired keys are
// included: the plan rotates them), ordered by creation then name, 1000 a
// page.
func KeyQuery(owner string) *cloud.QueryAPIKeysRequest {
	return ownerKeyQuery(owner)
}

// KeyNameQuery is KeyQuery narrowed to one manifest key name
// (metadata.slsync_key): apply uses it to find the keys a create whose
// answer was lost may have made, and a concurrent apply's duplicate.
func KeyNameQuery(owner, keyName string) *cloud.QueryAPIKeysRequest {
	return ownerKeyQuery(owner, map[string]any{"term": map[string]any{"metadata." + model.MetaKey: keyName}})
}

// ownerKeyQuery builds KeyQuery with extra filters.
func ownerKeyQuery(owner string, extra ...any) *cloud.QueryAPIKeysRequest {
	filter := append([]any{
		map[string]any{"term": map[string]any{"metadata." + model.MetaOwner: owner}},
		map[string]any{"term": map[string]any{"invalidated": false}},
	}, extra...)
	return &cloud.QueryAPIKeysRequest{
		Query: map[string]any{"bool": map[string]any{"filter": filter}},
		Sort:  cloud.DefaultKeySort(),
		Size:  cloud.DefaultQuerySize,
	}
}

// ReadProjectKeys runs query against one project's Elasticsearch with the
// admin credentials in entry and returns the non-invalidated keys,
// normalised, ordered by slsync key, creation and id. Read uses it for each
// managed project; export uses it for the projects it exports.
func ReadProjectKeys(ctx context.Context, newKeyAPI KeyAPIFactory, lp *model.LiveProject, entry cloud.CredentialEntry, query *cloud.QueryAPIKeysRequest) ([]*model.LiveAPIKey, error) {
	endpoint := lp.Endpoints["elasticsearch"]
	if endpoint == "" {
		endpoint = entry.Endpoint
	}
	if endpoint == "" {
		return nil, errors.New("the project has no Elasticsearch endpoint")
	}
	api, err := newKeyAPI(endpoint, entry.Username, entry.Password)
	if err != nil {
		return nil, err
	}
	raw, err := api.QueryAPIKeys(ctx, query)
	if err != nil {
		return nil, err
	}
	keys := make([]*model.LiveAPIKey, 0, len(raw))
	for _, k := range raw {
		if k.Invalidated {
			continue // the query excludes them; a server that ignores it must not confuse the diff
		}
		keys = append(keys, NormalizeKey(k))
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if !a.Creation.Equal(b.Creation) {
			return a.Creation.Before(b.Creation)
		}
		return a.ID < b.ID
	})
	return keys, nil
}

// ReadQuery is the _query/api_key request a read sends to one project: the
// owner's non-invalidated keys (as KeyQuery) plus, when names is not empty,
// the non-invalidated keys without slsync_owner metadata whose name is one
// of names — candidates for adoption, fetched in the same call so that
// adoption costs no extra request.
func ReadQuery(owner string, names []string) *cloud.QueryAPIKeysRequest {
	if len(names) == 0 {
		return KeyQuery(owner)
	}
	anyNames := make([]any, len(names))
	for i, n := range names {
		anyNames[i] = n
	}
	return &cloud.QueryAPIKeysRequest{
		Query: map[string]any{"bool": map[string]any{
			"filter": []any{map[string]any{"term": map[string]any{"invalidated": false}}},
			"should": []any{
				map[string]any{"term": map[string]any{"metadata." + model.MetaOwner: owner}},
				map[string]any{"bool": map[string]any{
					"filter":   []any{map[string]any{"terms": map[string]any{"name": anyNames}}},
					"must_not": []any{map[string]any{"exists": map[string]any{"field": "metadata." + model.MetaOwner}}},
				}},
			},
			"minimum_should_match": 1,
		}},
		Sort: cloud.DefaultKeySort(),
		Size: cloud.DefaultQuerySize,
	}
}

// needsRegions reports whether some desired project will be created: it
// has no managed live counterpart, or it will be replaced (created anew)
// because its type, region_id or optimized_for differs — compared as the
// plan compares them (internal/plan projectChanges: a field the manifest
// leaves out, or the live project does not report, is no difference), so
// that a plan without changes makes no regions call.
func needsRegions(desired *model.Set, st *model.LiveState) bool {
	live := make(map[string]*model.LiveProject, len(st.Managed))
	for _, lp := range st.Managed {
		live[lp.Key] = lp
	}
	differs := func(want, have string) bool { return want != "" && have != "" && want != have }
	for key, dp := range desired.Projects {
		lp := live[key]
		switch {
		case lp == nil:
			return true
		case dp == nil:
			continue
		case (dp.Type != "" && dp.Type != lp.Type) || differs(dp.RegionID, lp.RegionID) || differs(dp.OptimizedFor, lp.OptimizedFor):
			return true
		}
	}
	return false
}

// forEach runs fn(0..n-1) with at most r.Parallelism at once. It stops
// starting new work once ctx ends or fn fails, and returns the first error.
func (r *Reader) forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	return ForEach(ctx, n, r.Parallelism, fn)
}

// ForEach runs fn(0..n-1) with at most parallelism (default
// DefaultParallelism) calls at once, stops starting new ones after the first
// error or when ctx ends, and returns the first error.
func ForEach(ctx context.Context, n, parallelism int, fn func(ctx context.Context, i int) error) error {
	if parallelism <= 0 {
		parallelism = DefaultParallelism
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		sem      = make(chan struct{}, parallelism)
	)
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { firstErr = err; cancel() })
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// ProjectGetter reads one project with its ETag (*cloud.ProjectClient).
type ProjectGetter interface {
	Get(ctx context.Context, typ model.ProjectType, id string) (*cloud.Project, error)
}

// FetchETags fills the ETag (and refreshes nothing else) of the given
// projects with one GET each, in parallel. The plan calls it for the
// projects it will patch, replace or delete, so that a saved plan records
// the version it saw and apply can send If-Match; a plan without changes
// never calls it.
func FetchETags(ctx context.Context, api ProjectGetter, projects []*model.LiveProject, parallelism int) error {
	return ForEach(ctx, len(projects), parallelism, func(ctx context.Context, i int) error {
		lp := projects[i]
		p, err := api.Get(ctx, lp.Type, lp.ID)
		if err != nil {
			return fmt.Errorf("read project %q (id %s): %w", lp.Key, lp.ID, err)
		}
		lp.ETag = p.ETag
		return nil
	})
}

func sortProjects(ps []*model.LiveProject, byKey bool) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if byKey && a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.ID < b.ID
	})
}

// NormalizeProject turns an API project into the manifest's form: the alias
// without its system suffix, owner, key and KeysPending from the slsync
// tags, user tags without them (never nil), type-specific fields as
// returned.
func NormalizeProject(typ model.ProjectType, p cloud.Project) *model.LiveProject {
	if p.Type != "" {
		typ = p.Type
	}
	tags := make(map[string]string, len(p.Metadata.Tags))
	for k, v := range p.Metadata.Tags {
		if !model.IsReservedTag(k) {
			tags[k] = v
		}
	}
	var endpoints map[string]string
	if len(p.Endpoints) > 0 {
		endpoints = make(map[string]string, len(p.Endpoints))
		for k, v := range p.Endpoints {
			endpoints[k] = v
		}
	}
	var productTypes []model.ProductType
	if p.ProductTypes != nil {
		productTypes = append([]model.ProductType{}, p.ProductTypes...)
	}
	return &model.LiveProject{
		Project: model.Project{
			Key:                  p.Metadata.Tags[model.TagKey],
			Type:                 typ,
			Name:                 p.Name,
			Alias:                StripAliasSuffix(p.Alias, p.ID),
			RegionID:             p.RegionID,
			Tags:                 tags,
			OptimizedFor:         p.OptimizedFor,
			SearchLake:           p.SearchLake,
			ProductTier:          p.ProductTier,
			ProductTypes:         productTypes,
			AdminFeaturesPackage: p.AdminFeaturesPackage,
		},
		ID:        p.ID,
		FullAlias: p.Alias,
		ETag:      p.ETag,
		CloudID:   p.CloudID,
		Owner:     p.Metadata.Tags[model.TagOwner],
		Endpoints: endpoints,
		// Any value counts: the tag exists only while keys may be
		// undelivered.
		KeysPending: hasTag(p.Metadata.Tags, model.TagPending),
	}
}

func hasTag(tags map[string]string, k string) bool {
	_, ok := tags[k]
	return ok
}

// StripAliasSuffix removes the system suffix "-<first 6 characters of id>"
// the API appends to a requested alias.
func StripAliasSuffix(alias, id string) string {
	if len(id) < 6 {
		return alias
	}
	if s, ok := strings.CutSuffix(alias, "-"+id[:6]); ok && s != "" {
		return s
	}
	return alias
}

// NormalizeKey turns an Elasticsearch key into the manifest's form: Key,
// Expiration, Owner and Pending from the slsync_ metadata, Metadata without
// any slsync_ key (never nil), times from epoch milliseconds.
func NormalizeKey(k cloud.APIKey) *model.LiveAPIKey {
	meta := make(map[string]any, len(k.Metadata))
	lk := &model.LiveAPIKey{
		ID:          k.ID,
		Username:    k.Username,
		Realm:       k.Realm,
		Creation:    time.UnixMilli(k.Creation).UTC(),
		Invalidated: k.Invalidated,
	}
	for mk, mv := range k.Metadata {
		if !strings.HasPrefix(mk, model.MetaReservedPrefix) {
			meta[mk] = mv
			continue
		}
		s, _ := mv.(string)
		switch mk {
		case model.MetaOwner:
			lk.Owner = s
		case model.MetaKey:
			lk.Key = s
		case model.MetaExpiration:
			lk.Expiration = s
		case model.MetaPending:
			// apply writes a JSON true (and removes the key to clear it).
			lk.Pending = mv == true || s == "true"
		}
	}
	lk.Name = k.Name
	lk.Metadata = meta
	lk.RoleDescriptors = k.RoleDescriptors
	if k.Expiration != nil {
		t := time.UnixMilli(*k.Expiration).UTC()
		lk.ExpiresAt = &t
	}
	return lk
}
