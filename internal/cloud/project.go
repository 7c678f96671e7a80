package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/slsync/slsync/internal/model"
)

// DefaultEndpoint is the Elastic Cloud API's public base URL.
const DefaultEndpoint = "https://api.elastic-cloud.com"

// EndpointFromEnv returns the Project API base URL the environment asks for:
// EC_ENDPOINT, else EC_HOST (its older name, still used by ecctl and the
// Terraform provider), else DefaultEndpoint. A host without a scheme gets
// https://. Flags override this; that is the caller's business.
func EndpointFromEnv(getenv func(string) string) string {
	for _, name := range []string{"EC_ENDPOINT", "EC_HOST"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return NormalizeEndpoint(v)
		}
	}
	return DefaultEndpoint
}

// NormalizeEndpoint gives a scheme-less endpoint ("api.elastic-cloud.com")
// https:// and drops trailing slashes, as ecctl and the Terraform provider
// accept it.
func NormalizeEndpoint(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	return strings.TrimRight(v, "/")
}

// Project is a Serverless project as the API returns it. Type-specific fields
// are empty for the other types.
type Project struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Alias            string            `json:"alias"` // with the system suffix
	RegionID         string            `json:"region_id"`
	Type             model.ProjectType `json:"type"`
	CloudID          string            `json:"cloud_id,omitempty"`
	Endpoints        map[string]string `json:"endpoints,omitempty"`
	PrivateEndpoints json.RawMessage   `json:"private_endpoints,omitempty"`
	TrafficFilters   []TrafficFilter   `json:"traffic_filters,omitempty"`
	Linked           json.RawMessage   `json:"linked,omitempty"`
	Metadata         ProjectMetadata   `json:"metadata"`

	// elasticsearch
	OptimizedFor string            `json:"optimized_for,omitempty"`
	SearchLake   *model.SearchLake `json:"search_lake,omitempty"`
	// observability
	ProductTier string `json:"product_tier,omitempty"`
	// security
	ProductTypes         []model.ProductType `json:"product_types,omitempty"`
	AdminFeaturesPackage string              `json:"admin_features_package,omitempty"`

	// ETag is the version from the response's ETag header (Get, Create,
	// Patch); list items carry none and leave it empty.
	ETag string `json:"-"`
}

