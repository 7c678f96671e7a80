package emulator

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// The admin user that project creation hands out. Choice: Serverless does
// not document its realm; the emulator puts it in the file realm Elasticsearch
// configures by default ("default_file") with the built-in superuser role.
const (
	adminRealm     = "default_file"
	adminRealmType = "file"
	adminRole      = "superuser"
	// apiKeyRealm is the realm Elasticsearch reports for API-key callers,
	// and records as the creator realm of keys they create.
	apiKeyRealm = "_es_api_key"
)

// Cluster actions of the API key endpoints, as Elasticsearch names them in
// 403 messages.
const (
	actCreate     = "cluster:admin/xpack/security/api_key/create"
	actGet        = "cluster:admin/xpack/security/api_key/get"
	actQuery      = "cluster:admin/xpack/security/api_key/query"
	actInvalidate = "cluster:admin/xpack/security/api_key/invalidate"
	actUpdate     = "cluster:admin/xpack/security/api_key/update"
	actBulkUpdate = "cluster:admin/xpack/security/api_key/bulk_update"
	actMain       = "cluster:monitor/main"
)

// grantedBy lists, per action, the cluster privileges that grant it, in the
// order Elasticsearch prints them.
var grantedBy = map[string]string{
	actCreate:     "manage_own_api_key,manage_api_key,manage_security,all",
	actGet:        "manage_own_api_key,read_security,manage_api_key,manage_security,all",
	actQuery:      "manage_own_api_key,read_security,manage_api_key,manage_security,all",
	actInvalidate: "manage_own_api_key,manage_api_key,manage_security,all",
	actUpdate:     "manage_own_api_key,manage_api_key,manage_security,all",
	actBulkUpdate: "manage_own_api_key,manage_api_key,manage_security,all",
	actMain:       "monitor,manage,all",
}

// grant is how far a principal may use an API key action.
type grant int

const (
	grantNone grant = iota
	grantOwn        // only keys the caller owns (manage_own_api_key)
	grantAll
)

// principal is who an Elasticsearch request authenticated as.
type principal struct {
	username, realm, realmType string
	key                        *apiKey // set when authenticated by an API key
	cluster                    []string
	roleDescriptors            map[string]*roleDescriptor // the caller's effective role, snapshotted as limited_by
}

func adminPrincipal() *principal {
	return &principal{username: adminUsername, realm: adminRealm, realmType: adminRealmType,
		cluster: []string{"all"}, roleDescriptors: map[string]*roleDescriptor{adminRole: superuserDescriptor()}}
}

// keyPrincipal: an API key's privileges are its role descriptors when it has
// any, otherwise a snapshot of its owner's (limited_by). Choice: the
// intersection with limited_by is not computed: the emulator's only user is
// a superuser and derived keys carry empty descriptors, so it never narrows.
func keyPrincipal(k *apiKey) *principal {
	rds := k.RoleDescriptors
	if len(rds) == 0 {
		rds = k.LimitedBy
	}
	var cluster []string
	for _, rd := range rds {
		cluster = append(cluster, rd.Cluster...)
	}
	return &principal{username: k.Username, realm: apiKeyRealm, realmType: apiKeyRealm, key: k, cluster: cluster, roleDescriptors: rds}
}

// grant computes how far the principal's cluster privileges allow action.
func (p *principal) grant(action string) grant {
	g := grantNone
	for _, priv := range p.cluster {
		priv = strings.ToLower(priv)
		switch priv {
		case "all":
			return grantAll
		case "manage_security":
			if strings.HasPrefix(action, "cluster:admin/xpack/security/") {
				return grantAll
			}
		case "manage_api_key":
			if strings.HasPrefix(action, "cluster:admin/xpack/security/api_key/") {
				return grantAll
			}
		case "read_security":
			if action == actGet || action == actQuery {
				return grantAll
			}
		case "manage_own_api_key":
			if strings.HasPrefix(action, "cluster:admin/xpack/security/api_key/") {
				g = grantOwn
			}
		case "monitor":
			if strings.HasPrefix(action, "cluster:monitor/") {
				return grantAll
			}
		case "manage":
			if !strings.HasPrefix(action, "cluster:admin/xpack/security/") {
				return grantAll
			}
		default:
			if strings.HasPrefix(priv, "cluster:") && globMatch(priv, action, false) {
				return grantAll
			}
		}
	}
	return g
}

