package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/model"
)

const testAPIKey = "essu_SECRETCLOUDKEY_abc123"

// fastRetry keeps retry tests quick.
var fastRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 60 * time.Millisecond}

func newProjectClient(t *testing.T, url string, log *slog.Logger) *ProjectClient {
	t.Helper()
	c, err := NewProjectClient(url, model.Secret(testAPIKey), Options{UserAgent: UserAgent("1.2.3"), Retry: fastRetry, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiErrBody(code, msg string) map[string]any {
	return map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}}
}

func TestEndpointFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", nil, DefaultEndpoint},
		{"EC_ENDPOINT", map[string]string{"EC_ENDPOINT": "http://127.0.0.1:9000/"}, "http://127.0.0.1:9000"},
		{"EC_HOST fallback", map[string]string{"EC_HOST": "https://h.example"}, "https://h.example"},
		{"EC_ENDPOINT wins", map[string]string{"EC_ENDPOINT": "https://a", "EC_HOST": "https://b"}, "https://a"},
		{"bare host gets https", map[string]string{"EC_HOST": "api.example.com"}, "https://api.example.com"},
		{"blank ignored", map[string]string{"EC_ENDPOINT": "  ", "EC_HOST": "https://b"}, "https://b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EndpointFromEnv(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewProjectClientRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, url, key, want string
	}{
		{"no key", "https://x", "", "EC_API_KEY"},
		{"relative url", "api.example.com", "k", "absolute URL"},
		{"ftp", "ftp://x", "k", "scheme"},
		{"userinfo", "https://u:p@x", "k", "credentials do not belong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewProjectClient(tt.url, model.Secret(tt.key), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), ":p@") {
				t.Fatalf("error leaks URL credentials: %v", err)
			}
		})
	}
}

func TestListFollowsNextPageAndSendsHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RawQuery)
		mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "ApiKey "+testAPIKey {
			writeJSON(w, 401, apiErrBody("auth.invalid", "bad key"))
			return
		}
		if got := r.Header.Get("User-Agent"); got != "slsync/1.2.3" {
			writeJSON(w, 400, apiErrBody("ua", "user agent "+got))
			return
		}
		if r.URL.Path != "/api/v1/serverless/projects/observability" {
			writeJSON(w, 404, apiErrBody("not_found", r.URL.Path))
			return
		}
		if r.URL.Query().Get("tags[env]") != "prod" || r.URL.Query().Get("tags[team]") != "a" {
			writeJSON(w, 400, apiErrBody("filter", "missing tag filter"))
			return
		}
		switch r.URL.Query().Get("next_page") {
		case "":
			writeJSON(w, 200, map[string]any{"items": []map[string]any{{"id": "p1", "type": "observability"}}, "next_page": "tok2"})
		case "tok2":
			writeJSON(w, 200, map[string]any{"items": []map[string]any{{"id": "p2", "type": "observability", "product_tier": "logs_essentials"}}})
		}
	}))
	defer srv.Close()
	c := newProjectClient(t, srv.URL, nil)
	ps, err := c.List(context.Background(), model.Observability, map[string]string{"env": "prod", "team": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].ID != "p1" || ps[1].ID != "p2" || ps[1].ProductTier != "logs_essentials" {
		t.Fatalf("projects = %+v", ps)
	}
	if len(seen) != 2 {
		t.Fatalf("calls = %v, want 2", seen)
	}
}

func TestGetRetriesReadsOn429And5xx(t *testing.T) {
	tests := []struct {
		name     string
		failures []int
		want     int // calls
		wantErr  int // status of the final error, 0 = success
	}{
		{"429 then ok", []int{429}, 2, 0},
		{"500 502 503 then ok", []int{500, 502, 503}, 4, 0},
		{"always 503", []int{503, 503, 503, 503, 503}, 4, 503},
		{"404 not retried", []int{404}, 1, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if n <= len(tt.failures) {
					writeJSON(w, tt.failures[n-1], apiErrBody("x", "failure"))
					return
				}
				w.Header().Set("ETag", `"v7"`)
				w.Header().Set("X-Ratelimit-Remaining", "99")
				writeJSON(w, 200, map[string]any{"id": "abc", "type": "elasticsearch"})
			}))
			defer srv.Close()
			p, err := newProjectClient(t, srv.URL, nil).Get(context.Background(), model.Elasticsearch, "abc")
			if got := int(calls.Load()); got != tt.want {
				t.Errorf("calls = %d, want %d", got, tt.want)
			}
			if tt.wantErr != 0 {
				if StatusOf(err) != tt.wantErr {
					t.Fatalf("err = %v, want status %d", err, tt.wantErr)
				}
				return
			}
			if err != nil || p.ETag != `"v7"` || p.ID != "abc" {
				t.Fatalf("p=%+v err=%v", p, err)
			}
		})
	}
}

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "3600")
			writeJSON(w, 429, apiErrBody("rate_limited", "slow down"))
			return
		}
		writeJSON(w, 200, []model.Region{{ID: "aws-us-east-1"}})
	}))
	defer srv.Close()
	start := time.Now()
	rs, err := newProjectClient(t, srv.URL, nil).Regions(context.Background())
	if err != nil || len(rs) != 1 {
		t.Fatalf("rs=%v err=%v", rs, err)
	}
	// Base delay is 1 ms; only Retry-After (capped at MaxRetryAfter=60ms)
	// explains a wait this long.
	if el := time.Since(start); el < fastRetry.MaxRetryAfter {
		t.Fatalf("returned after %v, before the Retry-After cap %v", el, fastRetry.MaxRetryAfter)
	}
}

