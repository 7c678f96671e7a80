// Package export turns the live organisation into manifests: the first step
// of bringing projects that slsync did not create under management. The
// output is what a person would have written — the manifest's own field
// names, the alias without its system suffix, server-side defaults left out,
// ids as comments, `adopt: true` on projects slsync does not manage yet —
// and it is built so that planning it against the same organisation shows
// only `adopt` actions. Secrets never pass through here: API keys are
// exported as definitions (name, role descriptors, metadata, expiration).
//
// The package has two halves: Build, a pure function from live values to
// manifest documents (tested with tables), and Exporter, which reads the
// live values over the APIs (tested against the emulator).
package export

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/roledesc"
)

// The values the service fills in when a create request leaves a field out
// (reference: serverless-project-api.md; search_lake's as the emulator uses
// them). Export leaves a live value equal to its default out of the
// manifest, as a person would; a default that differs in reality only makes
// the manifest state the value explicitly, which plans as no change.
var defaultProductTypes = []model.ProductType{
	{ProductLine: "security", ProductTier: "complete"},
	{ProductLine: "cloud", ProductTier: "complete"},
	{ProductLine: "endpoint", ProductTier: "complete"},
}

const (
	defaultOptimizedFor         = "general_purpose"
	defaultProductTier          = "complete"
	defaultAdminFeaturesPackage = "standard"
	defaultSearchPower          = 100
	defaultBoostWindow          = 7
)

// Source is one live project with what export read of its API keys.
type Source struct {
	Project *model.LiveProject
	// KeysRead is true when the project's keys were read (its credentials
	// are known); Keys then holds every non-invalidated key, whoever owns it.
	KeysRead bool
	Keys     []*model.LiveAPIKey
	// Username is the Elasticsearch user of the project's credentials: only
	// unmanaged keys this user owns can be adopted (and so exported).
	Username string
}

// Options select what Build exports.
type Options struct {
	// Owner is the manifests' owner: projects it manages keep their project
	// key; projects other owners manage are left out.
	Owner string
	// Types limits the export to these project types (nil: all).
	Types []model.ProjectType
	// Tags limits the export to projects carrying all these tags (user tags,
	// or slsync-owner/slsync-key).
	Tags map[string]string
	// Now is the instant remaining key lifetimes are measured from.
	Now time.Time
}

// Project is one exported project: its manifest key, the live project it
// came from, and its manifest form.
type Project struct {
	Key  string
	Live *model.LiveProject
	Spec *ProjectSpec
	// KeyIDs maps exported key names to live key ids (for comments).
	KeyIDs map[string]string
}

// ProjectSpec is a project in the manifest's form; field order is output
// order.
type ProjectSpec struct {
	Type                 model.ProjectType   `yaml:"type"`
	Name                 string              `yaml:"name"`
	Alias                string              `yaml:"alias,omitempty"`
	RegionID             string              `yaml:"region_id"`
	Adopt                any                 `yaml:"adopt,omitempty"` // true or a project id
	OptimizedFor         string              `yaml:"optimized_for,omitempty"`
	SearchLake           *model.SearchLake   `yaml:"search_lake,omitempty"`
	ProductTier          string              `yaml:"product_tier,omitempty"`
	ProductTypes         []model.ProductType `yaml:"product_types,omitempty"`
	AdminFeaturesPackage string              `yaml:"admin_features_package,omitempty"`
	Tags                 map[string]string   `yaml:"tags,omitempty"`
	APIKeys              map[string]*KeySpec `yaml:"api_keys,omitempty"`
}

// KeySpec is an API key in the manifest's form.
type KeySpec struct {
	Name            string         `yaml:"name,omitempty"`
	Expiration      string         `yaml:"expiration,omitempty"`
	RoleDescriptors map[string]any `yaml:"role_descriptors"`
	Metadata        map[string]any `yaml:"metadata,omitempty"`
}

// keyNameRE is the schema's pattern for an API key name (manifest map key).
var keyNameRE = regexp.MustCompile(`^[^_\s](.*\S)?$`)

// projectKeyRE is the schema's pattern for a project key.
var projectKeyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// descriptorFields are the role descriptor fields a manifest may hold.
var descriptorFields = map[string]bool{"cluster": true, "indices": true, "applications": true, "run_as": true, "metadata": true}

// Build turns live projects into manifest projects, sorted by key, and
// returns notes on what it left out and why (for the user, on stderr).
func Build(sources []Source, opts Options) ([]*Project, []string) {
	b := &builder{opts: opts, used: map[string]bool{}}
	return b.build(sources)
}

type builder struct {
	opts  Options
	used  map[string]bool // project keys taken
	notes []string
}

