package plan

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/roledesc"
	"github.com/slsync/slsync/internal/timevalue"
)

// keyName is the Elasticsearch name a desired key gets.
func keyName(k *model.APIKey, manifestKey string) string {
	if k.Name != "" {
		return k.Name
	}
	return manifestKey
}

// diffKeys plans the API key actions of one desired project. lp is the live
// project whose keys are compared, nil when the project is (re)created and
// every key is new; dep is the address key creates must wait for.
func (c *computer) diffKeys(d *model.Project, lp *model.LiveProject, dep string) {
	pk := d.Key
	var obs Observed
	if lp != nil {
		obs = Observed{ProjectID: lp.ID, ProjectType: lp.Type, Phase: lp.Phase}
		if err := c.live.KeyErrors[pk]; err != nil {
			c.problem(projectAddress(pk), fmt.Sprintf("cannot read the API keys of project %s (id %s), so its keys are not planned: %v", pk, lp.ID, err), d.At)
			return
		}
	} else {
		obs = Observed{ProjectType: d.Type}
	}

	// Live managed keys by manifest key name; invalidated keys are ignored.
	live := map[string][]*model.LiveAPIKey{}
	if lp != nil {
		for _, k := range lp.Keys {
			if k == nil || k.Invalidated || k.Key == "" || (k.Owner != "" && k.Owner != c.owner) {
				continue
			}
			live[k.Key] = append(live[k.Key], k)
		}
	}
	for _, group := range live {
		sortNewestFirst(group)
	}
	claimed := map[string]bool{} // unmanaged keys an adopt or rotate already takes

	for _, name := range d.APIKeyNames() {
		want := d.APIKeys[name]
		if want == nil {
			continue
		}
		if want.Key == "" {
			cp := *want
			cp.Key = name
			want = &cp
		}
		group := live[name]
		if len(group) == 0 {
			if !c.adoptKey(d, want, lp, obs, dep, claimed) {
				c.createKey(d, want, obs, dep)
			}
			continue
		}
		keep := group[0]
		wantName := keyName(want, name)
		for _, k := range group {
			if !k.Expired(c.opts.Now) && k.Name == wantName {
				keep = k // the newest key that still matches
				break
			}
		}
		main := c.diffKey(d, want, keep, obs, lp.KeysPending)
		for _, k := range group {
			if k == keep {
				continue
			}
			a := c.invalidate(pk, name, k, obs, true)
			a.Reason = fmt.Sprintf("%d live keys carry slsync_key: %s (left by an interrupted apply?); %s is kept and this one is invalidated",
				len(group), name, keep.ID)
			if main != nil {
				// Consumers switch to the kept (or new) key first.
				a.DependsOn = appendUnique(a.DependsOn, main.Address)
			}
		}
	}
	for _, name := range model.SortedKeys(live) {
		if _, ok := d.APIKeys[name]; ok {
			continue
		}
		group := live[name]
		for _, k := range group {
			a := c.invalidate(pk, name, k, obs, len(group) > 1)
			a.Reason = fmt.Sprintf("the key is managed by owner %s but %s is no longer in project %s's api_keys", c.owner, name, pk)
		}
	}
}

// sortNewestFirst orders keys by creation time, newest first, then by id so
// that keys created in the same millisecond still sort stably.
func sortNewestFirst(ks []*model.LiveAPIKey) {
	sort.SliceStable(ks, func(i, j int) bool {
		if !ks[i].Creation.Equal(ks[j].Creation) {
			return ks[i].Creation.After(ks[j].Creation)
		}
		return ks[i].ID < ks[j].ID
	})
}

func (c *computer) createKey(d *model.Project, want *model.APIKey, obs Observed, dep string) {
	a := c.add(&Action{
		Address:    keyAddress(d.Key, want.Key),
		Resource:   ResourceAPIKey,
		Kind:       Create,
		ProjectKey: d.Key,
		KeyName:    want.Key,
		Reason:     fmt.Sprintf("no live key of project %s carries slsync_key: %s", d.Key, want.Key),
		Changes:    keyCreateChanges(want),
		Project:    d,
		Key:        want,
		Observed:   obs,
	})
	if dep != "" {
		switch pa := c.byAddr[dep]; {
		case pa != nil && pa.Kind == Replace:
			a.Reason = fmt.Sprintf("project %s is re-created, so its keys are created again", d.Key)
		case pa != nil && pa.Kind == Create:
			a.Reason = fmt.Sprintf("project %s is new, so is its key", d.Key)
		default:
			a.Reason += fmt.Sprintf("; created once %s is done", dep)
		}
		a.DependsOn = []string{dep}
	}
}