func TestContextCancelStopsBackoff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, 429, apiErrBody("rate_limited", "slow down"))
	}))
	defer srv.Close()
	c, err := NewProjectClient(srv.URL, model.Secret(testAPIKey), Options{Retry: RetryPolicy{MaxAttempts: 10, MaxRetryAfter: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Regions(ctx); done <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Regions did not return after cancel")
	}
}

// hijackClose reads the request and drops the connection without answering:
// the server processed it, the client cannot know.
func hijackClose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestCreateIsNotRetriedWhenOutcomeUnknown(t *testing.T) {
	tests := []struct {
		name        string
		first       func(w http.ResponseWriter)
		wantCalls   int
		wantUnknown bool
	}{
		{"500", func(w http.ResponseWriter) { writeJSON(w, 500, apiErrBody("internal", "boom")) }, 1, true},
		{"connection dropped after the request", hijackClose, 1, true},
		{"429 is retried", func(w http.ResponseWriter) { writeJSON(w, 429, apiErrBody("rate", "later")) }, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				if calls.Add(1) == 1 {
					tt.first(w)
					return
				}
				w.Header().Set("ETag", `"1"`)
				writeJSON(w, 201, map[string]any{"id": "newid", "credentials": map[string]string{"username": "admin", "password": "pw-SECRET-1"}})
			}))
			defer srv.Close()
			p, err := newProjectClient(t, srv.URL, nil).Create(context.Background(), model.Elasticsearch, &CreateProjectRequest{Name: "n", RegionID: "r"})
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if IsOutcomeUnknown(err) != tt.wantUnknown {
				t.Fatalf("IsOutcomeUnknown(%v) = %v, want %v", err, !tt.wantUnknown, tt.wantUnknown)
			}
			if !tt.wantUnknown {
				if err != nil || p.Credentials.Password.Reveal() != "pw-SECRET-1" || p.ETag != `"1"` {
					t.Fatalf("p=%+v err=%v", p, err)
				}
			}
		})
	}
}

func TestCreateRetriesWhenNothingWasSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // connection refused from now on
	c := newProjectClient(t, "http://"+addr, nil)
	_, err = c.Create(context.Background(), model.Security, &CreateProjectRequest{Name: "n", RegionID: "r"})
	var te *TransportError
	if !errors.As(err, &te) || te.Attempts != fastRetry.MaxAttempts || IsOutcomeUnknown(err) {
		t.Fatalf("err = %#v, want a TransportError after %d attempts", err, fastRetry.MaxAttempts)
	}
}

func TestConditionalPatchRetriesAndReportsAmbiguous412(t *testing.T) {
	tests := []struct {
		name        string
		script      []int // statuses per attempt; 0 = drop the connection after applying
		wantCalls   int
		wantUnknown bool
		wantStatus  int
	}{
		{"503 then ok", []int{503, 200}, 2, false, 0},
		{"dropped then 412: our own change", []int{0, 412}, 2, true, 0},
		{"plain 412: someone else's change", []int{412}, 1, false, 412},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if r.Header.Get("If-Match") != `"e1"` {
					writeJSON(w, 400, apiErrBody("no_if_match", "missing If-Match"))
					return
				}
				switch st := tt.script[n-1]; st {
				case 0:
					hijackClose(w)
				case 200:
					w.Header().Set("ETag", `"e2"`)
					writeJSON(w, 200, map[string]any{"id": "abc", "name": "new"})
				default:
					writeJSON(w, st, apiErrBody("precondition_failed", "stale"))
				}
			}))
			defer srv.Close()
			name := "new"
			p, err := newProjectClient(t, srv.URL, nil).Patch(context.Background(), model.Elasticsearch, "abc", &PatchProjectRequest{Name: &name}, `"e1"`)
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if IsOutcomeUnknown(err) != tt.wantUnknown {
				t.Fatalf("IsOutcomeUnknown(%v) != %v", err, tt.wantUnknown)
			}
			if tt.wantStatus != 0 && !IsPreconditionFailed(err) {
				t.Fatalf("err = %v, want 412", err)
			}
			if !tt.wantUnknown && tt.wantStatus == 0 && (err != nil || p.ETag != `"e2"`) {
				t.Fatalf("p=%+v err=%v", p, err)
			}
		})
	}
}

