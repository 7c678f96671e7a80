package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/slsync/slsync/internal/timevalue"
)

// retentionMs is how long invalidated and expired keys stay visible before
// Elasticsearch's remover deletes them (xpack.security.authc.api_key.delete.
// retention_period, default 7d). The emulator hides them lazily.
const retentionMs = int64(7 * 24 * time.Hour / time.Millisecond)

// apiKey is one Elasticsearch API key, as persisted.
type apiKey struct {
	ID              string                     `json:"id"`
	Name            string                     `json:"name"`
	Seq             int64                      `json:"seq"`
	Creation        int64                      `json:"creation"`
	Expiration      *int64                     `json:"expiration,omitempty"`
	Invalidated     bool                       `json:"invalidated"`
	Invalidation    *int64                     `json:"invalidation,omitempty"`
	Username        string                     `json:"username"`
	Realm           string                     `json:"realm"`
	RealmType       string                     `json:"realm_type"`
	Metadata        map[string]any             `json:"metadata"`
	RoleDescriptors map[string]*roleDescriptor `json:"role_descriptors"`
	LimitedBy       map[string]*roleDescriptor `json:"limited_by"`
	SecretHash      string                     `json:"secret_hash"`

	// flat holds metadata flattened to "a.b" -> keyword values, the way
	// Elasticsearch indexes it for the query API; rebuilt on every change.
	flat map[string][]string
}

func (k *apiKey) expired(nowMs int64) bool {
	return k.Expiration != nil && *k.Expiration < nowMs
}

// retained reports whether the key is still stored: invalidated and expired
// keys are removed after the retention period.
func retained(k *apiKey, nowMs int64) bool {
	if k.Invalidated && k.Invalidation != nil && *k.Invalidation <= nowMs-retentionMs {
		return false
	}
	if k.Expiration != nil && *k.Expiration <= nowMs-retentionMs {
		return false
	}
	return true
}

// index rebuilds the flattened metadata used by queries.
func (k *apiKey) index() {
	k.flat = map[string][]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for kk, vv := range t {
				p := kk
				if prefix != "" {
					p = prefix + "." + kk
				}
				walk(p, vv)
			}
		case []any:
			for _, el := range t {
				walk(prefix, el)
			}
		case nil:
		default:
			k.flat[prefix] = append(k.flat[prefix], keywordOf(t))
		}
	}
	walk("", k.Metadata)
}

// keywordOf renders a scalar as the keyword Elasticsearch's flattened field
// indexes for it.
func keywordOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "true"
		}
		return "false"
	case float64:
		return fmt.Sprint(t)
	}
	return fmt.Sprint(v)
}

// apiKeyView is an ApiKey object with its fields in Elasticsearch's order.
type apiKeyView struct {
	ID              string                       `json:"id"`
	Name            string                       `json:"name"`
	Type            string                       `json:"type"`
	Creation        int64                        `json:"creation"`
	Expiration      *int64                       `json:"expiration,omitempty"`
	Invalidated     bool                         `json:"invalidated"`
	Invalidation    *int64                       `json:"invalidation,omitempty"`
	Username        string                       `json:"username"`
	Realm           string                       `json:"realm"`
	RealmType       string                       `json:"realm_type,omitempty"`
	Metadata        map[string]any               `json:"metadata"`
	RoleDescriptors map[string]*roleDescriptor   `json:"role_descriptors"`
	LimitedBy       []map[string]*roleDescriptor `json:"limited_by,omitempty"`
	Sort            []any                        `json:"_sort,omitempty"`
}

