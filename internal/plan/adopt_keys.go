package plan

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/model"
	"github.com/slsync/slsync/internal/timevalue"
)

// adoptKey plans what happens to a desired key that no managed live key
// matches when the project has unmanaged keys of the same Elasticsearch name
// (read by internal/state for exactly this). It reports whether it planned
// something (or recorded a problem) — false means "create a new key".
//
// Elasticsearch lets only a key's owner update it, and adoption is an update
// (it writes the ownership metadata), so:
//   - one such key owned by the user slsync manages keys as: an adopt action
//     that adds metadata slsync_owner/slsync_key/slsync_expiration, plus
//     whatever role_descriptors, metadata or expiration changes the manifest
//     asks for, on the same action; nothing is recreated and the id stays;
//     an expiry the manifest removes cannot be removed in place, so that
//     key is rotated instead;
//   - several such keys: a located problem (slsync cannot tell which one);
//   - only keys owned by someone else (another user, or an API key — derived
//     keys belong to their creator): a rotation — a new key owned by slsync's
//     user replaces the newest of them, which is invalidated once the new one
//     is delivered (invalidating is allowed to a user with manage_api_key,
//     as a project's admin is; updating is not).
//
// Expired keys are never candidates (they can be neither updated nor used).
func (c *computer) adoptKey(d *model.Project, want *model.APIKey, lp *model.LiveProject, obs Observed, dep string, claimed map[string]bool) bool {
	if lp == nil || len(lp.UnmanagedKeys) == 0 {
		return false
	}
	name := keyName(want, want.Key)
	var own, foreign []*model.LiveAPIKey
	for _, k := range lp.UnmanagedKeys {
		if k == nil || k.Invalidated || k.Owner != "" || k.Name != name || k.Expired(c.opts.Now) || claimed[k.ID] {
			continue
		}
		if k.OwnedBy(lp.KeysUsername) {
			own = append(own, k)
		} else {
			foreign = append(foreign, k)
		}
	}
	sortNewestFirst(own)
	sortNewestFirst(foreign)
	addr := keyAddress(d.Key, want.Key)
	switch {
	case len(own) > 1:
		ids := make([]string, len(own))
		for i, k := range own {
			ids[i] = k.ID
		}
		sort.Strings(ids)
		c.problem(addr, fmt.Sprintf("%d unmanaged keys of project %s are named %q and owned by %s (ids %s), so slsync cannot tell which one to adopt; invalidate the extra ones, or give the manifest key another name to create a new key",
			len(own), d.Key, name, lp.KeysUsername, strings.Join(ids, ", ")), want.At)
		return true
	case len(own) == 1:
		claimed[own[0].ID] = true
		c.add(c.keyAdoptAction(d, want, own[0], obs, dep))
		return true
	case len(foreign) > 0:
		old := foreign[0]
		claimed[old.ID] = true
		c.add(c.foreignKeyRotation(d, want, old, lp.KeysUsername, len(foreign)-1, obs, dep))
		return true
	}
	return false
}

// keyAdoptAction plans adopting an unmanaged key slsync's user owns.
func (c *computer) keyAdoptAction(d *model.Project, want *model.APIKey, l *model.LiveAPIKey, obs Observed, dep string) *Action {
	obs.KeyID, obs.KeyName, obs.ExpiresAt = l.ID, l.Name, l.ExpiresAt
	obs.KeyMetadata = plainMap(l.Metadata)
	changes := []Change{
		{Path: "metadata." + model.MetaOwner, After: c.owner},
		{Path: "metadata." + model.MetaKey, After: want.Key},
	}
	if want.Expiration != "" {
		changes = append(changes, Change{Path: "metadata." + model.MetaExpiration, After: want.Expiration})
	}
	updates := contentChanges(want, l)
	ch, rotate := adoptExpirationChange(want.Expiration, l, c.opts.Now)
	if ch != nil {
		updates = append(updates, *ch)
	}
	a := &Action{
		Address:    keyAddress(d.Key, want.Key),
		Resource:   ResourceAPIKey,
		Kind:       Adopt,
		ProjectKey: d.Key,
		KeyName:    want.Key,
		Changes:    append(changes, updates...),
		Project:    d,
		Key:        want,
		Observed:   obs,
	}
	if dep != "" {
		a.DependsOn = []string{dep}
	}
	if rotate != "" {
		a.Kind = Rotate
		a.Changes = updates
		a.Reason = fmt.Sprintf("the unmanaged key %q (id %s) cannot be adopted because %s; a new key replaces it and the old key is invalidated once the new one is delivered", l.Name, l.ID, rotate)
		return a
	}
	a.Reason = fmt.Sprintf("the unmanaged key %q (id %s) is put under management by adding slsync's metadata; the key and its secret stay the same", l.Name, l.ID)
	if len(updates) > 0 {
		a.Reason += "; the manifest also changes " + joinPaths(updates)
		if a.Changed("expiration") {
			a.Reason += " (setting expiration restarts the clock from the time of apply)"
		}
	}
	return a
}

// foreignKeyRotation plans replacing a key slsync's user does not own.
func (c *computer) foreignKeyRotation(d *model.Project, want *model.APIKey, old *model.LiveAPIKey, user string, more int, obs Observed, dep string) *Action {
	obs.KeyID, obs.KeyName, obs.ExpiresAt = old.ID, old.Name, old.ExpiresAt
	obs.KeyMetadata = plainMap(old.Metadata)
	by := fmt.Sprintf("user %s", old.Username)
	if old.Realm == model.APIKeyRealm {
		by = fmt.Sprintf("an API key of user %s", old.Username)
	}
	reason := fmt.Sprintf("the unmanaged key %q (id %s) was created by %s, and Elasticsearch lets only a key's owner update it, so slsync (as %s) cannot adopt it; "+
		"a new key owned by %s replaces it and the old key is invalidated once the new one is delivered — its users must switch to the new secret; to keep the old key instead, give the manifest key another name",
		old.Name, old.ID, by, user, user)
	if more > 0 {
		reason += fmt.Sprintf(" (%d more key(s) of that name are left alone)", more)
	}
	a := &Action{
		Address:    keyAddress(d.Key, want.Key),
		Resource:   ResourceAPIKey,
		Kind:       Rotate,
		ProjectKey: d.Key,
		KeyName:    want.Key,
		Reason:     reason,
		Changes:    keyCreateChanges(want),
		Project:    d,
		Key:        want,
		Observed:   obs,
	}
	if dep != "" {
		a.DependsOn = []string{dep}
	}
	return a
}

// adoptExpirationChange compares the manifest's expiration with an
// unmanaged key's expiry instant. slsync never set that instant, so there is
// no recorded duration to compare: the manifest matches when the key expires
// within one day before now+expiration (what `slsync export` writes — the
// remaining lifetime rounded up to whole days — matches for a day). A
// non-empty second result means the change needs a rotation.
func adoptExpirationChange(want string, l *model.LiveAPIKey, now time.Time) (*Change, string) {
	var before any
	if l.ExpiresAt != nil {
		before = "expires " + l.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if want == "" {
		if l.ExpiresAt == nil {
			return nil, ""
		}
		return &Change{Path: "expiration", Before: before, After: nil},
			"the manifest sets no expiration and Elasticsearch cannot remove an expiry in place"
	}
	if l.ExpiresAt != nil {
		wd, err := timevalue.Parse(want)
		remaining := l.ExpiresAt.Sub(now)
		if err == nil && wd >= remaining && wd-remaining < 24*time.Hour {
			return nil, ""
		}
	}
	return &Change{Path: "expiration", Before: before, After: want}, ""
}
