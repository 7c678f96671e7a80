// Package emulatortest starts the emulator on a loopback port for tests and
// sets up state in it over real HTTP, exactly as a client would, so that
// tests of other packages never depend on the emulator's internals.
package emulatortest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator"
)

// Env is a running emulator.
type Env struct {
	URL    string // http://127.0.0.1:<port>
	APIKey string // the Cloud API key
	Server *emulator.Server
	Client *http.Client

	mu    sync.Mutex
	creds map[string][2]string // project id -> admin username, password
	es    map[string]string    // project id -> Elasticsearch endpoint
}

// Start runs an emulator with opts on 127.0.0.1 and closes it when the test
// ends.
func Start(t testing.TB, opts emulator.Options) *Env {
	t.Helper()
	srv, err := emulator.New(opts)
	if err != nil {
		t.Fatalf("emulatortest: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	})
	return &Env{URL: hs.URL, APIKey: srv.APIKey(), Server: srv, Client: &http.Client{Timeout: 30 * time.Second},
		creds: map[string][2]string{}, es: map[string]string{}}
}

// Response is an answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it cannot.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("emulatortest: decoding %s: %v", r.Body, err)
	}
}

// Do sends a request with the given Authorization header value ("" for
// none) and optional extra headers as "Name: value" strings. body may be
// nil, a string, []byte or any value to encode as JSON.
func (e *Env) Do(t testing.TB, method, url, auth string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("emulatortest: encoding body: %v", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("emulatortest: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("emulatortest: %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("emulatortest: reading %s %s: %v", method, url, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Cloud sends a Project API request (path relative to URL) with the Cloud
// API key.
func (e *Env) Cloud(t testing.TB, method, path string, body any, headers ...string) Response {
	t.Helper()
	return e.Do(t, method, e.URL+path, "ApiKey "+e.APIKey, body, headers...)
}

// CreateProject creates a project of type typ from bodyJSON and returns its
// id, Elasticsearch endpoint and admin credentials (remembered for
// CreateAPIKey and ES).
func (e *Env) CreateProject(t testing.TB, typ, bodyJSON string) (id, esEndpoint, username, password string) {
	t.Helper()
	r := e.Cloud(t, http.MethodPost, "/api/v1/serverless/projects/"+typ, bodyJSON)
	if r.Status != http.StatusCreated {
		t.Fatalf("emulatortest: creating %s project: %d %s", typ, r.Status, r.Body)
	}
	var p struct {
		ID        string `json:"id"`
		Endpoints struct {
			Elasticsearch string `json:"elasticsearch"`
		} `json:"endpoints"`
		Credentials struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"credentials"`
	}
	r.JSON(t, &p)
	e.mu.Lock()
	e.creds[p.ID] = [2]string{p.Credentials.Username, p.Credentials.Password}
	e.es[p.ID] = p.Endpoints.Elasticsearch
	e.mu.Unlock()
	return p.ID, p.Endpoints.Elasticsearch, p.Credentials.Username, p.Credentials.Password
}

// SetCredentials records new admin credentials for a project (after a
// _reset-credentials made by the test itself).
func (e *Env) SetCredentials(projectID, username, password string) {
	e.mu.Lock()
	e.creds[projectID] = [2]string{username, password}
	e.mu.Unlock()
}

// Phase returns the project's status.phase.
func (e *Env) Phase(t testing.TB, typ, id string) string {
	t.Helper()
	r := e.Cloud(t, http.MethodGet, "/api/v1/serverless/projects/"+typ+"/"+id+"/status", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("emulatortest: status of %s: %d %s", id, r.Status, r.Body)
	}
	var st struct {
		Phase string `json:"phase"`
	}
	r.JSON(t, &st)
	return st.Phase
}

// WaitInitialized polls the project's status until it is initialized
// (immediately with the zero InitDelay), failing after 30 s.
func (e *Env) WaitInitialized(t testing.TB, typ, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ph := e.Phase(t, typ, id)
		if ph == "initialized" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulatortest: project %s still %s after 30s", id, ph)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// AdminAuth is the Basic Authorization header of the project's admin.
func (e *Env) AdminAuth(t testing.TB, projectID string) string {
	t.Helper()
	e.mu.Lock()
	c, ok := e.creds[projectID]
	e.mu.Unlock()
	if !ok {
		t.Fatalf("emulatortest: no credentials known for project %s (create it with CreateProject)", projectID)
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c[0]+":"+c[1]))
}

// ESURL is the project's Elasticsearch endpoint joined with path.
func (e *Env) ESURL(projectID, path string) string {
	e.mu.Lock()
	base, ok := e.es[projectID]
	e.mu.Unlock()
	if !ok {
		base = e.URL + "/es/" + projectID
	}
	return base + path
}

// ES sends a request to the project's Elasticsearch as its admin.
func (e *Env) ES(t testing.TB, projectID, method, path string, body any) Response {
	t.Helper()
	return e.Do(t, method, e.ESURL(projectID, path), e.AdminAuth(t, projectID), body)
}

// CreateAPIKey creates an API key in the project as its admin and returns
// the key's id and encoded value (for `Authorization: ApiKey <encoded>`).
func (e *Env) CreateAPIKey(t testing.TB, projectID, bodyJSON string) (id, encoded string) {
	t.Helper()
	r := e.ES(t, projectID, http.MethodPost, "/_security/api_key", bodyJSON)
	if r.Status != http.StatusOK {
		t.Fatalf("emulatortest: creating API key in %s: %d %s", projectID, r.Status, r.Body)
	}
	var k struct {
		ID      string `json:"id"`
		Encoded string `json:"encoded"`
	}
	r.JSON(t, &k)
	return k.ID, k.Encoded
}

// SetFaults switches faults at run time over /_emulator/faults.
func (e *Env) SetFaults(t testing.TB, f emulator.Faults) {
	t.Helper()
	body := fmt.Sprintf(`{"latency":%q,"p429":%v,"p5xx":%v,"pdrop":%v,"preset":%v}`, f.Latency.String(), f.P429, f.P5xx, f.PDrop, f.PReset)
	r := e.Cloud(t, http.MethodPut, "/_emulator/faults", body)
	if r.Status != http.StatusOK {
		t.Fatalf("emulatortest: setting faults: %d %s", r.Status, r.Body)
	}
}

// SetRateLimit switches the Project API rate limit at run time over
// /_emulator/ratelimit (a zero RateLimit turns it off).
func (e *Env) SetRateLimit(t testing.TB, rl emulator.RateLimit) {
	t.Helper()
	body := fmt.Sprintf(`{"limit":%d,"interval":%q}`, rl.Limit, rl.Interval.String())
	r := e.Cloud(t, http.MethodPut, "/_emulator/ratelimit", body)
	if r.Status != http.StatusOK {
		t.Fatalf("emulatortest: setting the rate limit: %d %s", r.Status, r.Body)
	}
}

// Stats reads the request counters over /_emulator/stats.
func (e *Env) Stats(t testing.TB) emulator.Stats {
	t.Helper()
	r := e.Cloud(t, http.MethodGet, "/_emulator/stats", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("emulatortest: reading stats: %d %s", r.Status, r.Body)
	}
	var s emulator.Stats
	r.JSON(t, &s)
	return s
}
