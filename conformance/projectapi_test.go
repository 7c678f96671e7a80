package conformance

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

// There is no official Go client for the Serverless Project API, so its
// answers are decoded strictly into the shapes written down in
// shared/reference/serverless-project-api.md: a member those shapes do not
// have fails (DisallowUnknownFields), and so does a member they require
// (every field below without `omitempty`) that the answer lacks.

type projectMetadata struct {
	CreatedAt       time.Time         `json:"created_at"`
	CreatedBy       string            `json:"created_by"`
	OrganizationID  string            `json:"organization_id"`
	SuspendedAt     *time.Time        `json:"suspended_at,omitempty"`
	SuspendedReason *string           `json:"suspended_reason,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	SystemTags      map[string]string `json:"system_tags,omitempty"`
}

type trafficFilterRef struct {
	ID string `json:"id"`
}

type linkedProject struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

type linked struct {
	Projects map[string]linkedProject `json:"projects"`
}

// projectBase holds the members every project type has.
type projectBase struct {
	ID               string             `json:"id"`
	Name             string             `json:"name"`
	Alias            string             `json:"alias"`
	RegionID         string             `json:"region_id"`
	Type             string             `json:"type"`
	CloudID          string             `json:"cloud_id"`
	PrivateEndpoints json.RawMessage    `json:"private_endpoints,omitempty"`
	TrafficFilters   []trafficFilterRef `json:"traffic_filters,omitempty"`
	Linked           *linked            `json:"linked,omitempty"`
	Metadata         projectMetadata    `json:"metadata"`
}

type esEndpoints struct {
	Elasticsearch string `json:"elasticsearch"`
	Kibana        string `json:"kibana"`
}

type esProject struct {
	projectBase
	Endpoints    esEndpoints `json:"endpoints"`
	OptimizedFor string      `json:"optimized_for"`
	SearchLake   struct {
		SearchPower int `json:"search_power"`
		BoostWindow int `json:"boost_window"`
	} `json:"search_lake"`
}

type obsProject struct {
	projectBase
	Endpoints struct {
		Elasticsearch string `json:"elasticsearch"`
		Kibana        string `json:"kibana"`
		APM           string `json:"apm"`
		Ingest        string `json:"ingest"`
	} `json:"endpoints"`
	ProductTier string `json:"product_tier"`
}

type secProject struct {
	projectBase
	Endpoints struct {
		Elasticsearch string `json:"elasticsearch"`
		Kibana        string `json:"kibana"`
		Ingest        string `json:"ingest"`
	} `json:"endpoints"`
	SearchLake struct {
		DataRetention struct {
			MaxRetentionDays     *int `json:"max_retention_days"`
			DefaultRetentionDays *int `json:"default_retention_days"`
		} `json:"data_retention"`
	} `json:"search_lake"`
	ProductTypes []struct {
		ProductLine string `json:"product_line"`
		ProductTier string `json:"product_tier"`
	} `json:"product_types"`
	AdminFeaturesPackage string `json:"admin_features_package"`
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type createdES struct {
	esProject
	Credentials credentials `json:"credentials"`
}

type createdObs struct {
	obsProject
	Credentials credentials `json:"credentials"`
}

type createdSec struct {
	secProject
	Credentials credentials `json:"credentials"`
}

type esList struct {
	Items    []esProject `json:"items"`
	NextPage *string     `json:"next_page,omitempty"`
}

type projectStatus struct {
	Phase                string    `json:"phase"`
	PhaseChangeTimestamp time.Time `json:"phase_change_timestamp"`
}

type canDelete struct {
	CanBeDeleted   bool              `json:"can_be_deleted"`
	LinkedProjects []json.RawMessage `json:"linked_projects"`
}

type region struct {
	ID                     string `json:"id"`
	Name                   string `json:"name"`
	CSP                    string `json:"csp"`
	CSPRegion              string `json:"csp_region"`
	CountryCode            string `json:"country_code"`
	ProjectCreationEnabled bool   `json:"project_creation_enabled"`
}

type multiError struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// decodeStrict decodes body into v (a pointer), failing the test on unknown
// or missing members.
func decodeStrict(t *testing.T, what string, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: strict decoding into %T: %v\nbody: %s", what, v, err, body)
	}
	if missing := missingFields(body, reflect.TypeOf(v), "$"); len(missing) > 0 {
		t.Fatalf("%s: required members missing: %s\nbody: %s", what, strings.Join(missing, ", "), body)
	}
}

// missingFields lists the members a type requires (fields without
// omitempty, embedded structs flattened) that raw lacks, recursively.
func missingFields(raw []byte, typ reflect.Type, path string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var out []string
	switch typ.Kind() {
	case reflect.Struct:
		if typ == reflect.TypeOf(time.Time{}) {
			return nil
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		var walk func(reflect.Type)
		walk = func(st reflect.Type) {
			for i := 0; i < st.NumField(); i++ {
				sf := st.Field(i)
				if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
					walk(sf.Type)
					continue
				}
				name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
				if name == "" || name == "-" {
					continue
				}
				v, ok := obj[name]
				if !ok {
					if !strings.Contains(opts, "omitempty") {
						out = append(out, path+"."+name)
					}
					continue
				}
				out = append(out, missingFields(v, sf.Type, path+"."+name)...)
			}
		}
		walk(typ)
	case reflect.Slice:
		var arr []json.RawMessage
		if typ.Elem().Kind() == reflect.Uint8 || json.Unmarshal(raw, &arr) != nil {
			return nil
		}
		for i, el := range arr {
			out = append(out, missingFields(el, typ.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		for _, k := range sortedKeys(obj) {
			out = append(out, missingFields(obj[k], typ.Elem(), path+"["+k+"]")...)
		}
	}
	return out
}

var (
	projectIDRe = regexp.MustCompile(`^[a-z0-9]{32}$`)
	etagRe      = regexp.MustCompile(`^(W/)?"[^"]+"$`)
)

