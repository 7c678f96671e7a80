package plan

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/roledesc"
)

// Options tune a diff.
type Options struct {
	// AllowReplace lets the plan replace (delete and re-create) a project
	// whose type, region_id or optimized_for changed; without it such an
	// action is planned but refused.
	AllowReplace bool
	// Now is the instant expiry is judged against (zero: time.Now()).
	Now time.Time
}

// Compute diffs the desired set against the live state. It never fails: what
// it cannot decide becomes a Problem or a refused Action, so that the rest of
// the plan is still shown. Either argument may be nil (nothing desired /
// nothing live).
func Compute(desired *model.Set, live *model.LiveState, opts Options) *Plan {
	if desired == nil {
		desired = &model.Set{}
	}
	if live == nil {
		live = &model.LiveState{}
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	c := &computer{
		set:     desired,
		live:    live,
		opts:    opts,
		owner:   desired.Owner,
		managed: map[string][]*model.LiveProject{},
		byAddr:  map[string]*Action{},
	}
	if c.owner == "" {
		c.owner = live.Owner
	}
	c.run()
	p := &Plan{
		FormatVersion:  FormatVersion,
		Owner:          c.owner,
		ManifestDigest: desired.Digest,
		CreatedAt:      opts.Now.UTC(),
		AllowReplace:   opts.AllowReplace,
		Actions:        c.actions,
		Problems:       c.problems,
		Warnings:       c.warnings,
	}
	sortActions(p.Actions)
	sort.SliceStable(p.Problems, func(i, j int) bool { return p.Problems[i].Address < p.Problems[j].Address })
	sort.SliceStable(p.Warnings, func(i, j int) bool { return p.Warnings[i].Address < p.Warnings[j].Address })
	p.summarize()
	return p
}

// computer holds one diff's working state.
type computer struct {
	set   *model.Set
	live  *model.LiveState
	opts  Options
	owner string

	// managed live projects of this owner by project key (gone ones excluded).
	managed map[string][]*model.LiveProject

	actions  []*Action
	problems []Problem
	warnings []Warning
	byAddr   map[string]*Action
	// projectAction by project key, for alias dependencies and key deps.
	projectAction map[string]*Action
	// adoptee by project key: the Others entry an adopt action takes over.
	adoptee map[string]*model.LiveProject
}

func projectAddress(key string) string { return "project." + key }

func keyAddress(projectKey, keyName string) string {
	return "api_key." + projectKey + "." + keyName
}

// gone reports whether a live project is on its way out: it is neither
// matched, nor deleted again, nor an alias holder to wait for beyond what
// apply's replace already does.
func gone(p *model.LiveProject) bool {
	return p.Phase == model.PhaseDeleting || p.Phase == model.PhaseDeleted
}

func (c *computer) add(a *Action) *Action {
	c.actions = append(c.actions, a)
	c.byAddr[a.Address] = a
	return a
}

func (c *computer) problem(address, msg string, at model.Location) {
	c.problems = append(c.problems, Problem{Address: address, Message: msg, Location: at})
}

func (c *computer) warn(address, msg string, at model.Location) {
	c.warnings = append(c.warnings, Warning{Address: address, Message: msg, Location: at})
}

func (c *computer) run() {
	c.projectAction = map[string]*Action{}
	c.adoptee = map[string]*model.LiveProject{}
	for _, lp := range c.live.Managed {
		if lp == nil || gone(lp) || (c.owner != "" && lp.Owner != "" && lp.Owner != c.owner) || lp.Key == "" {
			continue
		}
		c.managed[lp.Key] = append(c.managed[lp.Key], lp)
	}
	c.checkDesiredAliases()

	// Project actions.
	type keyWork struct {
		desired *model.Project
		live    *model.LiveProject // nil: the project is new
		dep     string             // address key creates depend on
	}
	var keys []keyWork
	for _, pk := range c.set.ProjectKeys() {
		d := c.set.Projects[pk]
		if d == nil {
			continue
		}
		if d.Key == "" {
			d = withKey(d, pk)
		}
		lives := c.managed[pk]
		switch {
		case len(lives) > 1:
			c.problem(projectAddress(pk), duplicateMessage(pk, c.owner, lives)+" Delete the extra project(s) or remove their slsync tags, then plan again.", d.At)
		case len(lives) == 1:
			lp := lives[0]
			c.adoptMarkerLeft(d, lp)
			a := c.diffProject(d, lp)
			if a != nil && a.Kind == Replace && a.Refused == "" {
				keys = append(keys, keyWork{d, nil, a.Address})
			} else {
				keys = append(keys, keyWork{d, lp, ""})
			}
		case d.Adopt != "":
			a, lp := c.adopt(d)
			if a != nil {
				keys = append(keys, keyWork{d, lp, a.Address})
			}
		default:
			a := c.create(d)
			keys = append(keys, keyWork{d, nil, a.Address})
		}
	}
	for _, pk := range model.SortedKeys(c.managed) {
		if _, ok := c.set.Projects[pk]; ok {
			continue
		}
		lives := c.managed[pk]
		if len(lives) > 1 {
			c.problem(projectAddress(pk), duplicateMessage(pk, c.owner, lives)+" The key is not in the manifests; delete them by hand or add the project back to the manifests.", model.Location{})
			continue
		}
		c.delete(lives[0])
	}
	c.checkAliasConflicts()
	c.checkRegions()

	// Key actions.
	for _, w := range keys {
		c.diffKeys(w.desired, w.live, w.dep)
		if w.live != nil && w.live.KeysPending && w.dep == "" {
			c.clearKeysPending(w.desired, w.live)
		}
	}
}

// withKey returns a copy of d with Key set (the manifest loader sets it; a
// hand-built Set might not).
func withKey(d *model.Project, key string) *model.Project {
	cp := *d
	cp.Key = key
	return &cp
}

func duplicateMessage(pk, owner string, lives []*model.LiveProject) string {
	return fmt.Sprintf("%d live projects carry the tags slsync-owner: %s and slsync-key: %s (ids %s), so slsync cannot tell which one the manifest means.",
		len(lives), owner, pk, ids(lives))
}

// checkDesiredAliases reports two desired projects asking for one alias.
func (c *computer) checkDesiredAliases() {
	seen := map[string]string{}
	for _, pk := range c.set.ProjectKeys() {
		d := c.set.Projects[pk]
		if d == nil || d.Alias == "" {
			continue
		}
		if other, ok := seen[d.Alias]; ok {
			c.problem(projectAddress(pk), fmt.Sprintf("projects %s and %s both ask for alias %q; aliases must be unique, change one of them.", other, pk, d.Alias), d.At)
			continue
		}
		seen[d.Alias] = pk
	}
}

// create plans a new project.
func (c *computer) create(d *model.Project) *Action {
	a := c.add(&Action{
		Address:    projectAddress(d.Key),
		Resource:   ResourceProject,
		Kind:       Create,
		ProjectKey: d.Key,
		Reason:     fmt.Sprintf("no live project carries slsync-owner: %s, slsync-key: %s", c.owner, d.Key),
		Changes:    createChanges(d),
		Project:    d,
		Observed:   Observed{ProjectType: d.Type},
	})
	c.projectAction[d.Key] = a
	return a
}

// delete plans the deletion of a managed project that left the manifests.
func (c *computer) delete(lp *model.LiveProject) {
	a := c.add(&Action{
		Address:    projectAddress(lp.Key),
		Resource:   ResourceProject,
		Kind:       Delete,
		ProjectKey: lp.Key,
		Reason: fmt.Sprintf("%s project %q (id %s) is managed by owner %s but key %s is no longer in the manifests; deleting it deletes its data and API keys",
			lp.Type, lp.Name, lp.ID, c.owner, lp.Key),
		Observed: observedProject(lp),
	})
	c.projectAction[lp.Key] = a
}

func observedProject(lp *model.LiveProject) Observed {
	return Observed{ProjectID: lp.ID, ProjectType: lp.Type, ETag: lp.ETag, Phase: lp.Phase}
}

// diffProject compares a desired project with its managed live match and
// plans an update or a replace (or nothing).
func (c *computer) diffProject(d *model.Project, lp *model.LiveProject) *Action {
	mutable, immutable := projectChanges(d, &lp.Project)
	if len(mutable) == 0 && len(immutable) == 0 {
		return nil
	}
	a := &Action{
		Address:    projectAddress(d.Key),
		Resource:   ResourceProject,
		ProjectKey: d.Key,
		Project:    d,
		Observed:   observedProject(lp),
	}
	if len(immutable) > 0 {
		a.Kind = Replace
		a.Changes = append(immutable, mutable...)
		a.Reason = fmt.Sprintf("%s cannot be changed in place: the project (id %s) is deleted and created anew, losing its data and API keys",
			joinPaths(immutable), lp.ID)
		switch {
		case d.Protect:
			a.Refused = fmt.Sprintf("project %s has protect: true, so slsync never replaces it; revert the change to %s in the manifest, or remove protect first if losing the project's data is intended",
				d.Key, joinPaths(immutable))
		case !c.opts.AllowReplace:
			a.Refused = "replacing a project deletes it with all its data; re-run with --allow-replace if that is intended, or revert the change to " + joinPaths(immutable)
		}
	} else {
		a.Kind = Update
		a.Changes = mutable
		a.Reason = fmt.Sprintf("the live project differs from the manifest in %s", joinPaths(mutable))
	}
	c.add(a)
	c.projectAction[d.Key] = a
	return a
}

// adoptMarkerLeft warns about an adopt marker on a project that is already
// managed: harmless (the marker only matters while there is no managed
// match), but worth knowing, and worth removing when it names another id.
// `slsync validate` cannot say this: it does not read the live state.
func (c *computer) adoptMarkerLeft(d *model.Project, lp *model.LiveProject) {
	switch {
	case d.Adopt == "":
	case d.Adopt == "true" || d.Adopt == lp.ID:
		c.warn(projectAddress(d.Key), fmt.Sprintf("project %s is already managed (id %s), so its adopt marker has no effect; it may stay, or be removed", d.Key, lp.ID), d.At)
	default:
		c.warn(projectAddress(d.Key), fmt.Sprintf("project %s says adopt: %s, but it is already managed as project id %s; the marker is ignored — remove it", d.Key, d.Adopt, lp.ID), d.At)
	}
}

// adopt finds the unmanaged live project a manifest's adopt: marker means and
// plans taking it over. It returns nil (after recording a Problem) when the
// marker matches no project or several.
func (c *computer) adopt(d *model.Project) (*Action, *model.LiveProject) {
	addr := projectAddress(d.Key)
	var cands []*model.LiveProject
	var foreign []*model.LiveProject // another owner's projects that would match
	byID := d.Adopt != "true"
	for _, lp := range c.live.Others {
		if lp == nil || gone(lp) {
			continue
		}
		if byID {
			if lp.ID == d.Adopt {
				cands = append(cands, lp)
			}
			continue
		}
		if lp.Type != d.Type || d.Alias == "" || lp.Alias != d.Alias {
			continue
		}
		if lp.Owner != "" && lp.Owner != c.owner {
			foreign = append(foreign, lp)
			continue
		}
		cands = append(cands, lp)
	}
	switch {
	case !byID && d.Alias == "":
		c.problem(addr, fmt.Sprintf("project %s has adopt: true, which finds the project to adopt by its alias, but it sets no alias; add the live project's alias, or write adopt: <project id>", d.Key), d.At)
		return nil, nil
	case byID && len(cands) == 0:
		msg := fmt.Sprintf("project %s says adopt: %s, but no live project outside this owner's management has that id", d.Key, d.Adopt)
		for _, lps := range c.managed {
			for _, lp := range lps {
				if lp.ID == d.Adopt {
					msg = fmt.Sprintf("project %s says adopt: %s, but that project is already managed as %s; remove the adopt marker or one of the two manifest entries", d.Key, d.Adopt, lp.Key)
				}
			}
		}
		c.problem(addr, msg+"; check the id with `slsync export`", d.At)
		return nil, nil
	case byID && cands[0].Type != d.Type:
		c.problem(addr, fmt.Sprintf("project %s says adopt: %s, but that is a %s project and the manifest says type: %s; fix the type in the manifest", d.Key, d.Adopt, cands[0].Type, d.Type), d.At)
		return nil, nil
	case len(cands) == 0 && len(foreign) > 0:
		c.problem(addr, fmt.Sprintf("the %s project with alias %q (id %s) is managed by slsync owner %q; slsync never adopts another owner's project implicitly — write adopt: <project id> to take it over deliberately",
			d.Type, d.Alias, ids(foreign), foreign[0].Owner), d.At)
		return nil, nil
	case len(cands) == 0:
		c.problem(addr, fmt.Sprintf("project %s has adopt: true but no unmanaged %s project has alias %q; fix the alias, write adopt: <project id>, or remove adopt to create a new project", d.Key, d.Type, d.Alias), d.At)
		return nil, nil
	case len(cands) > 1:
		c.problem(addr, fmt.Sprintf("project %s has adopt: true and %d unmanaged %s projects have alias %q (ids %s); write adopt: <project id> to pick one", d.Key, len(cands), d.Type, d.Alias, ids(cands)), d.At)
		return nil, nil
	}
	lp := cands[0]
	changes := []Change{
		{Path: "tags." + model.TagOwner, Before: nilIfEmpty(lp.Owner), After: c.owner},
		{Path: "tags." + model.TagKey, Before: nilIfEmpty(lp.Key), After: d.Key},
	}
	if lp.Owner == c.owner {
		changes = changes[1:]
	}
	mutable, immutable := projectChanges(d, &lp.Project)
	reason := fmt.Sprintf("%s project %q (id %s) is put under management by tagging it; nothing is recreated", lp.Type, lp.Name, lp.ID)
	if lp.Owner != "" && lp.Owner != c.owner {
		reason += fmt.Sprintf("; it is taken over from slsync owner %q", lp.Owner)
	}
	if len(mutable) > 0 {
		reason += "; the manifest also changes " + joinPaths(mutable)
	}
	a := c.add(&Action{
		Address:    addr,
		Resource:   ResourceProject,
		Kind:       Adopt,
		ProjectKey: d.Key,
		Reason:     reason,
		Changes:    append(append(changes, immutable...), mutable...),
		Project:    d,
		Observed:   observedProject(lp),
	})
	if len(immutable) > 0 {
		a.Refused = fmt.Sprintf("the manifest's %s differs from the live project's and cannot be changed in place; make the manifest match the live project to adopt it", joinPaths(immutable))
	}
	c.projectAction[d.Key] = a
	c.adoptee[d.Key] = lp
	return a, lp
}

func ids(lps []*model.LiveProject) string {
	s := make([]string, len(lps))
	for i, l := range lps {
		s[i] = l.ID
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// targetAlias returns the alias an action makes a project ask for, or "" when
// it does not set one.
func targetAlias(a *Action) string {
	if a.Project == nil || a.Project.Alias == "" {
		return ""
	}
	switch a.Kind {
	case Create, Replace:
		return a.Project.Alias
	case Update, Adopt:
		if a.Changed("alias") {
			return a.Project.Alias
		}
	}
	return ""
}

// checkAliasConflicts refuses creates and alias changes whose alias another
// project holds, and orders those that wait for one of our own projects to
// release it.
func (c *computer) checkAliasConflicts() {
	// Aliases of managed projects, by alias, and what happens to each.
	heldByManaged := map[string][]*model.LiveProject{}
	for _, lps := range c.managed {
		for _, lp := range lps {
			if lp.Alias != "" {
				heldByManaged[lp.Alias] = append(heldByManaged[lp.Alias], lp)
			}
		}
	}
	for _, a := range c.actions {
		if a.Resource != ResourceProject {
			continue
		}
		alias := targetAlias(a)
		if alias == "" {
			continue
		}
		d := a.Project
		for _, lp := range c.live.Others {
			if lp == nil || gone(lp) || lp.Alias != alias || lp == c.adoptee[a.ProjectKey] {
				continue
			}
			a.refuse(aliasConflictMessage(d, lp, c.owner))
		}
		for _, lp := range heldByManaged[alias] {
			if lp.Key == a.ProjectKey {
				continue // our own project keeps or re-creates its alias
			}
			holder := c.projectAction[lp.Key]
			switch {
			case holder != nil && holder.Refused == "" && (holder.Kind == Delete || holder.Kind == Replace || (holder.Kind == Update && holder.Changed("alias"))):
				// Wait until the holder releases the alias (a replace
				// deletes first, so a re-created holder keeps its own
				// alias only if it asks for it — then both conflict below).
				if targetAlias(holder) == alias {
					a.refuse(fmt.Sprintf("alias %q is also wanted by project %s; aliases must be unique", alias, lp.Key))
					continue
				}
				a.DependsOn = appendUnique(a.DependsOn, holder.Address)
			default:
				a.refuse(fmt.Sprintf("alias %q is held by project %s (id %s), which slsync manages and keeps; choose another alias", alias, lp.Key, lp.ID))
			}
		}
	}
}

func aliasConflictMessage(d *model.Project, lp *model.LiveProject, owner string) string {
	base := fmt.Sprintf("alias %q is already used by %s project %q (id %s)", lp.Alias, lp.Type, lp.Name, lp.ID)
	switch {
	case lp.Owner != "" && lp.Owner != owner:
		return base + fmt.Sprintf(", which slsync owner %q manages; choose another alias", lp.Owner)
	case lp.Type != d.Type:
		return base + fmt.Sprintf(", which slsync does not manage; it cannot be adopted as a %s project, so choose another alias or delete that project", d.Type)
	}
	return base + fmt.Sprintf(", which slsync does not manage; to manage that project instead of creating a new one, add `adopt: true` to project %s in the manifest (or run `slsync adopt %s` once), or choose another alias", d.Key, d.Key)
}

// checkRegions refuses creates into a region that does not exist or does
// not accept new projects, when the live state read the regions.
func (c *computer) checkRegions() {
	if c.live.Regions == nil {
		return
	}
	for _, a := range c.actions {
		if a.Resource != ResourceProject || (a.Kind != Create && a.Kind != Replace) || a.Project == nil || a.Project.RegionID == "" {
			continue
		}
		id := a.Project.RegionID
		r, ok := c.live.Regions[id]
		switch {
		case !ok:
			var enabled []string
			for _, k := range model.SortedKeys(c.live.Regions) {
				if c.live.Regions[k].ProjectCreationEnabled {
					enabled = append(enabled, k)
				}
			}
			a.refuse(fmt.Sprintf("region %q does not exist; regions that accept new projects: %s", id, strings.Join(enabled, ", ")))
		case !r.ProjectCreationEnabled:
			a.refuse(fmt.Sprintf("region %q does not accept new projects (project_creation_enabled: false); choose another region_id", id))
		}
	}
}

// refuse adds a reason for refusal (an action may have several).
func (a *Action) refuse(msg string) {
	if a.Refused == "" {
		a.Refused = msg
		return
	}
	if !strings.Contains(a.Refused, msg) {
		a.Refused += "; " + msg
	}
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// joinPaths lists the distinct top-level fields of changes: "name, tags".
func joinPaths(cs []Change) string {
	var out []string
	seen := map[string]bool{}
	for _, ch := range cs {
		top := ch.Path
		if i := strings.IndexByte(top, '.'); i >= 0 {
			top = top[:i]
		}
		if !seen[top] {
			seen[top] = true
			out = append(out, top)
		}
	}
	return strings.Join(out, ", ")
}

// projectChanges compares the fields the manifest specifies with the live
// values and splits the differences into those the API can patch and those
// that need a new project. Unspecified fields (nil, "") are not compared.
func projectChanges(d, l *model.Project) (mutable, immutable []Change) {
	str := func(path, want, have string, into *[]Change) {
		if want != "" && want != have {
			*into = append(*into, Change{Path: path, Before: nilIfEmpty(have), After: want})
		}
	}
	str("type", string(d.Type), string(l.Type), &immutable)
	if l.RegionID != "" {
		str("region_id", d.RegionID, l.RegionID, &immutable)
	}
	// optimized_for is only known for elasticsearch projects; an unknown live
	// value must not trigger a destructive replace.
	if l.OptimizedFor != "" {
		str("optimized_for", d.OptimizedFor, l.OptimizedFor, &immutable)
	}
	str("name", d.Name, l.Name, &mutable)
	str("alias", d.Alias, l.Alias, &mutable)
	if d.Tags != nil {
		mutable = append(mutable, tagChanges(d.Tags, l.Tags)...)
	}
	if d.SearchLake != nil {
		mutable = append(mutable, searchLakeChanges(d.SearchLake, l.SearchLake)...)
	}
	str("product_tier", d.ProductTier, l.ProductTier, &mutable)
	if d.ProductTypes != nil {
		want, have := sortedProductTypes(d.ProductTypes), sortedProductTypes(l.ProductTypes)
		if !reflect.DeepEqual(want, have) {
			var before any
			if l.ProductTypes != nil {
				before = have
			}
			mutable = append(mutable, Change{Path: "product_types", Before: before, After: want})
		}
	}
	str("admin_features_package", d.AdminFeaturesPackage, l.AdminFeaturesPackage, &mutable)
	return mutable, immutable
}

func tagChanges(want, have map[string]string) []Change {
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range have {
		keys[k] = true
	}
	var out []Change
	for _, k := range model.SortedKeys(keys) {
		if model.IsReservedTag(k) {
			continue // reserved; never part of the user's set
		}
		w, wok := want[k]
		h, hok := have[k]
		if wok == hok && w == h {
			continue
		}
		ch := Change{Path: "tags." + k}
		if hok {
			ch.Before = h
		}
		if wok {
			ch.After = w
		}
		out = append(out, ch)
	}
	return out
}

func searchLakeChanges(want, have *model.SearchLake) []Change {
	if have == nil {
		have = &model.SearchLake{}
	}
	var out []Change
	num := func(path string, w, h *int) {
		if w == nil || (h != nil && *h == *w) {
			return
		}
		ch := Change{Path: path, After: float64(*w)}
		if h != nil {
			ch.Before = float64(*h)
		}
		out = append(out, ch)
	}
	num("search_lake.search_power", want.SearchPower, have.SearchPower)
	num("search_lake.boost_window", want.BoostWindow, have.BoostWindow)
	if want.DataRetention != nil {
		hdr := have.DataRetention
		if hdr == nil {
			hdr = &model.DataRetention{}
		}
		num("search_lake.data_retention.max_retention_days", want.DataRetention.MaxRetentionDays, hdr.MaxRetentionDays)
		num("search_lake.data_retention.default_retention_days", want.DataRetention.DefaultRetentionDays, hdr.DefaultRetentionDays)
	}
	return out
}

// sortedProductTypes renders product_types as a sorted plain list: the API
// treats it as a set of product lines.
func sortedProductTypes(pts []model.ProductType) []any {
	cp := append([]model.ProductType(nil), pts...)
	sort.Slice(cp, func(i, j int) bool {
		if cp[i].ProductLine != cp[j].ProductLine {
			return cp[i].ProductLine < cp[j].ProductLine
		}
		return cp[i].ProductTier < cp[j].ProductTier
	})
	out := make([]any, len(cp))
	for i, pt := range cp {
		out[i] = map[string]any{"product_line": pt.ProductLine, "product_tier": pt.ProductTier}
	}
	return out
}

// createChanges lists every field a new project is created with.
func createChanges(d *model.Project) []Change {
	empty := &model.Project{}
	mutable, immutable := projectChanges(d, empty)
	// projectChanges skips region_id/optimized_for when the live value is
	// unknown; for a create every specified field is shown.
	out := append([]Change(nil), immutable...)
	if d.RegionID != "" {
		out = append(out, Change{Path: "region_id", After: d.RegionID})
	}
	if d.OptimizedFor != "" {
		out = append(out, Change{Path: "optimized_for", After: d.OptimizedFor})
	}
	out = append(out, mutable...)
	return out
}

// sortActions orders project actions before key actions, then by project
// key, key name and address, so that output is stable run to run.
func sortActions(as []*Action) {
	rank := func(r Resource) int {
		if r == ResourceProject {
			return 0
		}
		return 1
	}
	sort.SliceStable(as, func(i, j int) bool {
		a, b := as[i], as[j]
		if rank(a.Resource) != rank(b.Resource) {
			return rank(a.Resource) < rank(b.Resource)
		}
		if a.ProjectKey != b.ProjectKey {
			return a.ProjectKey < b.ProjectKey
		}
		if a.KeyName != b.KeyName {
			return a.KeyName < b.KeyName
		}
		return a.Address < b.Address
	})
}

// plainMap returns v as plain JSON values, with nil as an empty map (the API
// reports missing metadata as {}).
func plainMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out, _ := roledesc.Plain(m).(map[string]any)
	return out
}