// owns reports whether k belongs to the caller: for a user, same username
// and realm; for an API key, the key itself.
func (p *principal) owns(k *apiKey) bool {
	if p.key != nil {
		return p.key.ID == k.ID
	}
	return k.Username == p.username && k.Realm == p.realm
}

func (p *principal) forbidden(action string) *esErr {
	var who string
	if p.key != nil {
		who = fmt.Sprintf("API key id [%s] of user [%s]", p.key.ID, p.username)
	} else {
		who = fmt.Sprintf("user [%s] with effective roles [%s]", p.username, adminRole)
	}
	return newESErr(http.StatusForbidden, "security_exception",
		fmt.Sprintf("action [%s] is unauthorized for %s, this action is granted by the cluster privileges [%s]", action, who, grantedBy[action]))
}

// esCall is one request to a project's Elasticsearch, authenticated, with
// the state locked.
type esCall struct {
	r      *http.Request
	p      *project
	who    *principal
	body   []byte
	now    time.Time
	nowMs  int64
	esPath string // the path Elasticsearch sees (without /es/<id>)
}

// esResult is an Elasticsearch handler's answer.
type esResult struct {
	status int
	body   any
	err    *esErr
	proxy  bool // body comes from Elastic Cloud's proxy, not Elasticsearch
}

func esOK(body any) esResult   { return esResult{status: http.StatusOK, body: body} }
func esFail(e *esErr) esResult { return esResult{err: e} }

// commonParams are accepted by every Elasticsearch endpoint. filter_path
// filters successful responses (filterpath.go); the others change nothing a
// client decodes. Choice: `pretty` and `human` are accepted and ignored.
var commonParams = []string{"pretty", "human", "error_trace", "filter_path", "format"}

// esRoute runs fn for a request to project {id}'s Elasticsearch, after the
// checks every request goes through there: the project exists and is ready,
// the caller authenticates, and the query parameters are known.
func (s *Server) esRoute(w http.ResponseWriter, r *http.Request, params []string, fn func(c *esCall) esResult) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	pid := r.PathValue("id")
	esPath := strings.TrimPrefix(r.URL.Path, "/es/"+pid)
	if esPath == "" {
		esPath = "/"
	}
	var res esResult
	switch {
	case err != nil:
		res = esFail(esBadRequest("parse_exception", "reading the request body failed: "+err.Error()))
	case len(body) > maxBody:
		res = esFail(newESErr(http.StatusRequestEntityTooLarge, "content_too_long_exception", "request body is larger than 1 MiB"))
	default:
		s.tx(func(now time.Time) {
			p, ok := s.projects[pid]
			if !ok {
				res = unknownProject(pid)
				return
			}
			if ph, _ := s.phase(p, now); ph != phaseInitialized {
				res = notReady(pid, ph)
				return
			}
			c := &esCall{r: r, p: p, body: body, now: now, nowMs: now.UnixMilli(), esPath: esPath}
			who, e := s.esAuthenticate(c)
			if e != nil {
				res = esFail(e)
				return
			}
			c.who = who
			if e := checkParams(r, esPath, params); e != nil {
				res = esFail(e)
				return
			}
			res = fn(c)
		})
	}
	writeES(w, r, res)
}

// unknownProject answers a request for a project this emulator does not
// host. Choice: the real endpoint's hostname would not resolve; the
// emulator answers like Elastic Cloud's proxy does for an unknown resource.
func unknownProject(pid string) esResult {
	return esResult{status: http.StatusNotFound, proxy: true,
		body: map[string]any{"ok": false, "message": fmt.Sprintf("Unknown resource: no project [%s] is hosted here.", pid)}}
}