func (b *builder) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *builder) selected(lp *model.LiveProject) bool {
	if len(b.opts.Types) > 0 {
		ok := false
		for _, t := range b.opts.Types {
			ok = ok || t == lp.Type
		}
		if !ok {
			return false
		}
	}
	for k, v := range b.opts.Tags {
		var have string
		switch k {
		case model.TagOwner:
			have = lp.Owner
		case model.TagKey:
			have = lp.Key
		default:
			have = lp.Tags[k]
		}
		if have != v {
			return false
		}
	}
	return true
}

func (b *builder) build(sources []Source) ([]*Project, []string) {
	owner := b.opts.Owner
	// Adoption by alias looks at every live project slsync may adopt, not
	// only the selected ones: count them per type and alias.
	adoptable := map[string]int{}
	for _, s := range sources {
		lp := s.Project
		if !lp.Managed(owner) && (lp.Owner == "" || lp.Owner == owner) && lp.Alias != "" {
			adoptable[string(lp.Type)+"/"+lp.Alias]++
		}
	}
	var managed, unmanaged []Source
	foreign := map[string]int{}
	for _, s := range sources {
		lp := s.Project
		if !b.selected(lp) {
			continue
		}
		switch {
		case lp.Managed(owner):
			managed = append(managed, s)
		case lp.Owner != "" && lp.Owner != owner:
			foreign[lp.Owner]++
		default:
			unmanaged = append(unmanaged, s)
		}
	}
	for _, o := range model.SortedKeys(foreign) {
		b.note("%d project(s) managed by slsync owner %q left out (export with --owner %s to write that owner's manifests)", foreign[o], o, o)
	}
	sort.SliceStable(managed, func(i, j int) bool {
		a, c := managed[i].Project, managed[j].Project
		if a.Key != c.Key {
			return a.Key < c.Key
		}
		return a.ID < c.ID
	})
	sort.SliceStable(unmanaged, func(i, j int) bool {
		a, c := unmanaged[i].Project, unmanaged[j].Project
		if a.Alias != c.Alias {
			return a.Alias < c.Alias
		}
		if a.Type != c.Type {
			return a.Type < c.Type
		}
		return a.ID < c.ID
	})

	var out []*Project
	aliases := map[string]string{} // alias -> project key that writes it
	for _, s := range managed {
		lp := s.Project
		if b.used[lp.Key] {
			b.note("project %s: live project %s also carries slsync-key: %s; only the first is exported — delete the extra project or remove its slsync tags", lp.Key, lp.ID, lp.Key)
			continue
		}
		b.used[lp.Key] = true
		p := b.project(lp.Key, s, aliases)
		out = append(out, p)
	}
	for _, s := range unmanaged {
		lp := s.Project
		key := b.deriveKey(lp)
		p := b.project(key, s, aliases)
		// adopt: true finds the project by type and alias; an alias another
		// adoptable project shares (or one not written) needs the id.
		if p.Spec.Alias != "" && adoptable[string(lp.Type)+"/"+lp.Alias] == 1 {
			p.Spec.Adopt = true
		} else {
			p.Spec.Adopt = lp.ID
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, b.notes
}

// deriveKey picks the project key of an unmanaged project: its slsync-key
// tag if it has a usable one, else its alias (which always has tag-value
// syntax), else a slug of its name; made unique with the type, then the id.
func (b *builder) deriveKey(lp *model.LiveProject) string {
	base := ""
	switch {
	case lp.Key != "" && projectKeyRE.MatchString(lp.Key) && len(lp.Key) <= 63:
		base = lp.Key
	case lp.Alias != "":
		base = slug(lp.Alias)
	default:
		base = slug(lp.Name)
	}
	if base == "" {
		base = "project"
	}
	cands := []string{base, base + "-" + typeSuffix(lp.Type)}
	if len(lp.ID) >= 6 {
		cands = append(cands, base+"-"+lp.ID[:6], base+"-"+lp.ID)
	}
	for _, c := range cands {
		c = trimKey(c)
		if !b.used[c] {
			b.used[c] = true
			return c
		}
	}
	for i := 2; ; i++ {
		c := trimKey(fmt.Sprintf("%s-%d", base, i))
		if !b.used[c] {
			b.used[c] = true
			return c
		}
	}
}

func typeSuffix(t model.ProjectType) string {
	switch t {
	case model.Elasticsearch:
		return "es"
	case model.Observability:
		return "obs"
	case model.Security:
		return "sec"
	}
	return string(t)
}

// trimKey keeps a key within 63 characters by shortening from the front
// part, keeping the distinguishing suffix.
func trimKey(k string) string {
	if len(k) <= 63 {
		return k
	}
	i := strings.LastIndexByte(k, '-')
	if i <= 0 || len(k)-i > 40 {
		return strings.TrimRight(k[:63], "-_")
	}
	suffix := k[i:]
	return strings.TrimRight(k[:63-len(suffix)], "-_") + suffix
}

// slug lower-cases s and keeps [a-z0-9], turning runs of anything else into
// one '-': tag-value syntax.
func slug(s string) string {
	var sb strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && sb.Len() > 0 {
				sb.WriteByte('-')
			}
			dash = false
			sb.WriteRune(r)
		} else {
			dash = true
		}
	}
	return trimKey(sb.String())
}

