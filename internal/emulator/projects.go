package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Fixed identities of the emulated organisation and user. Elastic Cloud user
// and organisation ids are numeric strings.
const (
	emulatedUserID = "2193048571"
	emulatedOrgID  = "3827155410"
	adminUsername  = "admin"
)

var projectTypes = map[string]bool{"elasticsearch": true, "observability": true, "security": true}

// Project phases (status.phase).
const (
	phaseInitializing = "initializing"
	phaseInitialized  = "initialized"
	phaseDeleting     = "deleting"
	phaseSuspended    = "suspended"
)

// project is one hosted project, as persisted. Keys live inside their
// project, so every key lookup and query only ever touches that project's
// keys.
type project struct {
	ID             string            `json:"id"`
	Type           string            `json:"type"`
	Name           string            `json:"name"`
	Alias          string            `json:"alias"` // as requested (or derived), without the suffix
	RegionID       string            `json:"region_id"`
	CreatedAt      time.Time         `json:"created_at"`
	Seq            int64             `json:"seq"`
	Tags           map[string]string `json:"tags,omitempty"`
	TrafficFilters []string          `json:"traffic_filters,omitempty"`
	Linked         []string          `json:"linked,omitempty"`

	OptimizedFor         string        `json:"optimized_for,omitempty"`
	SearchPower          int           `json:"search_power,omitempty"`
	BoostWindow          int           `json:"boost_window,omitempty"`
	ProductTier          string        `json:"product_tier,omitempty"`
	ProductTypes         []productType `json:"product_types,omitempty"`
	AdminFeaturesPackage string        `json:"admin_features_package,omitempty"`
	MaxRetentionDays     *int          `json:"max_retention_days,omitempty"`
	DefaultRetentionDays *int          `json:"default_retention_days,omitempty"`

	PasswordHash    string     `json:"password_hash"`
	Version         int64      `json:"version"`
	PhaseSince      time.Time  `json:"phase_since"` // start of the last initializing period
	SuspendedAt     *time.Time `json:"suspended_at,omitempty"`
	SuspendedReason string     `json:"suspended_reason,omitempty"`
	DeletedAt       *time.Time `json:"deleted_at,omitempty"`

	Keys   []*apiKey `json:"keys,omitempty"`
	KeySeq int64     `json:"key_seq"`

	keyByID map[string]*apiKey
}

