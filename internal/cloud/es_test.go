package cloud

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slsync/slsync/internal/model"
)

// keyIndex is a tiny Elasticsearch _query/api_key over a fixed key list: it
// sorts by (creation, name) and applies size and search_after the way
// Elasticsearch does (strictly after), ignoring the query.
type keyIndex struct {
	keys  []APIKey
	calls atomic.Int32
}

func (ix *keyIndex) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ix.calls.Add(1)
	if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "pw" {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"type": "security_exception", "reason": "unable to authenticate"}, "status": 401})
		return
	}
	var body struct {
		Size        int   `json:"size"`
		SearchAfter []any `json:"search_after"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"type": "parse_exception", "reason": err.Error()}, "status": 400})
		return
	}
	keys := append([]APIKey(nil), ix.keys...)
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].Creation != keys[j].Creation {
			return keys[i].Creation < keys[j].Creation
		}
		return keys[i].Name < keys[j].Name
	})
	start := 0
	if len(body.SearchAfter) == 2 {
		c, n := int64(body.SearchAfter[0].(float64)), body.SearchAfter[1].(string)
		for start < len(keys) && (keys[start].Creation < c || keys[start].Creation == c && keys[start].Name <= n) {
			start++
		}
	}
	end := min(len(keys), start+body.Size)
	page := keys[start:end]
	out := make([]map[string]any, 0, len(page))
	for _, k := range page {
		out = append(out, map[string]any{"id": k.ID, "name": k.Name, "creation": k.Creation, "invalidated": false,
			"username": "admin", "metadata": map[string]any{}, "role_descriptors": map[string]any{},
			"_sort": []any{k.Creation, k.Name}})
	}
	writeJSON(w, 200, map[string]any{"total": len(keys), "count": len(out), "api_keys": out})
}

func TestQueryAPIKeysPagesWithoutLosingTiedKeys(t *testing.T) {
	tests := []struct {
		name      string
		keys      func() []APIKey
		size      int
		wantCalls int32
		wantErr   string
	}{
		{"fits in one page", func() []APIKey { return mkKeys(10, func(i int) (int64, string) { return int64(i), "k" }) }, 10, 1, ""},
		{"two pages", func() []APIKey { return mkKeys(15, func(i int) (int64, string) { return int64(i), "k" }) }, 10, 2, ""},
		{"tie across the page boundary", func() []APIKey {
			// Keys 8..12 share creation and name: a strict search_after
			// from key 9 would skip 10, 11, 12.
			return mkKeys(15, func(i int) (int64, string) {
				if i >= 8 && i <= 12 {
					return 8, "same"
				}
				return int64(i), "k"
			})
		}, 10, 2, ""},
		{"a whole page tied", func() []APIKey { return mkKeys(12, func(int) (int64, string) { return 5, "same" }) }, 10, 1, "cannot page past"},
		{"empty", func() []APIKey { return nil }, 10, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := &keyIndex{keys: tt.keys()}
			srv := httptest.NewServer(ix)
			defer srv.Close()
			es, err := NewESClient(srv.URL, "admin", model.Secret("pw"), Options{Retry: fastRetry})
			if err != nil {
				t.Fatal(err)
			}
			got, err := es.QueryAPIKeys(context.Background(), &QueryAPIKeysRequest{Size: tt.size})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, k := range got {
				ids[k.ID] = true
			}
			if len(got) != len(ix.keys) || len(ids) != len(ix.keys) {
				t.Fatalf("got %d keys (%d distinct), want %d", len(got), len(ids), len(ix.keys))
			}
			if c := ix.calls.Load(); c != tt.wantCalls {
				t.Fatalf("calls = %d, want %d", c, tt.wantCalls)
			}
		})
	}
}

func mkKeys(n int, f func(i int) (int64, string)) []APIKey {
	out := make([]APIKey, n)
	for i := range out {
		c, name := f(i)
		out[i] = APIKey{ID: "id" + string(rune('a'+i)), Name: name, Creation: c}
	}
	return out
}

func TestESErrorsAreDecoded(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantType   string
		wantReason string
	}{
		{"envelope", 400, `{"error":{"root_cause":[],"type":"illegal_argument_exception","reason":"cannot update expired API key [x]"},"status":400}`,
			"illegal_argument_exception", "cannot update expired API key [x]"},
		{"plain text", 502, "Bad Gateway\nmore", "", "Bad Gateway"},
		{"string error", 400, `{"error":"old style","status":400}`, "", "old style"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			es, _ := NewESClient(srv.URL+"/es/p1", "admin", model.Secret("pw"), Options{Retry: RetryPolicy{MaxAttempts: 1}})
			_, err := es.UpdateAPIKey(context.Background(), "x", &UpdateAPIKeyRequest{Metadata: map[string]any{}})
			e, ok := err.(*ESError)
			if !ok || e.Status != tt.status || e.Type != tt.wantType || e.Reason != tt.wantReason || e.Path != "/_security/api_key/x" {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

func TestCreateAPIKeyBodyAndSecret(t *testing.T) {
	tests := []struct {
		name string
		req  CreateAPIKeyRequest
		want string
	}{
		{"inherits owner privileges", CreateAPIKeyRequest{Name: "a"}, `{"name":"a"}`},
		{"explicit empty descriptors", CreateAPIKeyRequest{Name: "a", RoleDescriptors: map[string]any{}, Metadata: map[string]any{"slsync_owner": "o"}, Expiration: "30d"},
			`{"name":"a","expiration":"30d","role_descriptors":{},"metadata":{"slsync_owner":"o"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = string(b)
				writeJSON(w, 200, map[string]any{"id": "k1", "name": "a", "api_key": "SECRETVALUE", "encoded": "ZW5jb2RlZA=="})
			}))
			defer srv.Close()
			es, _ := NewESClient(srv.URL, "admin", model.Secret("pw"), Options{})
			k, err := es.CreateAPIKey(context.Background(), &tt.req)
			if err != nil || got != tt.want {
				t.Fatalf("body %s (err %v), want %s", got, err, tt.want)
			}
			if k.APIKey.Reveal() != "SECRETVALUE" || k.Encoded.Reveal() != "ZW5jb2RlZA==" {
				t.Fatalf("key = %+v", k)
			}
			if b, _ := json.Marshal(k); strings.Contains(string(b), "SECRETVALUE") {
				t.Fatalf("marshalled key leaks the secret: %s", b)
			}
		})
	}
}