func TestUnconditionalDeleteIsNotRetriedOn5xx(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 502, apiErrBody("bad_gateway", "upstream"))
	}))
	defer srv.Close()
	err := newProjectClient(t, srv.URL, nil).Delete(context.Background(), model.Elasticsearch, "abc", "")
	if !IsOutcomeUnknown(err) || calls.Load() != 1 {
		t.Fatalf("err=%v calls=%d", err, calls.Load())
	}
}

func TestPatchBodyTagsAndSearchLake(t *testing.T) {
	five := 5
	v := "prod"
	tests := []struct {
		name string
		req  PatchProjectRequest
		want string
	}{
		{"tags set and removed", PatchProjectRequest{Metadata: &PatchMetadata{Tags: map[string]*string{"env": &v, "old": nil}}},
			`{"metadata":{"tags":{"env":"prod","old":null}}}`},
		{"search lake", PatchProjectRequest{SearchLake: &model.SearchLake{BoostWindow: &five}},
			`{"search_lake":{"boost_window":5}}`},
		{"search lake reset", PatchProjectRequest{RawSearchLake: json.RawMessage(`null`)}, `{"search_lake":null}`},
		{"empty", PatchProjectRequest{}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.req)
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}

func TestAPIErrorsAreReadableAndClassified(t *testing.T) {
	tests := []struct {
		status int
		body   string
		check  func(error) bool
		want   string
	}{
		{404, `{"errors":[{"code":"project.not_found","message":"project abc not found"}]}`, IsNotFound, "project abc not found (project.not_found)"},
		{409, `{"errors":[{"code":"c","message":"busy"}]}`, IsConflict, "409 Conflict: busy (c)"},
		{401, `{"errors":[{"code":"root.unauthorized","message":"bad key"}]}`, IsUnauthorized, "EC_API_KEY"},
		{400, `<html>proxy error</html>`, func(err error) bool { return StatusOf(err) == 400 }, "<html>proxy error</html>"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			_, err := newProjectClient(t, srv.URL, nil).Get(context.Background(), model.Security, "abc")
			if !tt.check(err) || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), "GET /api/v1/serverless/projects/security/abc") {
				t.Fatalf("err = %v", err)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tt.status {
				t.Fatalf("not an APIError: %#v", err)
			}
		})
	}
}

// TestSecretsNeverInErrorsOrLogs makes a server echo everything it got — the
// Authorization header and the created password — into error messages, and
// checks that neither errors nor debug logs carry the secrets.
func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	const password = "PROJECT-PASSWORD-xyz"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/_reset-credentials"):
			writeJSON(w, 200, map[string]string{"username": "admin", "password": password})
		case strings.HasPrefix(r.URL.Path, "/es/"):
			writeJSON(w, 401, map[string]any{"error": map[string]any{"type": "security_exception",
				"reason": "bad auth header " + r.Header.Get("Authorization") + " pw " + password}, "status": 401})
		default:
			writeJSON(w, 500, apiErrBody("echo", "got header "+r.Header.Get("Authorization")))
		}
	}))
	defer srv.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newProjectClient(t, srv.URL, log)
	ctx := context.Background()
	var errs []error
	_, err := c.Get(ctx, model.Elasticsearch, "abc")
	errs = append(errs, err)
	_, err = c.Create(ctx, model.Elasticsearch, &CreateProjectRequest{Name: "x", RegionID: "y"})
	errs = append(errs, err)
	cr, err := c.ResetCredentials(ctx, model.Elasticsearch, "abc", "")
	if err != nil || cr.Password.Reveal() != password {
		t.Fatalf("reset: %v", err)
	}
	es, err := NewESClient(srv.URL+"/es/abc", "admin", model.Secret(password), Options{Logger: log, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	_, err = es.QueryAPIKeys(ctx, &QueryAPIKeysRequest{})
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		for _, s := range []string{testAPIKey, password} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error leaks a secret: %v", err)
			}
		}
	}
	formatted := []string{
		strings.Join([]string{cr.Password.String()}, ""),
	}
	b, _ := json.Marshal(cr)
	formatted = append(formatted, string(b))
	for _, s := range append(formatted, logs.String()) {
		if strings.Contains(s, testAPIKey) || strings.Contains(s, password) {
			t.Errorf("secret leaked into %q", s)
		}
	}
	if !strings.Contains(logs.String(), "API call") {
		t.Fatalf("expected debug logs, got %q", logs.String())
	}
}