// notReady answers a request for a project that is not initialized.
// Choice: 503 with the proxy's body shape (not an Elasticsearch envelope),
// as Elastic Cloud's proxy answers for a resource that is not available yet;
// 503 is what Elasticsearch clients retry on their own.
func notReady(pid, phase string) esResult {
	return esResult{status: http.StatusServiceUnavailable, proxy: true,
		body: map[string]any{"ok": false, "message": fmt.Sprintf("Resource is not available: project [%s] is %s.", pid, phase)}}
}

// writeES writes an Elasticsearch answer. Responses from Elasticsearch carry
// X-Elastic-Product (official clients refuse a 2xx without it) and mirror the
// compatible-with media type clients ask for.
func writeES(w http.ResponseWriter, r *http.Request, res esResult) {
	if !res.proxy {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		if strings.Contains(r.Header.Get("Accept"), "compatible-with=") || strings.Contains(r.Header.Get("Content-Type"), "compatible-with=") {
			w.Header().Set("Content-Type", "application/vnd.elasticsearch+json;compatible-with=8")
		}
	}
	if res.err != nil {
		writeESErr(w, res.err)
		return
	}
	body := res.body
	if fp := r.URL.Query().Get("filter_path"); fp != "" && !res.proxy {
		if filtered, err := filterResponse(body, fp); err == nil {
			body = filtered
		}
	}
	writeJSON(w, res.status, body)
}

func checkParams(r *http.Request, esPath string, allowed []string) *esErr {
	q := r.URL.Query()
	var unknown []string
	for k := range q {
		if !slices.Contains(allowed, k) && !slices.Contains(commonParams, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	word := "parameter"
	if len(unknown) > 1 {
		word = "parameters"
	}
	return esBadRequest("illegal_argument_exception",
		fmt.Sprintf("request [%s] contains unrecognized %s: [%s]", esPath, word, strings.Join(unknown, "], [")))
}

// authFailure is the 401 Elasticsearch answers for bad credentials; the
// WWW-Authenticate challenges list the schemes it accepts.
func authFailure(reason string, extra map[string]any) *esErr {
	challenges := []string{`Basic realm="security", charset="UTF-8"`, `Bearer realm="security"`, `ApiKey`}
	e := newESErr(http.StatusUnauthorized, "security_exception", reason)
	e.extra = map[string]any{"header": map[string]any{"WWW-Authenticate": challenges}}
	for k, v := range extra {
		e.extra[k] = v
	}
	e.header = http.Header{"Www-Authenticate": challenges}
	return e
}

func restURI(c *esCall) string {
	u := c.esPath
	if c.r.URL.RawQuery != "" {
		u += "?" + c.r.URL.RawQuery
	}
	return u
}

// esAuthenticate checks basic auth (the project's admin credentials) or an
// API key created in this project.
func (s *Server) esAuthenticate(c *esCall) (*principal, *esErr) {
	h := c.r.Header.Get("Authorization")
	if h == "" {
		return nil, authFailure(fmt.Sprintf("missing authentication credentials for REST request [%s]", restURI(c)), nil)
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	const generic = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		user, pass, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return nil, authFailure(fmt.Sprintf("missing authentication credentials for REST request [%s]", restURI(c)), nil)
		}
		if user != adminUsername || subtle.ConstantTimeCompare([]byte(hashSecret(pass)), []byte(c.p.PasswordHash)) != 1 {
			return nil, authFailure(fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", user, restURI(c)), nil)
		}
		return adminPrincipal(), nil
	case "apikey":
		raw, err := base64.StdEncoding.DecodeString(cred)
		id, secret, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return nil, authFailure(generic, map[string]any{"additional_unsuccessful_credentials": "API key: invalid ApiKey value"})
		}
		k, found := c.p.keyByID[id]
		if !found || !retained(k, c.nowMs) {
			return nil, authFailure(generic, map[string]any{"additional_unsuccessful_credentials": fmt.Sprintf("API key: unable to find apikey with id %s", id)})
		}
		if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(k.SecretHash)) != 1 {
			return nil, authFailure(generic, map[string]any{"additional_unsuccessful_credentials": fmt.Sprintf("API key: invalid credentials for API key [%s]", id)})
		}
		if k.Invalidated {
			return nil, authFailure(generic, map[string]any{"additional_unsuccessful_credentials": fmt.Sprintf("API key: api key [%s] has been invalidated", id)})
		}
		if k.expired(c.nowMs) {
			return nil, authFailure(generic, map[string]any{"additional_unsuccessful_credentials": "API key: api key is expired"})
		}
		return keyPrincipal(k), nil
	default:
		return nil, authFailure(generic, nil)
	}
}