type productType struct {
	ProductLine string `json:"product_line"`
	ProductTier string `json:"product_tier"`
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// etag is opaque to clients and changes with every version of the project.
func (p *project) etag() string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", p.ID, p.Version)))
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// fullAlias is the alias as the API returns it: requested + "-" + the first
// six characters of the id.
func (p *project) fullAlias() string { return p.Alias + "-" + p.ID[:6] }

// phase computes the lifecycle phase at now, lazily from timestamps, so that
// a test clock moves it and no timer goroutine exists.
func (s *Server) phase(p *project, now time.Time) (phase string, since time.Time) {
	switch {
	case p.DeletedAt != nil:
		return phaseDeleting, *p.DeletedAt
	case p.SuspendedAt != nil:
		return phaseSuspended, *p.SuspendedAt
	}
	ready := p.PhaseSince.Add(s.opts.InitDelay)
	if now.Before(ready) {
		return phaseInitializing, p.PhaseSince
	}
	return phaseInitialized, ready
}

// gone reports whether a deleted project's deletion has completed.
func (s *Server) gone(p *project, now time.Time) bool {
	return p.DeletedAt != nil && !now.Before(p.DeletedAt.Add(s.opts.DeleteDelay))
}

// sweepLocked removes projects whose deletion completed; their alias is free
// from then on.
func (s *Server) sweepLocked(now time.Time) {
	if s.pending == 0 {
		return
	}
	for id, p := range s.projects {
		if p.DeletedAt != nil && s.gone(p, now) {
			delete(s.projects, id)
			s.pending--
			s.dirty = true
		}
	}
}

// aliasHolder returns the live project (other than except) using alias.
func (s *Server) aliasHolder(alias, except string) *project {
	for _, p := range s.projects {
		if p.ID != except && p.Alias == alias {
			return p
		}
	}
	return nil
}

func (s *Server) newProjectID() string {
	for {
		var b [16]byte
		for i := range b {
			b[i] = byte(s.ids.UintN(256))
		}
		id := hex.EncodeToString(b[:])
		if _, taken := s.projects[id]; !taken {
			return id
		}
	}
}

// --- views -----------------------------------------------------------------

type projectView struct {
	ID                   string           `json:"id"`
	Name                 string           `json:"name"`
	Alias                string           `json:"alias"`
	RegionID             string           `json:"region_id"`
	Type                 string           `json:"type"`
	CloudID              string           `json:"cloud_id"`
	Endpoints            endpointsView    `json:"endpoints"`
	TrafficFilters       []map[string]any `json:"traffic_filters,omitempty"`
	Linked               *linkedView      `json:"linked,omitempty"`
	Metadata             metadataView     `json:"metadata"`
	OptimizedFor         string           `json:"optimized_for,omitempty"`
	SearchLake           any              `json:"search_lake,omitempty"`
	ProductTier          string           `json:"product_tier,omitempty"`
	ProductTypes         []productType    `json:"product_types,omitempty"`
	AdminFeaturesPackage string           `json:"admin_features_package,omitempty"`
	Credentials          *credentialsView `json:"credentials,omitempty"`
}

type endpointsView struct {
	Elasticsearch string `json:"elasticsearch"`
	Kibana        string `json:"kibana"`
	APM           string `json:"apm,omitempty"`
	Ingest        string `json:"ingest,omitempty"`
}

type linkedView struct {
	Projects map[string]linkedProjectView `json:"projects"`
}

type linkedProjectView struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

type metadataView struct {
	CreatedAt       string            `json:"created_at"`
	CreatedBy       string            `json:"created_by"`
	OrganizationID  string            `json:"organization_id"`
	SuspendedAt     string            `json:"suspended_at,omitempty"`
	SuspendedReason string            `json:"suspended_reason,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	SystemTags      map[string]string `json:"system_tags"`
}

type credentialsView struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type statusView struct {
	Phase                string `json:"phase"`
	PhaseChangeTimestamp string `json:"phase_change_timestamp"`
}

// baseURL is where this process was reached, so endpoints point back at it
// under httptest, on any --addr and behind a port forward alike.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// view renders p as the Project API returns it. Values are copied so the
// view can be encoded after the state lock is released.
func (s *Server) view(p *project, base string, now time.Time) projectView {
	v := projectView{
		ID: p.ID, Name: p.Name, Alias: p.fullAlias(), RegionID: p.RegionID, Type: p.Type,
		Metadata: metadataView{
			CreatedAt:      rfc3339(p.CreatedAt),
			CreatedBy:      emulatedUserID,
			OrganizationID: emulatedOrgID,
			// Choice: the `_alias` system tag carries the alias as requested
			// (without the id suffix); the reference only names the tag.
			SystemTags: map[string]string{"_alias": p.Alias},
		},
	}
	// Each project's Elasticsearch API lives under /es/<id> of this process.
	// Choice: Kibana, APM and ingest endpoints follow the same scheme but are
	// not served (the emulator has no Kibana).
	v.Endpoints.Elasticsearch = base + "/es/" + p.ID
	v.Endpoints.Kibana = base + "/kb/" + p.ID
	switch p.Type {
	case "observability":
		v.Endpoints.APM = base + "/apm/" + p.ID
		v.Endpoints.Ingest = base + "/ingest/" + p.ID
	case "security":
		v.Endpoints.Ingest = base + "/ingest/" + p.ID
	}
	// cloud_id is `<label>:base64(<host>$<es id>$<kibana id>)` like the real
	// one. Choice: it encodes this process's host:port and the project id; a
	// client that decodes it cannot express the /es/<id> path prefix, so
	// clients should use endpoints.elasticsearch (as slsync does).
	host := strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
	v.CloudID = p.fullAlias() + ":" + base64.StdEncoding.EncodeToString([]byte(host+"$"+p.ID+"$"+p.ID+"kb"))
	if p.SuspendedAt != nil {
		v.Metadata.SuspendedAt = rfc3339(*p.SuspendedAt)
		v.Metadata.SuspendedReason = p.SuspendedReason
	}
	if len(p.Tags) > 0 {
		v.Metadata.Tags = make(map[string]string, len(p.Tags))
		for k, val := range p.Tags {
			v.Metadata.Tags[k] = val
		}
	}
	for _, id := range p.TrafficFilters {
		v.TrafficFilters = append(v.TrafficFilters, map[string]any{"id": id})
	}
	if len(p.Linked) > 0 {
		v.Linked = &linkedView{Projects: map[string]linkedProjectView{}}
		for _, id := range p.Linked {
			lv := linkedProjectView{Status: "deleted"}
			if lp, ok := s.projects[id]; ok {
				lv.Type = lp.Type
				switch ph, _ := s.phase(lp, now); ph {
				case phaseSuspended:
					lv.Status = "suspended"
				case phaseDeleting:
					lv.Status = "deleted"
				default:
					lv.Status = "enabled"
				}
			}
			v.Linked.Projects[id] = lv
		}
	}
	switch p.Type {
	case "elasticsearch":
		v.OptimizedFor = p.OptimizedFor
		v.SearchLake = map[string]int{"search_power": p.SearchPower, "boost_window": p.BoostWindow}
	case "observability":
		v.ProductTier = p.ProductTier
	case "security":
		v.ProductTypes = append([]productType(nil), p.ProductTypes...)
		v.AdminFeaturesPackage = p.AdminFeaturesPackage
		dr := map[string]any{"max_retention_days": nil, "default_retention_days": nil}
		if p.MaxRetentionDays != nil {
			dr["max_retention_days"] = *p.MaxRetentionDays
		}
		if p.DefaultRetentionDays != nil {
			dr["default_retention_days"] = *p.DefaultRetentionDays
		}
		v.SearchLake = map[string]any{"data_retention": dr}
	}
	return v
}

// --- handlers ----------------------------------------------------------------

// cloudCall is what the project handlers share: auth done, type checked
// (see projectRoute).
type cloudCall struct {
	w    http.ResponseWriter
	r    *http.Request
	typ  string
	id   string
	base string
}

// projectRoute makes h the handler of a /projects/{type} route: h runs once
// the request authenticates and names a known {type}; otherwise the error is
// written here.
func (s *Server) projectRoute(h func(c *cloudCall)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.cloudAuthOK(r) {
			s.writeUnauthorized(w)
			return
		}
		typ := r.PathValue("type")
		if !projectTypes[typ] {
			writeCloudErrors(w, http.StatusNotFound, cloudError{codeNotFound,
				fmt.Sprintf("unknown project type [%s]: use elasticsearch, observability or security", typ)})
			return
		}
		h(&cloudCall{w: w, r: r, typ: typ, id: r.PathValue("id"), base: baseURL(r)})
	}
}

// result is a handler's answer, built under the state lock and written after
// it is released.
type result struct {
	status int
	body   any
	etag   string
	errs   []cloudError
}

func (res result) write(w http.ResponseWriter) {
	if res.etag != "" {
		w.Header().Set("ETag", res.etag)
	}
	if len(res.errs) > 0 {
		writeCloudErrors(w, res.status, res.errs...)
		return
	}
	writeJSON(w, res.status, res.body)
}

func errResult(status int, code, msg string) result {
	return result{status: status, errs: []cloudError{{code, msg}}}
}

// withETag adds the project's current ETag to an answer, so that a client
// refused because of the project's state can retry against that version.
func (res result) withETag(etag string) result {
	res.etag = etag
	return res
}

// answer runs fn under the state lock and writes the result it builds once
// the lock is released (and any change it made is durable).
func (s *Server) answer(w http.ResponseWriter, fn func(now time.Time) result) {
	var res result
	s.tx(func(now time.Time) { res = fn(now) })
	res.write(w)
}

// readProject answers a request about the project the call names: fn runs
// under the state lock once the project is found (404 otherwise; projects
// whose deletion completed were swept before).
func (s *Server) readProject(c *cloudCall, fn func(p *project, now time.Time) result) {
	s.answer(c.w, func(now time.Time) result {
		p, ok := s.projects[c.id]
		if !ok || p.Type != c.typ {
			return errResult(http.StatusNotFound, codeProjNotFound, fmt.Sprintf("%s project [%s] not found", c.typ, c.id))
		}
		return fn(p, now)
	})
}

// changeProject is readProject for a request that changes the project: fn
// runs only when the request's If-Match names the current version (412
// otherwise).
func (s *Server) changeProject(c *cloudCall, fn func(p *project, now time.Time) result) {
	s.readProject(c, func(p *project, now time.Time) result {
		if e := ifMatchLocked(c.r, p); e != nil {
			return *e
		}
		return fn(p, now)
	})
}

// touchLocked records a change to p: every change gets a new version (so
// the ETag moves) and is written to the data file.
func (s *Server) touchLocked(p *project) {
	p.Version++
	s.dirty = true
}

// ifMatchLocked enforces If-Match: a stale ETag fails with 412 and changes
// nothing.
func ifMatchLocked(r *http.Request, p *project) *result {
	im := strings.TrimSpace(r.Header.Get("If-Match"))
	if im == "" || im == "*" {
		return nil
	}
	cur := p.etag()
	for _, cand := range strings.Split(im, ",") {
		cand = strings.TrimPrefix(strings.TrimSpace(cand), "W/")
		if cand == cur || `"`+cand+`"` == cur {
			return nil
		}
	}
	res := errResult(http.StatusPreconditionFailed, codeStale,
		fmt.Sprintf("If-Match %s does not match the current version %s of project [%s]: read it again and retry", im, cur, p.ID)).withETag(cur)
	return &res
}

func (s *Server) listProjects(c *cloudCall) {
	tags := map[string]string{}
	q := c.r.URL.Query()
	for k, vs := range q {
		if strings.HasPrefix(k, "tags[") {
			if !strings.HasSuffix(k, "]") || len(k) == len("tags[]") {
				writeCloudErrors(c.w, http.StatusBadRequest, cloudError{codeBadRequest,
					fmt.Sprintf("query parameter [%s]: expected tags[<key>]=<value>", k)})
				return
			}
			tags[k[len("tags["):len(k)-1]] = vs[0]
		}
	}
	tf, linked := q.Get("traffic_filter"), q.Get("linked")
	var items []projectView
	s.tx(func(now time.Time) {
		var ps []*project
		for _, p := range s.projects {
			if p.Type != c.typ || !hasTags(p, tags) {
				continue
			}
			if tf != "" && !slices.Contains(p.TrafficFilters, tf) {
				continue
			}
			if linked != "" && !slices.Contains(p.Linked, linked) {
				continue
			}
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].Seq < ps[j].Seq })
		items = make([]projectView, 0, len(ps))
		for _, p := range ps {
			items = append(items, s.view(p, c.base, now))
		}
	})
	// Choice: no pagination; next_page is deprecated and absent here.
	writeJSON(c.w, http.StatusOK, map[string]any{"items": items})
}

func hasTags(p *project, want map[string]string) bool {
	for k, v := range want {
		if got, ok := p.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (s *Server) getProject(c *cloudCall) {
	s.readProject(c, func(p *project, now time.Time) result {
		return result{status: http.StatusOK, body: s.view(p, c.base, now), etag: p.etag()}
	})
}

func (s *Server) projectStatus(c *cloudCall) {
	s.readProject(c, func(p *project, now time.Time) result {
		return s.statusResult(p, now)
	})
}

// statusResult is the answer of the status route and of the suspend switch.
func (s *Server) statusResult(p *project, now time.Time) result {
	ph, since := s.phase(p, now)
	return result{status: http.StatusOK, body: statusView{ph, rfc3339(since)}, etag: p.etag()}
}

func (s *Server) createProject(c *cloudCall) {
	body, ok := c.readBody()
	if !ok {
		return
	}
	password := randomToken(24)
	s.answer(c.w, func(now time.Time) result {
		p := &project{Type: c.typ, CreatedAt: now, PhaseSince: now, PasswordHash: hashSecret(password), Version: 1}
		errs := &reqErrs{}
		s.parseCreate(p, body, errs)
		if len(errs.list) > 0 {
			return result{status: errs.status(http.StatusUnprocessableEntity), errs: errs.list}
		}
		if p.Alias == "" {
			p.Alias = deriveAlias(p.Name)
		} else if h := s.aliasHolder(p.Alias, ""); h != nil {
			return errResult(http.StatusConflict, codeAliasConflict,
				fmt.Sprintf("alias [%s] is already used by %s project [%s]; choose another alias or delete that project", p.Alias, h.Type, h.ID))
		}
		p.ID = s.newProjectID()
		s.seq++
		p.Seq = s.seq
		p.keyByID = map[string]*apiKey{}
		s.projects[p.ID] = p
		s.dirty = true
		v := s.view(p, c.base, now)
		v.Credentials = &credentialsView{Username: adminUsername, Password: password}
		return result{status: http.StatusCreated, body: v, etag: p.etag()}
	})
}

func (s *Server) patchProject(c *cloudCall) {
	body, ok := c.readBody()
	if !ok {
		return
	}
	s.changeProject(c, func(p *project, now time.Time) result {
		if p.DeletedAt != nil {
			return errResult(http.StatusConflict, codeConflict,
				fmt.Sprintf("project [%s] is being deleted and cannot be changed", p.ID)).withETag(p.etag())
		}
		np := p.clone()
		errs := &reqErrs{}
		s.parsePatch(np, body, errs)
		if len(errs.list) > 0 {
			return result{status: errs.status(http.StatusBadRequest), errs: errs.list}
		}
		if np.Alias != p.Alias {
			if h := s.aliasHolder(np.Alias, p.ID); h != nil {
				return errResult(http.StatusConflict, codeAliasConflict,
					fmt.Sprintf("alias [%s] is already used by %s project [%s]; choose another alias", np.Alias, h.Type, h.ID))
			}
		}
		if !np.sameSpec(p) {
			s.projects[p.ID] = np
			s.touchLocked(np)
			p = np
		}
		return result{status: http.StatusOK, body: s.view(p, c.base, now), etag: p.etag()}
	})
}

func (s *Server) deleteProject(c *cloudCall) {
	s.changeProject(c, func(p *project, now time.Time) result {
		// Choice: deleting a project already being deleted is accepted again
		// (idempotent) and changes nothing.
		if p.DeletedAt == nil {
			t := now
			p.DeletedAt = &t
			s.touchLocked(p)
			s.pending++
		}
		// Choice: the body is an empty object; the reference documents only
		// the status and the ETag.
		return result{status: http.StatusOK, body: map[string]any{}, etag: p.etag()}
	})
}

func (s *Server) resetCredentials(c *cloudCall) {
	password := randomToken(24)
	s.changeProject(c, func(p *project, now time.Time) result {
		if p.DeletedAt != nil {
			return errResult(http.StatusConflict, codeConflict, fmt.Sprintf("project [%s] is being deleted", p.ID))
		}
		p.PasswordHash = hashSecret(password)
		s.touchLocked(p) // Choice: new credentials are a change, so the ETag moves.
		return result{status: http.StatusOK, body: credentialsView{adminUsername, password}, etag: p.etag()}
	})
}

func (s *Server) resumeProject(c *cloudCall) {
	s.changeProject(c, func(p *project, now time.Time) result {
		if p.SuspendedAt == nil || p.DeletedAt != nil {
			// Choice: resuming a project that is not suspended is a conflict
			// with its current state (409), not a silent success.
			ph, _ := s.phase(p, now)
			return errResult(http.StatusConflict, codeConflict,
				fmt.Sprintf("project [%s] is %s, not suspended: there is nothing to resume", p.ID, ph)).withETag(p.etag())
		}
		p.SuspendedAt, p.SuspendedReason = nil, ""
		p.PhaseSince = now // resuming goes through initializing again
		s.touchLocked(p)
		return result{status: http.StatusOK, body: s.view(p, c.base, now), etag: p.etag()}
	})
}

func (s *Server) canDelete(c *cloudCall) {
	s.readProject(c, func(p *project, now time.Time) result {
		// Choice: a project that other live projects link to cannot be
		// deleted; those projects are listed as {"id","type"}.
		linkedBy := []map[string]string{}
		var ids []string
		for _, o := range s.projects {
			if o.ID != p.ID && o.DeletedAt == nil && slices.Contains(o.Linked, p.ID) {
				ids = append(ids, o.ID)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			linkedBy = append(linkedBy, map[string]string{"id": id, "type": s.projects[id].Type})
		}
		return result{status: http.StatusOK, etag: p.etag(),
			body: map[string]any{"can_be_deleted": len(linkedBy) == 0, "linked_projects": linkedBy}}
	})
}

// suspendProject is the /_emulator switch that puts a project into the
// suspended phase (as the real service does when, say, a trial ends), so that
// _resume can be exercised.
func (s *Server) suspendProject(w http.ResponseWriter, id string) {
	s.answer(w, func(now time.Time) result {
		p, ok := s.projects[id]
		if !ok {
			return errResult(http.StatusNotFound, codeProjNotFound, fmt.Sprintf("project [%s] not found", id))
		}
		if p.DeletedAt != nil {
			return errResult(http.StatusConflict, codeConflict, fmt.Sprintf("project [%s] is being deleted", id))
		}
		if p.SuspendedAt == nil {
			t := now
			p.SuspendedAt, p.SuspendedReason = &t, "trial_ended"
			s.touchLocked(p)
		}
		return s.statusResult(p, now)
	})
}

// clone copies p deeply enough for a patch to change it without touching p.
func (p *project) clone() *project {
	np := *p
	np.Tags = maps.Clone(p.Tags)
	np.TrafficFilters = slices.Clone(p.TrafficFilters)
	np.Linked = slices.Clone(p.Linked)
	np.ProductTypes = slices.Clone(p.ProductTypes)
	return &np
}

// sameSpec reports whether a patch left every user-visible field as it was.
func (p *project) sameSpec(o *project) bool {
	eqInt := func(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return p.Name == o.Name && p.Alias == o.Alias && p.SearchPower == o.SearchPower && p.BoostWindow == o.BoostWindow &&
		p.ProductTier == o.ProductTier && p.AdminFeaturesPackage == o.AdminFeaturesPackage &&
		eqInt(p.MaxRetentionDays, o.MaxRetentionDays) && eqInt(p.DefaultRetentionDays, o.DefaultRetentionDays) &&
		maps.Equal(p.Tags, o.Tags) && slices.Equal(p.TrafficFilters, o.TrafficFilters) &&
		slices.Equal(p.Linked, o.Linked) && slices.Equal(p.ProductTypes, o.ProductTypes)
}