func (k *apiKey) view(withLimitedBy bool) apiKeyView {
	v := apiKeyView{ID: k.ID, Name: k.Name, Type: "rest", Creation: k.Creation, Invalidated: k.Invalidated,
		Username: k.Username, Realm: k.Realm, RealmType: k.RealmType, Metadata: k.Metadata, RoleDescriptors: k.RoleDescriptors}
	if k.Expiration != nil {
		e := *k.Expiration
		v.Expiration = &e
	}
	if k.Invalidation != nil {
		i := *k.Invalidation
		v.Invalidation = &i
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	if v.RoleDescriptors == nil {
		v.RoleDescriptors = map[string]*roleDescriptor{}
	}
	if withLimitedBy {
		v.LimitedBy = []map[string]*roleDescriptor{k.LimitedBy}
	}
	return v
}

// newKeyID returns a 20-character URL-safe id like Elasticsearch's
// time-based base64 UUIDs; seeded for reproducibility.
func (s *Server) newKeyID(p *project) string {
	for {
		var b [15]byte
		for i := range b {
			b[i] = byte(s.ids.UintN(256))
		}
		id := base64.RawURLEncoding.EncodeToString(b[:])
		if _, taken := p.keyByID[id]; !taken {
			return id
		}
	}
}

// newKeySecret returns the 22-character URL-safe secret, always from
// crypto/rand.
func newKeySecret() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("emulator: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// parseKeyMetadata reads a key's metadata object; keys starting with "_"
// are validation messages, as Elasticsearch reserves them.
func parseKeyMetadata(f esField, parser string) (map[string]any, []string, *esErr) {
	obj, ok := rawObject(f.raw)
	if !ok {
		return nil, nil, f.wrongType(parser)
	}
	md := map[string]any{}
	var msgs []string
	for _, k := range sortedKeys(obj) {
		if strings.HasPrefix(k, "_") {
			msgs = append(msgs, "API key metadata keys may not start with [_]")
		}
		v, err := decodeAny(obj[k])
		if err != nil {
			return nil, nil, f.wrongType(parser)
		}
		md[k] = v
	}
	return md, msgs, nil
}

// parseExpiration reads an `expiration` value. Choice: a bad value is a 400
// x_content_parse_exception caused by the illegal_argument_exception whose
// text Elasticsearch uses for TimeValue parsing.
func parseExpiration(f esField, parser string) (time.Duration, *esErr) {
	s, ok := rawString(f.raw)
	if !ok {
		return 0, f.wrongType(parser)
	}
	d, err := timevalue.Parse(s)
	if err != nil {
		e := esBadRequest("x_content_parse_exception", fmt.Sprintf("[%d:%d] [%s] failed to parse field [expiration]", f.line, f.col, parser))
		e.causedBy = esBadRequest("illegal_argument_exception", err.Error())
		return 0, e
	}
	return d, nil
}

// expiresAt is Elasticsearch's rule: now plus the whole seconds of the
// duration (the sub-second part is dropped).
func expiresAt(nowMs int64, d time.Duration) int64 {
	return nowMs + int64(d/time.Second)*1000
}

// --- create --------------------------------------------------------------------

func (s *Server) esCreateKey(w http.ResponseWriter, r *http.Request) {
	const parser = "api_key_request"
	s.esRoute(w, r, []string{"refresh"}, func(c *esCall) esResult {
		if e := checkRefresh(c.r); e != nil {
			return esFail(e)
		}
		fields, e := c.fields(parser, true)
		if e != nil {
			return esFail(e)
		}
		var name *string
		var u keyUpdate
		var msgs []string
		for _, f := range fields {
			if f.name == "name" {
				s, ok := rawString(f.raw)
				if !ok {
					return esFail(f.wrongType(parser))
				}
				name = &s
				continue
			}
			m, e := u.parseField(f, parser)
			if e != nil {
				return esFail(e)
			}
			msgs = append(msgs, m...)
		}
		msgs = append(nameProblems(name), msgs...)
		if len(msgs) > 0 {
			return esFail(validationErr(msgs))
		}
		if c.who.grant(actCreate) == grantNone {
			return esFail(c.who.forbidden(actCreate))
		}
		rds, metadata := u.rds, u.metadata
		// Derived-key rule: an API key may only create keys with explicit,
		// empty role descriptors.
		if c.who.key != nil {
			ok := len(rds) > 0
			for _, rd := range rds {
				if !rd.isEmpty() {
					ok = false
				}
			}
			if !ok {
				return esFail(esBadRequest("illegal_argument_exception",
					"creating derived api keys requires an explicit role descriptor that is empty (has no privileges)"))
			}
		}
		if e := checkRestrictions(rds); e != nil {
			return esFail(e)
		}
		if rds == nil {
			rds = map[string]*roleDescriptor{}
		}
		if metadata == nil {
			metadata = map[string]any{}
		}
		p := c.p
		secret := newKeySecret()
		p.KeySeq++
		k := &apiKey{
			ID: s.newKeyID(p), Name: *name, Seq: p.KeySeq, Creation: c.nowMs,
			Username: c.who.username, Realm: c.who.realm, RealmType: c.who.realmType,
			Metadata: metadata, RoleDescriptors: rds, LimitedBy: c.who.roleDescriptors,
			SecretHash: hashSecret(secret),
		}
		if u.expiration != nil {
			e := expiresAt(c.nowMs, *u.expiration)
			k.Expiration = &e
		}
		k.index()
		s.purgeLocked(p, c.nowMs)
		p.Keys = append(p.Keys, k)
		p.keyByID[k.ID] = k
		s.dirty = true
		resp := struct {
			ID         string `json:"id"`
			Name       string `json:"name"`
			Expiration *int64 `json:"expiration,omitempty"`
			APIKey     string `json:"api_key"`
			Encoded    string `json:"encoded"`
		}{k.ID, k.Name, k.Expiration, secret, base64.StdEncoding.EncodeToString([]byte(k.ID + ":" + secret))}
		return esOK(resp)
	})
}

func nameProblems(name *string) []string {
	switch {
	case name == nil || *name == "":
		return []string{"api key name is required"}
	case len(*name) > 256:
		return []string{"api key name may not be more than 256 characters long"}
	case strings.TrimSpace(*name) != *name:
		return []string{"api key name may not begin or end with whitespace"}
	case strings.HasPrefix(*name, "_"):
		return []string{"api key name may not begin with an underscore"}
	}
	return nil
}

func checkRefresh(r *http.Request) *esErr {
	if !r.URL.Query().Has("refresh") {
		return nil
	}
	switch r.URL.Query().Get("refresh") {
	case "", "true", "false", "wait_for":
		return nil
	}
	return esBadRequest("illegal_argument_exception", fmt.Sprintf("Unknown value for refresh: [%s].", r.URL.Query().Get("refresh")))
}

// purgeLocked physically removes keys past their retention, so a long-lived
// data file does not grow without bound.
func (s *Server) purgeLocked(p *project, nowMs int64) {
	kept := p.Keys[:0]
	for _, k := range p.Keys {
		if retained(k, nowMs) {
			kept = append(kept, k)
		} else {
			delete(p.keyByID, k.ID)
		}
	}
	for i := len(kept); i < len(p.Keys); i++ {
		p.Keys[i] = nil
	}
	p.Keys = kept
}

// --- get -----------------------------------------------------------------------

// esBool parses a boolean query parameter the way Elasticsearch does: a
// bare flag means true.
func esBool(r *http.Request, name string) (bool, *esErr) {
	q := r.URL.Query()
	if !q.Has(name) {
		return false, nil
	}
	switch v := q.Get(name); v {
	case "", "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, esBadRequest("illegal_argument_exception",
			fmt.Sprintf("Failed to parse value [%s] as only [true] or [false] are allowed.", v))
	}
}

// nameMatches applies the name filter of get and invalidate: exact, a
// trailing * for a prefix, or * for all.
func nameMatches(pattern, name string) bool {
	if pattern == "*" {
		return true
	}
	if strings.HasSuffix(pattern, "*") {
		return strings.HasPrefix(name, strings.TrimSuffix(pattern, "*"))
	}
	return pattern == name
}

func (s *Server) esGetKeys(w http.ResponseWriter, r *http.Request) {
	params := []string{"id", "name", "owner", "realm_name", "username", "with_limited_by", "active_only", "with_profile_uid"}
	s.esRoute(w, r, params, func(c *esCall) esResult {
		q := c.r.URL.Query()
		id, name := strings.TrimSpace(q.Get("id")), strings.TrimSpace(q.Get("name"))
		username, realm := strings.TrimSpace(q.Get("username")), strings.TrimSpace(q.Get("realm_name"))
		var flags [4]bool
		for i, f := range []string{"owner", "with_limited_by", "active_only", "with_profile_uid"} {
			v, e := esBool(c.r, f)
			if e != nil {
				return esFail(e)
			}
			flags[i] = v
		}
		owner, withLimitedBy, activeOnly := flags[0], flags[1], flags[2]
		var msgs []string
		if (id != "" || name != "") && (username != "" || realm != "") {
			msgs = append(msgs, "username or realm name must not be specified when the api key id or api key name is specified")
		}
		if owner && (username != "" || realm != "") {
			msgs = append(msgs, "neither username nor realm-name may be specified when retrieving owned API keys")
		}
		if id != "" && name != "" {
			msgs = append(msgs, "only one of [api key id, api key name] can be specified")
		}
		if len(msgs) > 0 {
			return esFail(validationErr(msgs))
		}
		who := c.who
		switch g := who.grant(actGet); {
		case g == grantAll:
			if who.key != nil && withLimitedBy && who.grant(actInvalidate) != grantAll {
				return esFail(who.forbidden(actGet))
			}
		case who.key != nil && id == who.key.ID && !withLimitedBy:
			// An API key may always read itself.
		case who.key == nil && g == grantOwn && (owner || (username == who.username && realm == who.realm)):
		default:
			return esFail(who.forbidden(actGet))
		}
		out := []apiKeyView{}
		for _, k := range c.p.Keys {
			if !retained(k, c.nowMs) ||
				(id != "" && k.ID != id) || (name != "" && !nameMatches(name, k.Name)) ||
				(owner && !who.owns(k)) || (username != "" && k.Username != username) || (realm != "" && k.Realm != realm) ||
				(activeOnly && (k.Invalidated || k.expired(c.nowMs))) {
				continue
			}
			out = append(out, k.view(withLimitedBy))
		}
		if id != "" && len(out) == 0 {
			// Elasticsearch's quirk: an id that matches nothing is a 404
			// whose body is the ordinary, empty response.
			return esResult{status: http.StatusNotFound, body: map[string]any{"api_keys": out}}
		}
		return esOK(map[string]any{"api_keys": out})
	})
}

// --- update ----------------------------------------------------------------------

// keyUpdate is the parsed body of an update or bulk update, and the part of
// a create's body other than the name.
type keyUpdate struct {
	rds        map[string]*roleDescriptor // nil: not sent
	metadata   map[string]any             // nil: not sent
	expiration *time.Duration
}

// parseField reads into u one of the members create and update share:
// role_descriptors, metadata or expiration (null: not sent). It returns the
// validation messages the member gives, or the error that ends the request
// (any other member is an unknown field).
func (u *keyUpdate) parseField(f esField, parser string) (msgs []string, e *esErr) {
	switch f.name {
	case "role_descriptors", "metadata", "expiration":
		if isNull(f.raw) {
			return nil, nil
		}
	default:
		return nil, f.unknown(parser)
	}
	switch f.name {
	case "role_descriptors":
		u.rds, msgs, e = parseRoleDescriptors(f.raw)
	case "metadata":
		u.metadata, msgs, e = parseKeyMetadata(f, parser)
	default:
		var d time.Duration
		d, e = parseExpiration(f, parser)
		u.expiration = &d
	}
	return msgs, e
}

func parseKeyUpdate(fields []esField, parser string, skip string) (keyUpdate, *esErr) {
	var u keyUpdate
	var msgs []string
	for _, f := range fields {
		if f.name == skip {
			continue
		}
		m, e := u.parseField(f, parser)
		if e != nil {
			return u, e
		}
		msgs = append(msgs, m...)
		if f.name == "expiration" && u.expiration != nil && *u.expiration <= 0 {
			msgs = append(msgs, "API key expiration must be in the future")
		}
	}
	if len(msgs) > 0 {
		return u, validationErr(msgs)
	}
	if u.rds != nil {
		if e := checkRestrictions(u.rds); e != nil {
			return u, e
		}
	}
	return u, nil
}

// applyUpdate updates one key for the caller: (updated, nil), (false, nil)
// for a noop, or the per-key error.
func (s *Server) applyUpdate(c *esCall, id string, u keyUpdate) (bool, *esErr) {
	k, ok := c.p.keyByID[id]
	if !ok || !retained(k, c.nowMs) || !c.who.owns(k) {
		return false, newESErr(http.StatusNotFound, "resource_not_found_exception",
			fmt.Sprintf("no API key owned by requesting user found for ID [%s]", id))
	}
	if k.Invalidated {
		return false, esBadRequest("illegal_argument_exception", fmt.Sprintf("cannot update invalidated API key [%s]", id))
	}
	if k.expired(c.nowMs) {
		return false, esBadRequest("illegal_argument_exception", fmt.Sprintf("cannot update expired API key [%s]", id))
	}
	// Noop: no expiration, metadata and descriptors omitted or equal, owner
	// roles (limited_by) unchanged.
	if u.expiration == nil &&
		(u.metadata == nil || reflect.DeepEqual(u.metadata, k.Metadata)) &&
		(u.rds == nil || reflect.DeepEqual(u.rds, k.RoleDescriptors)) &&
		reflect.DeepEqual(c.who.roleDescriptors, k.LimitedBy) {
		return false, nil
	}
	nk := *k // replace, never mutate: views may share the old maps
	if u.metadata != nil {
		nk.Metadata = u.metadata
	}
	if u.rds != nil {
		nk.RoleDescriptors = u.rds
	}
	if u.expiration != nil {
		e := expiresAt(c.nowMs, *u.expiration)
		nk.Expiration = &e
	}
	nk.LimitedBy = c.who.roleDescriptors
	nk.index()
	s.replaceKey(c.p, &nk)
	return true, nil
}

func (s *Server) replaceKey(p *project, nk *apiKey) {
	for i, k := range p.Keys {
		if k.ID == nk.ID {
			p.Keys[i] = nk
			break
		}
	}
	p.keyByID[nk.ID] = nk
	s.dirty = true
}

// updateAllowed applies the authorization rules shared by update and bulk
// update: a privilege is needed, and API-key callers are refused.
func updateAllowed(c *esCall, action string) *esErr {
	if c.who.grant(action) == grantNone {
		return c.who.forbidden(action)
	}
	if c.who.key != nil {
		return esBadRequest("illegal_argument_exception", "authentication via API key not supported: only the owner user can update an API key")
	}
	return nil
}

func (s *Server) esUpdateKey(w http.ResponseWriter, r *http.Request) {
	const parser = "update_api_key_request_payload"
	s.esRoute(w, r, nil, func(c *esCall) esResult {
		fields, e := c.fields(parser, false)
		if e != nil {
			return esFail(e)
		}
		u, e := parseKeyUpdate(fields, parser, "")
		if e != nil {
			return esFail(e)
		}
		if e := updateAllowed(c, actUpdate); e != nil {
			return esFail(e)
		}
		updated, e := s.applyUpdate(c, c.r.PathValue("keyid"), u)
		if e != nil {
			return esFail(e)
		}
		return esOK(map[string]bool{"updated": updated})
	})
}

func (s *Server) esBulkUpdate(w http.ResponseWriter, r *http.Request) {
	const parser = "bulk_update_api_key_request"
	s.esRoute(w, r, nil, func(c *esCall) esResult {
		fields, e := c.fields(parser, true)
		if e != nil {
			return esFail(e)
		}
		var ids []string
		var haveIDs bool
		for _, f := range fields {
			if f.name != "ids" {
				continue
			}
			haveIDs = true
			if ids, e = keyIDs(f, parser); e != nil {
				return esFail(e)
			}
		}
		if !haveIDs {
			return esFail(esBadRequest("x_content_parse_exception", fmt.Sprintf("[1:2] [%s] Required [ids]", parser)))
		}
		u, e := parseKeyUpdate(fields, parser, "ids")
		if e != nil {
			return esFail(e)
		}
		if len(ids) == 0 {
			return esFail(validationErr([]string{"Field [ids] cannot be empty"}))
		}
		if e := updateAllowed(c, actBulkUpdate); e != nil {
			return esFail(e)
		}
		updated, noops := []string{}, []string{}
		details := map[string]json.RawMessage{}
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			ok, e := s.applyUpdate(c, id, u)
			switch {
			case e != nil:
				details[id] = json.RawMessage(e.cause(false))
			case ok:
				updated = append(updated, id)
			default:
				noops = append(noops, id)
			}
		}
		out := map[string]any{"updated": updated, "noops": noops}
		if len(details) > 0 {
			out["errors"] = map[string]any{"count": len(details), "details": details}
		}
		return esOK(out)
	})
}