// project builds the manifest form of one live project.
func (b *builder) project(key string, s Source, aliases map[string]string) *Project {
	lp := s.Project
	spec := &ProjectSpec{
		Type:     lp.Type,
		Name:     lp.Name,
		RegionID: lp.RegionID,
	}
	if lp.Alias != "" {
		if other, taken := aliases[lp.Alias]; taken {
			b.note("project %s: alias %q is also the alias of project %s; it is left out here (aliases in a manifest set must be unique) and adoption goes by id", key, lp.Alias, other)
		} else {
			aliases[lp.Alias] = key
			spec.Alias = lp.Alias
		}
	}
	if lp.OptimizedFor != "" && lp.OptimizedFor != defaultOptimizedFor {
		spec.OptimizedFor = lp.OptimizedFor
	}
	spec.SearchLake = searchLake(lp)
	if lp.ProductTier != "" && lp.ProductTier != defaultProductTier {
		spec.ProductTier = lp.ProductTier
	}
	if len(lp.ProductTypes) > 0 && !sameProductTypes(lp.ProductTypes, defaultProductTypes) {
		spec.ProductTypes = append([]model.ProductType(nil), lp.ProductTypes...)
		sort.Slice(spec.ProductTypes, func(i, j int) bool { return spec.ProductTypes[i].ProductLine < spec.ProductTypes[j].ProductLine })
	}
	if lp.AdminFeaturesPackage != "" && lp.AdminFeaturesPackage != defaultAdminFeaturesPackage {
		spec.AdminFeaturesPackage = lp.AdminFeaturesPackage
	}
	if len(lp.Tags) > 0 {
		spec.Tags = map[string]string{}
		for k, v := range lp.Tags {
			if !model.IsReservedTag(k) {
				spec.Tags[k] = v
			}
		}
	}
	p := &Project{Key: key, Live: lp, Spec: spec, KeyIDs: map[string]string{}}
	if !s.KeysRead {
		b.note("project %s (id %s): no credentials in the credentials file, so its API keys are not exported; store them with `slsync credentials set %s --username admin --password-stdin` and export again", key, lp.ID, key)
		return p
	}
	b.keys(p, s)
	return p
}