func TestProjectAPIShapes(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{Seed: 11})
	const base = "/api/v1/serverless/projects/"

	// Create, one per type.
	r := env.Cloud(t, http.MethodPost, base+"elasticsearch",
		`{"name":"Search","region_id":"aws-us-east-1","alias":"search-prod","metadata":{"tags":{"team":"search","env":"prod"}},"search_lake":{"search_power":100,"boost_window":7}}`)
	if r.Status != http.StatusCreated || !etagRe.MatchString(r.Header.Get("ETag")) {
		t.Fatalf("create: %d ETag %q %s", r.Status, r.Header.Get("ETag"), r.Body)
	}
	var es createdES
	decodeStrict(t, "create elasticsearch", r.Body, &es)
	if !projectIDRe.MatchString(es.ID) || es.Alias != "search-prod-"+es.ID[:6] || es.Type != "elasticsearch" ||
		es.RegionID != "aws-us-east-1" || es.OptimizedFor != "general_purpose" || es.SearchLake.SearchPower != 100 ||
		es.Metadata.Tags["team"] != "search" || es.Credentials.Username != "admin" || es.Credentials.Password == "" ||
		!strings.Contains(es.CloudID, ":") || es.Endpoints.Elasticsearch == "" || es.Endpoints.Kibana == "" ||
		es.Metadata.CreatedAt.IsZero() {
		t.Errorf("created elasticsearch project decoded to %+v", es)
	}
	for k := range es.Metadata.SystemTags {
		if !strings.HasPrefix(k, "_") {
			t.Errorf("system tag %q does not start with _", k)
		}
	}

	r = env.Cloud(t, http.MethodPost, base+"observability", `{"name":"Logs","region_id":"aws-eu-west-1"}`)
	var obs createdObs
	decodeStrict(t, "create observability", r.Body, &obs)
	if obs.Type != "observability" || obs.ProductTier != "complete" || obs.Endpoints.APM == "" || obs.Endpoints.Ingest == "" {
		t.Errorf("created observability project decoded to %+v", obs)
	}
	r = env.Cloud(t, http.MethodPost, base+"security", `{"name":"SIEM","region_id":"gcp-us-central1"}`)
	var sec createdSec
	decodeStrict(t, "create security", r.Body, &sec)
	if sec.Type != "security" || len(sec.ProductTypes) != 3 || sec.AdminFeaturesPackage == "" || sec.Endpoints.Ingest == "" {
		t.Errorf("created security project decoded to %+v", sec)
	}

	// Get: the project without credentials, with an ETag.
	r = env.Cloud(t, http.MethodGet, base+"elasticsearch/"+es.ID, nil)
	if r.Status != http.StatusOK || !etagRe.MatchString(r.Header.Get("ETag")) {
		t.Fatalf("get: %d ETag %q", r.Status, r.Header.Get("ETag"))
	}
	var got esProject
	decodeStrict(t, "get", r.Body, &got)
	if got.ID != es.ID || got.Name != "Search" {
		t.Errorf("get decoded to %+v", got)
	}
	etag := r.Header.Get("ETag")

	// List with a tag filter: items are projects without credentials.
	r = env.Cloud(t, http.MethodGet, base+"elasticsearch?tags[team]=search", nil)
	var list esList
	decodeStrict(t, "list", r.Body, &list)
	if r.Status != http.StatusOK || len(list.Items) != 1 || list.Items[0].ID != es.ID {
		t.Errorf("list: %d %+v", r.Status, list)
	}
	r = env.Cloud(t, http.MethodGet, base+"elasticsearch?tags[team]=nobody", nil)
	decodeStrict(t, "empty list", r.Body, &list)
	if list.Items == nil || len(list.Items) != 0 {
		t.Errorf("empty list: items = %v, want []", list.Items)
	}

	// Patch: name and a tag change, tag removal by null; a new ETag.
	r = env.Cloud(t, http.MethodPatch, base+"elasticsearch/"+es.ID,
		`{"name":"Search (prod)","metadata":{"tags":{"env":null,"tier":"gold"}}}`, "If-Match: "+etag)
	if r.Status != http.StatusOK || r.Header.Get("ETag") == etag || !etagRe.MatchString(r.Header.Get("ETag")) {
		t.Fatalf("patch: %d ETag %q (was %q) %s", r.Status, r.Header.Get("ETag"), etag, r.Body)
	}
	var patched esProject
	decodeStrict(t, "patch", r.Body, &patched)
	if patched.Name != "Search (prod)" || patched.Metadata.Tags["tier"] != "gold" || patched.Metadata.Tags["team"] != "search" {
		t.Errorf("patched decoded to %+v", patched)
	}
	if _, still := patched.Metadata.Tags["env"]; still {
		t.Errorf("tag removed by null is still there: %v", patched.Metadata.Tags)
	}

	// Status, reset-credentials, can-delete, regions.
	r = env.Cloud(t, http.MethodGet, base+"elasticsearch/"+es.ID+"/status", nil)
	var st projectStatus
	decodeStrict(t, "status", r.Body, &st)
	if st.Phase != "initialized" || st.PhaseChangeTimestamp.IsZero() {
		t.Errorf("status decoded to %+v", st)
	}
	r = env.Cloud(t, http.MethodPost, base+"elasticsearch/"+es.ID+"/_reset-credentials", nil)
	var cr credentials
	decodeStrict(t, "reset credentials", r.Body, &cr)
	if r.Status != http.StatusOK || cr.Username != "admin" || cr.Password == "" || cr.Password == es.Credentials.Password {
		t.Errorf("reset credentials: %d, username %q, new password: %v", r.Status, cr.Username, cr.Password != es.Credentials.Password)
	}
	r = env.Cloud(t, http.MethodGet, base+"elasticsearch/"+es.ID+"/_can-delete", nil)
	var cd canDelete
	decodeStrict(t, "can-delete", r.Body, &cd)
	if !cd.CanBeDeleted || cd.LinkedProjects == nil {
		t.Errorf("can-delete decoded to %+v", cd)
	}
	r = env.Cloud(t, http.MethodGet, "/api/v1/serverless/regions", nil)
	var regions []region
	decodeStrict(t, "regions", r.Body, &regions)
	if len(regions) == 0 {
		t.Fatal("no regions")
	}
	r = env.Cloud(t, http.MethodGet, "/api/v1/serverless/regions/"+regions[0].ID, nil)
	var one region
	decodeStrict(t, "region", r.Body, &one)
	if one != regions[0] {
		t.Errorf("region %+v, listed as %+v", one, regions[0])
	}
}