func TestInvalidateAndAuthenticate(t *testing.T) {
	var inv atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete && r.URL.Path == "/_security/api_key":
			var b struct{ IDs []string }
			_ = json.NewDecoder(r.Body).Decode(&b)
			if inv.Add(1) == 1 {
				writeJSON(w, 503, map[string]any{"error": map[string]any{"type": "unavailable", "reason": "later"}})
				return
			}
			writeJSON(w, 200, map[string]any{"invalidated_api_keys": b.IDs, "previously_invalidated_api_keys": []string{}, "error_count": 0})
		case r.URL.Path == "/_security/_authenticate":
			u, _, _ := r.BasicAuth()
			writeJSON(w, 200, map[string]any{"username": u, "roles": []string{"admin"}, "authentication_type": "realm"})
		}
	}))
	defer srv.Close()
	es, _ := NewESClient(srv.URL, "admin", model.Secret("pw"), Options{Retry: fastRetry})
	res, err := es.InvalidateAPIKeys(context.Background(), []string{"a", "b"})
	if err != nil || len(res.Invalidated) != 2 || inv.Load() != 2 {
		t.Fatalf("res=%+v err=%v calls=%d", res, err, inv.Load())
	}
	who, err := es.Authenticate(context.Background())
	if err != nil || who.Username != "admin" {
		t.Fatalf("who=%+v err=%v", who, err)
	}
}