func (c *computer) invalidate(pk, name string, k *model.LiveAPIKey, obs Observed, withID bool) *Action {
	addr := keyAddress(pk, name)
	if withID {
		addr += "[" + k.ID + "]"
	}
	obs.KeyID, obs.KeyName, obs.ExpiresAt = k.ID, k.Name, k.ExpiresAt
	return c.add(&Action{
		Address:    addr,
		Resource:   ResourceAPIKey,
		Kind:       Invalidate,
		ProjectKey: pk,
		KeyName:    name,
		Observed:   obs,
	})
}

// diffKey compares one desired key with the live key kept for it and plans a
// rotation, an update or nothing. batchPending says the key's project
// carries the TagPending tag.
func (c *computer) diffKey(d *model.Project, want *model.APIKey, l *model.LiveAPIKey, obs Observed, batchPending bool) *Action {
	now := c.opts.Now
	var changes []Change
	var rotate []string

	wantName := keyName(want, want.Key)
	if l.Name != wantName {
		changes = append(changes, Change{Path: "name", Before: l.Name, After: wantName})
		rotate = append(rotate, "its name changes and Elasticsearch cannot rename a key")
	}
	if l.Pending {
		// apply creates every key with this marker and removes it once the
		// secret reached the sinks: a key that still carries it was made by
		// an apply that stopped in between, and nobody may hold its secret.
		// Only a new key, delivered before this one is invalidated, is
		// known to be in the sinks.
		rotate = append(rotate, "its secret is not known to have been delivered (metadata "+model.MetaPending+" is still set: an apply stopped between creating the key and delivering its secret)")
	}
	if batchPending {
		// apply creates the keys of a project it creates in the same run
		// under one project-level marker instead of one per key: while the
		// tag is there, no key of the project is known to be delivered.
		rotate = append(rotate, fmt.Sprintf("its secret is not known to have been delivered (project %s still carries the tag %s: the apply that created the project and its keys stopped before every key's secret was known to be delivered)",
			d.Key, model.TagPending))
	}
	if l.Expired(now) {
		rotate = append(rotate, "it expired at "+l.ExpiresAt.UTC().Format(time.RFC3339))
	} else if want.RotateBefore != "" && l.ExpiresAt != nil {
		if rb, err := timevalue.Parse(want.RotateBefore); err == nil && rb > 0 && l.ExpiresAt.Sub(now) <= rb {
			rotate = append(rotate, fmt.Sprintf("it expires at %s, within rotate_before %s", l.ExpiresAt.UTC().Format(time.RFC3339), want.RotateBefore))
		}
	}
	changes = append(changes, contentChanges(want, l)...)
	if ch, rot := expirationChange(want.Expiration, l); ch != nil {
		changes = append(changes, *ch)
		if rot != "" {
			rotate = append(rotate, rot)
		}
	}
	if len(changes) == 0 && len(rotate) == 0 {
		return nil
	}
	obs.KeyID, obs.KeyName, obs.ExpiresAt = l.ID, l.Name, l.ExpiresAt
	obs.KeyMetadata = plainMap(l.Metadata)
	a := &Action{
		Address:    keyAddress(d.Key, want.Key),
		Resource:   ResourceAPIKey,
		ProjectKey: d.Key,
		KeyName:    want.Key,
		Changes:    changes,
		Project:    d,
		Key:        want,
		Observed:   obs,
	}
	if len(rotate) > 0 {
		a.Kind = Rotate
		a.Reason = fmt.Sprintf("a new key replaces %s because %s; the old key is invalidated once the new one is delivered", l.ID, strings.Join(rotate, " and "))
	} else {
		a.Kind = Update
		a.Reason = fmt.Sprintf("the live key %s differs from the manifest in %s", l.ID, joinPaths(changes))
		if a.Changed("expiration") {
			a.Reason += "; an update that sets expiration restarts the clock from the time of apply"
		}
	}
	return c.add(a)
}

// contentChanges compares what an update can change in place on a live key:
// role_descriptors (in their normal form, with a line diff) and the user's
// metadata, each only when the manifest specifies it.
func contentChanges(want *model.APIKey, l *model.LiveAPIKey) []Change {
	var out []Change
	if want.RoleDescriptors != nil && !roledesc.Equal(want.RoleDescriptors, l.RoleDescriptors) {
		before, after := roledesc.Canonical(l.RoleDescriptors), roledesc.Canonical(want.RoleDescriptors)
		out = append(out, Change{
			Path:   "role_descriptors",
			Before: before,
			After:  after,
			Diff:   unifiedDiff("live", "manifest", roledesc.JSON(before), roledesc.JSON(after)),
		})
	}
	if want.Metadata != nil {
		w, h := plainMap(want.Metadata), plainMap(l.Metadata)
		if !roledesc.PlainEqual(w, h) {
			out = append(out, Change{Path: "metadata", Before: h, After: w})
		}
	}
	return out
}