func TestProjectAPIErrorBodies(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{Seed: 12})
	const base = "/api/v1/serverless/projects/"
	id, _, _, _ := env.CreateProject(t, "elasticsearch", `{"name":"E","region_id":"aws-us-east-1","alias":"taken"}`)

	tests := []struct {
		name    string
		method  string
		path    string
		auth    string // "" for the Cloud API key, "none" for no header
		body    any
		headers []string
		status  int
	}{
		{"no API key", http.MethodGet, base + "elasticsearch", "none", nil, nil, http.StatusUnauthorized},
		{"wrong API key", http.MethodGet, base + "elasticsearch", "ApiKey nope", nil, nil, http.StatusUnauthorized},
		{"unknown project", http.MethodGet, base + "elasticsearch/" + strings.Repeat("0", 32), "", nil, nil, http.StatusNotFound},
		{"unknown field", http.MethodPost, base + "elasticsearch", "", `{"name":"x","region_id":"aws-us-east-1","colour":"red"}`, nil, http.StatusBadRequest},
		{"missing region", http.MethodPost, base + "elasticsearch", "", `{"name":"x"}`, nil, 0},
		{"alias taken", http.MethodPost, base + "elasticsearch", "", `{"name":"x","region_id":"aws-us-east-1","alias":"taken"}`, nil, http.StatusConflict},
		{"stale If-Match", http.MethodPatch, base + "elasticsearch/" + id, "", `{"name":"y"}`, []string{`If-Match: "stale"`}, http.StatusPreconditionFailed},
		{"region_id not patchable", http.MethodPatch, base + "elasticsearch/" + id, "", `{"region_id":"aws-eu-west-1"}`, nil, 0},
		{"unknown region", http.MethodGet, "/api/v1/serverless/regions/mars-1", "", nil, nil, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := "ApiKey " + env.APIKey
			switch tc.auth {
			case "":
			case "none":
				auth = ""
			default:
				auth = tc.auth
			}
			r := env.Do(t, tc.method, env.URL+tc.path, auth, tc.body, tc.headers...)
			if tc.status != 0 && r.Status != tc.status {
				t.Errorf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if r.Status < 400 || r.Status > 499 {
				t.Fatalf("status %d, want a 4xx: %s", r.Status, r.Body)
			}
			var me multiError
			decodeStrict(t, tc.name, r.Body, &me)
			if len(me.Errors) == 0 {
				t.Fatalf("errors is empty: %s", r.Body)
			}
			for _, e := range me.Errors {
				if e.Code == "" || e.Message == "" {
					t.Errorf("error entry without code or message: %+v", e)
				}
			}
		})
	}
}