// --- cluster info, _authenticate, unknown routes -----------------------------

func (s *Server) esInfo(w http.ResponseWriter, r *http.Request) {
	s.esRoute(w, r, nil, func(c *esCall) esResult {
		if c.who.grant(actMain) == grantNone {
			return esFail(c.who.forbidden(actMain))
		}
		// What a Serverless project answers: a fixed version and the
		// serverless build flavour.
		type version struct {
			Number                           string `json:"number"`
			BuildFlavor                      string `json:"build_flavor"`
			BuildType                        string `json:"build_type"`
			BuildHash                        string `json:"build_hash"`
			BuildDate                        string `json:"build_date"`
			BuildSnapshot                    bool   `json:"build_snapshot"`
			LuceneVersion                    string `json:"lucene_version"`
			MinimumWireCompatibilityVersion  string `json:"minimum_wire_compatibility_version"`
			MinimumIndexCompatibilityVersion string `json:"minimum_index_compatibility_version"`
		}
		return esOK(struct {
			Name        string  `json:"name"`
			ClusterName string  `json:"cluster_name"`
			ClusterUUID string  `json:"cluster_uuid"`
			Version     version `json:"version"`
			Tagline     string  `json:"tagline"`
		}{"serverless", c.p.ID, clusterUUID(c.p.ID),
			version{"8.11.0", "serverless", "docker", "00000000", "2023-10-31", false, "9.7.0", "8.11.0", "8.11.0"},
			"You Know, for Search"})
	})
}

func clusterUUID(pid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pid))[:22]
}

func (s *Server) esAuthenticateRoute(w http.ResponseWriter, r *http.Request) {
	s.esRoute(w, r, nil, func(c *esCall) esResult {
		who := c.who
		out := map[string]any{
			"username":  who.username,
			"roles":     []string{},
			"full_name": nil,
			"email":     nil,
			"metadata":  map[string]any{},
			"enabled":   true,
		}
		if who.key == nil {
			out["roles"] = []string{adminRole}
			realm := map[string]string{"name": adminRealm, "type": adminRealmType}
			out["authentication_realm"], out["lookup_realm"] = realm, realm
			out["authentication_type"] = "realm"
		} else {
			realm := map[string]string{"name": apiKeyRealm, "type": apiKeyRealm}
			out["authentication_realm"], out["lookup_realm"] = realm, realm
			out["authentication_type"] = "api_key"
			out["api_key"] = map[string]string{"id": who.key.ID, "name": who.key.Name}
		}
		return esOK(out)
	})
}

// esNoHandler answers paths under /es/ that no route matched, as
// Elasticsearch does: 405 when the path exists for another method, else 400
// "no handler found". Choice: like Elasticsearch, no credentials are needed
// to learn that a route does not exist.
func (s *Server) esNoHandler(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/es/")
	pid, sub, _ := strings.Cut(rest, "/")
	sub = "/" + sub
	s.mu.Lock()
	_, hosted := s.projects[pid]
	s.mu.Unlock()
	if !hosted {
		writeES(w, r, unknownProject(pid))
		return
	}
	allowed := s.routedMethods(r, "GET", "POST", "PUT", "DELETE", "HEAD")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if len(allowed) > 0 {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{
			"error":  fmt.Sprintf("Incorrect HTTP method for uri [%s] and method [%s], allowed: [%s]", sub, r.Method, strings.Join(allowed, ", ")),
			"status": http.StatusMethodNotAllowed})
		return
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"error":  fmt.Sprintf("no handler found for uri [%s] and method [%s]", sub, r.Method),
		"status": http.StatusBadRequest})
}

// --- request body parsing ------------------------------------------------------