// expirationChange compares the duration the manifest asks for with the
// duration slsync recorded when it last set the key's expiry
// (metadata.slsync_expiration). Durations are compared, never instants:
// Elasticsearch stores now+duration, which would otherwise differ on every
// plan. A non-empty second result means the change needs a rotation.
func expirationChange(want string, l *model.LiveAPIKey) (*Change, string) {
	have := l.Expiration
	if want == "" {
		if have == "" && l.ExpiresAt == nil {
			return nil, ""
		}
		return &Change{Path: "expiration", Before: nilIfEmpty(have), After: nil},
			"the manifest removes its expiration and Elasticsearch cannot remove an expiry in place"
	}
	wd, werr := timevalue.Parse(want)
	if have != "" {
		if hd, herr := timevalue.Parse(have); werr == nil && herr == nil && hd == wd {
			return nil, ""
		}
	}
	return &Change{Path: "expiration", Before: nilIfEmpty(have), After: want}, ""
}

// keyCreateChanges lists every field a new key is created with.
func keyCreateChanges(k *model.APIKey) []Change {
	out := []Change{{Path: "name", After: keyName(k, k.Key)}}
	if k.Expiration != "" {
		out = append(out, Change{Path: "expiration", After: k.Expiration})
	}
	if k.RoleDescriptors != nil {
		after := roledesc.Canonical(k.RoleDescriptors)
		out = append(out, Change{
			Path:  "role_descriptors",
			After: after,
			Diff:  unifiedDiff("live", "manifest", "", roledesc.JSON(after)),
		})
	}
	if k.Metadata != nil {
		out = append(out, Change{Path: "metadata", After: plainMap(k.Metadata)})
	}
	return out
}

// clearKeysPending plans removing the TagPending tag from a managed project
// that still carries it (left by an apply that created the project and its
// keys and stopped before every key's secret was known to be delivered).
// diffKeys has planned a rotation of every managed key of the project (and
// the invalidation of those no longer wanted); the tag goes only after all
// of them succeeded, so that a failed rotation leaves it for the next plan.
// It joins the project's update when there is one (one address, one PATCH).
func (c *computer) clearKeysPending(d *model.Project, lp *model.LiveProject) {
	if c.live.KeyErrors[d.Key] != nil {
		return // the keys could not be read: a Problem says so, nothing is rotated
	}
	if lp.KeysUsername == "" {
		// Not read (no credentials, and the manifest declares no keys):
		// keys whose secret may be lost could be live, so the tag stays.
		c.warn(projectAddress(d.Key), fmt.Sprintf("project %s (id %s) carries the tag %s (an apply stopped before every key's secret was known to be delivered), but its keys were not read for lack of credentials, so the tag stays; store them with `slsync credentials set %s` and plan again to rotate its keys",
			d.Key, lp.ID, model.TagPending, d.Key), d.At)
		return
	}
	var deps []string
	for _, a := range c.actions {
		if a.Resource == ResourceAPIKey && a.ProjectKey == d.Key && a.Observed.KeyID != "" {
			deps = append(deps, a.Address)
		}
	}
	why := fmt.Sprintf("tag %s is removed once every managed key of the project has a new, delivered secret (%d rotated or invalidated first)", model.TagPending, len(deps))
	if len(deps) == 0 {
		why = fmt.Sprintf("tag %s is removed: the project has no live managed key whose secret could be lost", model.TagPending)
	}
	ch := Change{Path: "tags." + model.TagPending, Before: model.TagPendingKeys, After: nil}
	a := c.projectAction[d.Key]
	switch {
	case a == nil:
		a = c.add(&Action{
			Address:    projectAddress(d.Key),
			Resource:   ResourceProject,
			Kind:       Update,
			ProjectKey: d.Key,
			Reason:     fmt.Sprintf("an apply created project %s with its API keys and stopped before recording that every key's secret was delivered; ", d.Key) + why,
			Project:    d,
			Observed:   observedProject(lp),
		})
		c.projectAction[d.Key] = a
	case a.Kind == Update:
		a.Reason += "; " + why
	default:
		return // a (refused) replace: the plan does not run
	}
	a.Changes = append(a.Changes, ch)
	for _, dep := range deps {
		a.DependsOn = appendUnique(a.DependsOn, dep)
	}
}