// ProjectMetadata is the project's metadata object.
type ProjectMetadata struct {
	CreatedAt       string            `json:"created_at,omitempty"`
	CreatedBy       string            `json:"created_by,omitempty"`
	OrganizationID  string            `json:"organization_id,omitempty"`
	SuspendedAt     string            `json:"suspended_at,omitempty"`
	SuspendedReason string            `json:"suspended_reason,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	SystemTags      map[string]string `json:"system_tags,omitempty"`
}

// TrafficFilter references a traffic filter by id.
type TrafficFilter struct {
	ID string `json:"id"`
}

// ProjectCredentials are a project's admin credentials, returned once at
// creation and by _reset-credentials.
type ProjectCredentials struct {
	Username string       `json:"username"`
	Password model.Secret `json:"password"`
}

// CreatedProject is the answer to Create: the project and, only this once,
// its admin credentials.
type CreatedProject struct {
	Project
	Credentials ProjectCredentials `json:"credentials"`
}

// CreateProjectRequest is the create body. Unknown fields are rejected by the
// API, so only fields valid for the type may be set.
type CreateProjectRequest struct {
	Name           string          `json:"name"`
	Alias          string          `json:"alias,omitempty"`
	RegionID       string          `json:"region_id"`
	TrafficFilters []TrafficFilter `json:"traffic_filters,omitempty"`
	Metadata       *CreateMetadata `json:"metadata,omitempty"`

	OptimizedFor         string              `json:"optimized_for,omitempty"`
	SearchLake           *model.SearchLake   `json:"search_lake,omitempty"`
	ProductTier          string              `json:"product_tier,omitempty"`
	ProductTypes         []model.ProductType `json:"product_types,omitempty"`
	AdminFeaturesPackage string              `json:"admin_features_package,omitempty"`
}

// CreateMetadata carries the tags of a new project.
type CreateMetadata struct {
	Tags map[string]string `json:"tags,omitempty"`
}

// PatchProjectRequest is a partial update: only non-nil fields change.
type PatchProjectRequest struct {
	Name     *string        `json:"name,omitempty"`
	Alias    *string        `json:"alias,omitempty"`
	Metadata *PatchMetadata `json:"metadata,omitempty"`

	// SearchLake: nil leaves it; the API resets members sent as null, which
	// model.SearchLake cannot express (omitempty), so a reset is sent as
	// RawSearchLake instead.
	SearchLake    *model.SearchLake `json:"-"`
	RawSearchLake json.RawMessage   `json:"-"`

	ProductTier          *string             `json:"product_tier,omitempty"`
	ProductTypes         []model.ProductType `json:"product_types,omitempty"`
	AdminFeaturesPackage *string             `json:"admin_features_package,omitempty"`
}

// MarshalJSON writes search_lake from whichever of SearchLake/RawSearchLake
// is set.
func (p PatchProjectRequest) MarshalJSON() ([]byte, error) {
	type plain PatchProjectRequest
	aux := struct {
		plain
		SearchLake any `json:"search_lake,omitempty"`
	}{plain: plain(p)}
	switch {
	case p.RawSearchLake != nil:
		aux.SearchLake = p.RawSearchLake
	case p.SearchLake != nil:
		aux.SearchLake = p.SearchLake
	}
	return json.Marshal(aux)
}

// PatchMetadata holds tag changes: a string value sets the tag, a nil value
// removes it, tags not named are kept.
type PatchMetadata struct {
	Tags map[string]*string `json:"tags,omitempty"`
}

// ProjectStatus is the answer of the status endpoint.
type ProjectStatus struct {
	Phase                string `json:"phase"`
	PhaseChangeTimestamp string `json:"phase_change_timestamp,omitempty"`
}

// ProjectClient talks to the Serverless Project API with an Elastic Cloud API
// key. It is safe for concurrent use; all its calls share one rate-limit
// pacer (see pacer), so a client should be shared by everything a run does
// with one API key.
type ProjectClient struct {
	t *transport
}

// NewProjectClient returns a client for the API at baseURL (see
// EndpointFromEnv) that authenticates with apiKey.
func NewProjectClient(baseURL string, apiKey model.Secret, opts Options) (*ProjectClient, error) {
	if apiKey.Reveal() == "" {
		return nil, errors.New("no Elastic Cloud API key: set EC_API_KEY (create one under Organization → API keys in the Elastic Cloud console)")
	}
	t, err := newTransport(baseURL, opts)
	if err != nil {
		return nil, err
	}
	t.secrets = []string{apiKey.Reveal()}
	t.auth = func(r *http.Request) { r.Header.Set("Authorization", "ApiKey "+apiKey.Reveal()) }
	t.decodeError = t.decodeAPIError
	if !opts.DisablePacing {
		t.pacer = newPacer(t.log)
	}
	return &ProjectClient{t: t}, nil
}

// Endpoint returns the base URL the client talks to.
func (c *ProjectClient) Endpoint() string { return c.t.base.String() }

func projectsPath(typ model.ProjectType) string {
	return "/api/v1/serverless/projects/" + url.PathEscape(string(typ))
}

func projectPath(typ model.ProjectType, id string) string {
	return projectsPath(typ) + "/" + url.PathEscape(id)
}

func ifMatch(etag string) http.Header {
	if etag == "" {
		return nil
	}
	return http.Header{"If-Match": []string{etag}}
}

// maxListPages bounds next_page following, in case a server keeps handing
// out tokens.
const maxListPages = 10000

// List returns every project of the type; with tags, only projects carrying
// all of them (the API's tags[k]=v filter). It follows next_page when the
// API sends one.
func (c *ProjectClient) List(ctx context.Context, typ model.ProjectType, tags map[string]string) ([]Project, error) {
	q := url.Values{}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Set("tags["+k+"]", tags[k])
	}
	var out []Project
	seen := map[string]bool{}
	for page := 0; page < maxListPages; page++ {
		res, err := c.t.do(ctx, &call{method: http.MethodGet, path: projectsPath(typ), query: q, mode: retrySafe})
		if err != nil {
			return nil, err
		}
		var body struct {
			Items    []Project `json:"items"`
			NextPage string    `json:"next_page"`
		}
		if err := decode(res, &body); err != nil {
			return nil, fmt.Errorf("list %s projects: %w", typ, err)
		}
		out = append(out, body.Items...)
		if body.NextPage == "" || seen[body.NextPage] {
			return out, nil
		}
		seen[body.NextPage] = true
		q = cloneValues(q)
		q.Set("next_page", body.NextPage)
	}
	return nil, fmt.Errorf("list %s projects: more than %d pages; giving up", typ, maxListPages)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Get reads one project with its ETag.
func (c *ProjectClient) Get(ctx context.Context, typ model.ProjectType, id string) (*Project, error) {
	res, err := c.t.do(ctx, &call{method: http.MethodGet, path: projectPath(typ, id), mode: retrySafe})
	if err != nil {
		return nil, err
	}
	var p Project
	if err := decode(res, &p); err != nil {
		return nil, fmt.Errorf("read project %s: %w", id, err)
	}
	p.ETag = res.header.Get("ETag")
	return &p, nil
}

// Create creates a project. The answer holds the admin credentials, which
// are shown only this once: hand them to the credentials file before doing
// anything else. A create is never repeated after an ambiguous failure; such
// a failure returns an error for which IsOutcomeUnknown is true, and the
// caller must look for the project by its tags before trying again.
func (c *ProjectClient) Create(ctx context.Context, typ model.ProjectType, req *CreateProjectRequest) (*CreatedProject, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	res, err := c.t.do(ctx, &call{method: http.MethodPost, path: projectsPath(typ), body: body, mode: retryNever})
	if err != nil {
		return nil, err
	}
	var p CreatedProject
	if err := decode(res, &p); err != nil {
		// The project exists but we could not read its credentials.
		return nil, &OutcomeUnknownError{Method: http.MethodPost, Path: projectsPath(typ), Err: err}
	}
	p.ETag = res.header.Get("ETag")
	return &p, nil
}

// Patch updates a project. With a non-empty ifMatch the change applies only
// if the project is still at that version (else 412, IsPreconditionFailed);
// such a conditional patch is retried on 429/5xx/connection loss because a
// repetition of an applied patch fails with 412 rather than applying twice —
// a 412 after such an ambiguous attempt is reported as IsOutcomeUnknown. A
// patch without ifMatch is not repeated after an ambiguous failure.
func (c *ProjectClient) Patch(ctx context.Context, typ model.ProjectType, id string, req *PatchProjectRequest, ifMatchETag string) (*Project, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	mode := retryNever
	if ifMatchETag != "" {
		mode = retryConditional
	}
	res, err := c.t.do(ctx, &call{method: http.MethodPatch, path: projectPath(typ, id), body: body,
		header: ifMatch(ifMatchETag), mode: mode})
	if err != nil {
		return nil, err
	}
	var p Project
	if err := decode(res, &p); err != nil {
		return nil, fmt.Errorf("patch project %s: %w", id, err)
	}
	p.ETag = res.header.Get("ETag")
	return &p, nil
}

// Delete schedules a project's deletion (it goes through phase deleting).
// Retries follow Patch's rules.
func (c *ProjectClient) Delete(ctx context.Context, typ model.ProjectType, id string, ifMatchETag string) error {
	mode := retryNever
	if ifMatchETag != "" {
		mode = retryConditional
	}
	_, err := c.t.do(ctx, &call{method: http.MethodDelete, path: projectPath(typ, id),
		header: ifMatch(ifMatchETag), mode: mode})
	return err
}

// Status reads a project's lifecycle phase.
func (c *ProjectClient) Status(ctx context.Context, typ model.ProjectType, id string) (*ProjectStatus, error) {
	res, err := c.t.do(ctx, &call{method: http.MethodGet, path: projectPath(typ, id) + "/status", mode: retrySafe})
	if err != nil {
		return nil, err
	}
	var s ProjectStatus
	if err := decode(res, &s); err != nil {
		return nil, fmt.Errorf("read status of project %s: %w", id, err)
	}
	return &s, nil
}

// ResetCredentials issues new admin credentials; the old password stops
// working. It is retried after ambiguous failures: if an earlier attempt did
// reset, the repetition resets again and returns the credentials that are
// valid now, which is what the caller wants.
func (c *ProjectClient) ResetCredentials(ctx context.Context, typ model.ProjectType, id string, ifMatchETag string) (*ProjectCredentials, error) {
	res, err := c.t.do(ctx, &call{method: http.MethodPost, path: projectPath(typ, id) + "/_reset-credentials",
		header: ifMatch(ifMatchETag), mode: retrySafe})
	if err != nil {
		return nil, err
	}
	var cr ProjectCredentials
	if err := decode(res, &cr); err != nil {
		return nil, fmt.Errorf("reset credentials of project %s: %w", id, err)
	}
	return &cr, nil
}

// Regions lists the regions projects can live in.
func (c *ProjectClient) Regions(ctx context.Context) ([]model.Region, error) {
	res, err := c.t.do(ctx, &call{method: http.MethodGet, path: "/api/v1/serverless/regions", mode: retrySafe})
	if err != nil {
		return nil, err
	}
	var rs []model.Region
	if err := decode(res, &rs); err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	return rs, nil
}

// Region reads one region (IsNotFound when it does not exist).
func (c *ProjectClient) Region(ctx context.Context, id string) (*model.Region, error) {
	res, err := c.t.do(ctx, &call{method: http.MethodGet, path: "/api/v1/serverless/regions/" + url.PathEscape(id), mode: retrySafe})
	if err != nil {
		return nil, err
	}
	var r model.Region
	if err := decode(res, &r); err != nil {
		return nil, fmt.Errorf("read region %s: %w", id, err)
	}
	return &r, nil
}

// decode parses a successful JSON answer. The error never quotes the body,
// which may hold credentials.
func decode(res *response, v any) error {
	if err := json.Unmarshal(res.body, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("unreadable answer (HTTP %d): invalid JSON at byte %d", res.status, se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("unexpected answer (HTTP %d): field %q has the wrong type (%s)", res.status, te.Field, te.Value)
		}
		return fmt.Errorf("unreadable answer (HTTP %d)", res.status)
	}
	return nil
}