// --- invalidate ------------------------------------------------------------------

func (s *Server) esInvalidateKeys(w http.ResponseWriter, r *http.Request) {
	const parser = "invalidate_api_key"
	s.esRoute(w, r, nil, func(c *esCall) esResult {
		fields, e := c.fields(parser, true)
		if e != nil {
			return esFail(e)
		}
		var (
			ids                   []string
			haveIDs               bool
			name, username, realm string
			owner                 bool
		)
		for _, f := range fields {
			switch f.name {
			case "ids":
				haveIDs = true
				if ids, e = keyIDs(f, parser); e != nil {
					return esFail(e)
				}
			case "name", "username", "realm_name":
				v, ok := rawString(f.raw)
				if !ok && !isNull(f.raw) {
					return esFail(f.wrongType(parser))
				}
				switch f.name {
				case "name":
					name = v
				case "username":
					username = v
				default:
					realm = v
				}
			case "owner":
				var b bool
				if v, ok := rawString(f.raw); ok && (v == "true" || v == "false") {
					b = v == "true"
				} else if err := json.Unmarshal(f.raw, &b); err != nil {
					return esFail(f.wrongType(parser))
				}
				owner = b
			default:
				// `id` (singular) is only accepted in REST compatibility v7.
				return esFail(f.unknown(parser))
			}
		}
		name, username, realm = strings.TrimSpace(name), strings.TrimSpace(username), strings.TrimSpace(realm)
		var msgs []string
		if !haveIDs && name == "" && username == "" && realm == "" && !owner {
			msgs = append(msgs, "One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false")
		}
		if (haveIDs || name != "") && (username != "" || realm != "") {
			msgs = append(msgs, "username or realm name must not be specified when the api key id(s) or api key name are specified")
		}
		if owner && (username != "" || realm != "") {
			msgs = append(msgs, "neither username nor realm-name may be specified when invalidating owned API keys")
		}
		if haveIDs && name != "" {
			msgs = append(msgs, "only one of [api key id(s), api key name] can be specified")
		}
		if haveIDs && len(ids) == 0 {
			msgs = append(msgs, "Field [ids] cannot be an empty array")
		}
		for i, id := range ids {
			if strings.TrimSpace(id) == "" {
				msgs = append(msgs, fmt.Sprintf("Field [ids] must not contain blank id, but got blank id at index position: [%d]", i))
				break
			}
		}
		if len(msgs) > 0 {
			return esFail(validationErr(msgs))
		}
		who := c.who
		switch g := who.grant(actInvalidate); {
		case g == grantAll:
		case who.key != nil && len(ids) > 0 && name == "" && onlyID(ids, who.key.ID):
			// An API key may invalidate itself.
		case owner || (who.key == nil && g == grantOwn && username == who.username && realm == who.realm):
			if g == grantNone && who.key == nil {
				return esFail(who.forbidden(actInvalidate))
			}
		default:
			return esFail(who.forbidden(actInvalidate))
		}
		idSet := map[string]bool{}
		for _, id := range ids {
			idSet[id] = true
		}
		invalidated := []string{}
		for i, k := range c.p.Keys {
			if k.Invalidated || !retained(k, c.nowMs) ||
				(haveIDs && !idSet[k.ID]) || (name != "" && !nameMatches(name, k.Name)) ||
				(owner && !who.owns(k)) || (username != "" && k.Username != username) || (realm != "" && k.Realm != realm) {
				continue
			}
			nk := *k // replace, never mutate: views may share the old key
			nk.Invalidated = true
			t := c.nowMs
			nk.Invalidation = &t
			// Replaced in place: replaceKey would search p.Keys again for
			// every key, quadratic when invalidating many.
			c.p.Keys[i] = &nk
			c.p.keyByID[nk.ID] = &nk
			s.dirty = true
			invalidated = append(invalidated, k.ID)
		}
		return esOK(map[string]any{"invalidated_api_keys": invalidated, "previously_invalidated_api_keys": []string{}, "error_count": 0})
	})
}

// keyIDs reads the ids member of bulk update and invalidate: one id or an
// array of them.
func keyIDs(f esField, parser string) ([]string, *esErr) {
	if s, ok := rawString(f.raw); ok {
		return []string{s}, nil
	}
	var ids []string
	if err := json.Unmarshal(f.raw, &ids); err != nil || isNull(f.raw) {
		return nil, f.wrongType(parser)
	}
	return ids, nil
}

func onlyID(ids []string, id string) bool {
	for _, x := range ids {
		if x != id {
			return false
		}
	}
	return true
}