// esField is one top-level member of a request body with its position, for
// x_content_parse_exception messages ("[line:col] ...").
type esField struct {
	name      string
	raw       json.RawMessage
	line, col int
}

// esObject splits a JSON object body into its members, in order, reporting
// syntax errors and duplicate keys as Elasticsearch's parser does.
func esObject(body []byte, parser string) ([]esField, *esErr) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	pos := func(off int64) (int, int) {
		// off is derived from decoded key lengths, which differ from the
		// raw bytes for escapes and invalid UTF-8 (decoded as U+FFFD): clamp.
		off = max(0, min(off, int64(len(body))))
		line := 1 + bytes.Count(body[:off], []byte{'\n'})
		col := int(off) - bytes.LastIndexByte(body[:off], '\n')
		return line, col
	}
	parseErr := func(off int64, msg string) *esErr {
		l, c := pos(off)
		return esBadRequest("x_content_parse_exception", fmt.Sprintf("[%d:%d] %s", l, c, msg))
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, parseErr(dec.InputOffset(), "Unexpected end-of-input or malformed JSON: "+err.Error())
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, parseErr(dec.InputOffset(), fmt.Sprintf("[%s] Expected START_OBJECT but was: %s", parser, tokenName(tok)))
	}
	var out []esField
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, parseErr(dec.InputOffset(), "malformed JSON: "+err.Error())
		}
		name, _ := tok.(string)
		kl, kc := pos(dec.InputOffset() - int64(len(name)+2))
		if kc < 1 {
			kc = 1
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, parseErr(dec.InputOffset(), "malformed JSON: "+err.Error())
		}
		if seen[name] {
			return nil, esBadRequest("x_content_parse_exception", fmt.Sprintf("[%d:%d] Duplicate field '%s'", kl, kc, name))
		}
		seen[name] = true
		out = append(out, esField{name: name, raw: raw, line: kl, col: kc})
	}
	if _, err := dec.Token(); err != nil {
		return nil, parseErr(dec.InputOffset(), "malformed JSON: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, parseErr(dec.InputOffset(), "unexpected data after the JSON object")
	}
	return out, nil
}

// fields splits the request body into its members (see esObject). An empty
// body is refused where the endpoint requires one, and otherwise has none.
func (c *esCall) fields(parser string, required bool) ([]esField, *esErr) {
	if len(bytes.TrimSpace(c.body)) == 0 {
		if required {
			return nil, parseException("request body is required")
		}
		return nil, nil
	}
	return esObject(c.body, parser)
}

func tokenName(tok any) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "START_ARRAY"
		}
		return "END_OBJECT"
	case string:
		return "VALUE_STRING"
	case bool:
		return "VALUE_BOOLEAN"
	case nil:
		return "VALUE_NULL"
	default:
		return "VALUE_NUMBER"
	}
}

// jsonKind names a raw value's token type the way Elasticsearch's parser
// errors do.
func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "VALUE_NULL"
	}
	switch t[0] {
	case '{':
		return "START_OBJECT"
	case '[':
		return "START_ARRAY"
	case '"':
		return "VALUE_STRING"
	case 't', 'f':
		return "VALUE_BOOLEAN"
	case 'n':
		return "VALUE_NULL"
	}
	return "VALUE_NUMBER"
}

func (f esField) wrongType(parser string) *esErr {
	return esBadRequest("x_content_parse_exception",
		fmt.Sprintf("[%d:%d] [%s] %s doesn't support values of type: %s", f.line, f.col, parser, f.name, jsonKind(f.raw)))
}

func (f esField) unknown(parser string) *esErr {
	return esBadRequest("x_content_parse_exception",
		fmt.Sprintf("[%d:%d] [%s] unknown field [%s]", f.line, f.col, parser, f.name))
}

// globMatch matches Elasticsearch wildcard patterns (* and ?).
func globMatch(pattern, s string, caseInsensitive bool) bool {
	if caseInsensitive {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	// path.Match treats '/' specially and knows [...] classes; escape them so
	// only * and ? are special, then match across '/' by replacing it.
	esc := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, "/", "\x00").Replace(pattern)
	ok, err := path.Match(esc, strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}