func searchLake(lp *model.LiveProject) *model.SearchLake {
	sl := lp.SearchLake
	if sl == nil {
		return nil
	}
	out := &model.SearchLake{}
	if sl.SearchPower != nil && *sl.SearchPower != defaultSearchPower {
		out.SearchPower = ptr(*sl.SearchPower)
	}
	if sl.BoostWindow != nil && *sl.BoostWindow != defaultBoostWindow {
		out.BoostWindow = ptr(*sl.BoostWindow)
	}
	if dr := sl.DataRetention; dr != nil && (dr.MaxRetentionDays != nil || dr.DefaultRetentionDays != nil) {
		out.DataRetention = &model.DataRetention{}
		if dr.MaxRetentionDays != nil {
			out.DataRetention.MaxRetentionDays = ptr(*dr.MaxRetentionDays)
		}
		if dr.DefaultRetentionDays != nil {
			out.DataRetention.DefaultRetentionDays = ptr(*dr.DefaultRetentionDays)
		}
	}
	if out.SearchPower == nil && out.BoostWindow == nil && out.DataRetention == nil {
		return nil
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func sameProductTypes(a, b []model.ProductType) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[model.ProductType]bool{}
	for _, x := range a {
		set[x] = true
	}
	for _, x := range b {
		if !set[x] {
			return false
		}
	}
	return len(set) == len(b)
}

// keys exports a project's API keys: this owner's managed keys under their
// slsync_key, and unmanaged keys the credentials' user owns under their
// name (they will be adopted). Everything else is left out with a note:
// invalidated and expired keys, another owner's keys, keys of other users
// (Kibana's, personal ones, keys made by API keys — nobody but their owner
// may update them, so they cannot be adopted), and names that would be
// ambiguous.
func (b *builder) keys(p *Project, s Source) {
	owner := b.opts.Owner
	specs := map[string]*KeySpec{}
	var unmanaged []*model.LiveAPIKey
	var skipped []string
	for _, k := range s.Keys {
		switch {
		case k == nil || k.Invalidated:
		case k.Expired(b.opts.Now):
			skipped = append(skipped, fmt.Sprintf("%q (id %s) has expired", k.Name, k.ID))
		case k.Owner == owner && k.Key != "":
			if _, dup := specs[k.Key]; dup {
				skipped = append(skipped, fmt.Sprintf("%q (id %s) is a second key with slsync_key %s", k.Name, k.ID, k.Key))
				continue
			}
			ks := keySpec(k, &skipped)
			if ks == nil {
				continue
			}
			if k.Name != k.Key {
				ks.Name = k.Name
			}
			ks.Expiration = k.Expiration
			specs[k.Key] = ks
			p.KeyIDs[k.Key] = k.ID
		case k.Owner != "":
			skipped = append(skipped, fmt.Sprintf("%q (id %s) is managed by slsync owner %q", k.Name, k.ID, k.Owner))
		case !k.OwnedBy(s.Username):
			by := "user " + k.Username
			if k.Realm == model.APIKeyRealm {
				by = "an API key of user " + k.Username
			}
			skipped = append(skipped, fmt.Sprintf("%q (id %s) belongs to %s, not to %s, so it cannot be adopted", k.Name, k.ID, by, s.Username))
		default:
			unmanaged = append(unmanaged, k)
		}
	}
	byName := map[string][]*model.LiveAPIKey{}
	for _, k := range unmanaged {
		byName[k.Name] = append(byName[k.Name], k)
	}
	for _, name := range model.SortedKeys(byName) {
		group := byName[name]
		switch {
		case len(group) > 1:
			ids := make([]string, len(group))
			for i, k := range group {
				ids[i] = k.ID
			}
			sort.Strings(ids)
			skipped = append(skipped, fmt.Sprintf("%d keys are named %q (ids %s), so adoption could not tell them apart; invalidate the extra ones and export again", len(group), name, strings.Join(ids, ", ")))
			continue
		case specs[name] != nil || managedName(specs, name):
			skipped = append(skipped, fmt.Sprintf("%q (id %s) has the name of a key slsync already manages", name, group[0].ID))
			continue
		case !keyNameRE.MatchString(name) || len(name) > 256:
			skipped = append(skipped, fmt.Sprintf("%q (id %s) has a name a manifest cannot hold", name, group[0].ID))
			continue
		}
		k := group[0]
		ks := keySpec(k, &skipped)
		if ks == nil {
			continue
		}
		if k.ExpiresAt != nil {
			ks.Expiration = remainingDays(k.ExpiresAt.Sub(b.opts.Now))
		}
		specs[name] = ks
		p.KeyIDs[name] = k.ID
	}
	for _, s := range skipped {
		b.note("project %s: key %s; not exported", p.Key, s)
	}
	if len(specs) > 0 {
		p.Spec.APIKeys = specs
	}
}

// managedName reports whether a managed key already uses name as its
// Elasticsearch name (an unmanaged key of that name would never be adopted).
func managedName(specs map[string]*KeySpec, name string) bool {
	for _, ks := range specs {
		if ks.Name == name {
			return true
		}
	}
	return false
}

// keySpec returns the manifest form of a key, or nil (with the reason added
// to skipped) when its role descriptors do not fit a manifest (the schema
// accepts what Serverless accepts for API keys).
func keySpec(k *model.LiveAPIKey, skipped *[]string) *KeySpec {
	rd := roledesc.Canonical(k.RoleDescriptors)
	for _, role := range model.SortedKeys(rd) {
		m, ok := rd[role].(map[string]any)
		if !ok {
			*skipped = append(*skipped, fmt.Sprintf("%q (id %s) has a role descriptor %q of an unexpected shape", k.Name, k.ID, role))
			return nil
		}
		for _, f := range model.SortedKeys(m) {
			if !descriptorFields[f] {
				*skipped = append(*skipped, fmt.Sprintf("%q (id %s) uses %s in role descriptor %q, which manifests do not support", k.Name, k.ID, f, role))
				return nil
			}
		}
	}
	ks := &KeySpec{RoleDescriptors: tidyMap(rd)}
	if len(k.Metadata) > 0 {
		ks.Metadata = tidyMap(k.Metadata)
	}
	return ks
}

// remainingDays renders a remaining lifetime as whole days, rounded up, at
// least one: the manifest form of an expiry instant slsync did not set.
func remainingDays(d time.Duration) string {
	days := int64(math.Ceil(d.Hours() / 24))
	if days < 1 {
		days = 1
	}
	return fmt.Sprintf("%dd", days)
}

// tidyMap returns m as plain values with whole float64 numbers as integers,
// so that YAML shows 100 rather than 100.0.
func tidyMap(m map[string]any) map[string]any {
	out, _ := tidy(roledesc.Plain(m)).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func tidy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = tidy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tidy(e)
		}
		return out
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	}
	return v
}
