package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
)

// FuzzRequestBodies sends arbitrary bodies to every route that decodes one.
// The emulator answers each with a client error or a success, never a
// panic and never a 5xx (faults are off): a real client's malformed request
// must get the kind of answer Elasticsearch or the Project API would give.
func FuzzRequestBodies(f *testing.F) {
	seeds := []string{
		`{"name":"p","region_id":"aws-us-east-1"}`,
		`{"name":"x","metadata":{"tags":{"a":null,"b":"c"}},"search_lake":null}`,
		`{"name":"k","expiration":"1d","role_descriptors":{"r":{"indices":[{"names":"a","privileges":["read"],"query":{"match_all":{}}}]}},"metadata":{"a":[1,{"b":null}]}}`,
		`{"query":{"bool":{"must":[{"term":{"name":"k"}}],"should":[{"range":{"creation":{"gte":"now-1d"}}}]}},"sort":["creation",{"name":{"order":"desc"}}],"search_after":[1,"a"],"size":3}`,
		`{"query":{"simple_query_string":{"query":"k* -x"}},"aggs":{"n":{"terms":{"field":"name"}}}}`,
		`{"ids":["a",""],"role_descriptors":{},"metadata":{"_x":1}}`,
		`{"ids":["a"],"name":"b*","owner":"true"}`,
		`[]`, `null`, `{"name":1e999}`, `{"a":` + "\x00" + `}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	srv, err := emulator.New(emulator.Options{APIKey: "fuzz-key"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	do := func(method, path, auth string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "http://127.0.0.1"+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	cloud := "ApiKey fuzz-key"
	rec := do("POST", "/api/v1/serverless/projects/elasticsearch", cloud, []byte(`{"name":"fuzz","region_id":"aws-us-east-1"}`))
	var p struct {
		ID          string `json:"id"`
		Credentials struct{ Username, Password string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusCreated {
		f.Fatalf("creating the project: %d %s", rec.Code, rec.Body)
	}
	admin := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.Credentials.Username+":"+p.Credentials.Password))
	rec = do("POST", "/es/"+p.ID+"/_security/api_key", admin, []byte(`{"name":"seed"}`))
	var k struct{ ID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &k)

	routes := []struct{ method, path, auth string }{
		{"POST", "/api/v1/serverless/projects/security", cloud},
		{"PATCH", "/api/v1/serverless/projects/elasticsearch/" + p.ID, cloud},
		{"POST", "/es/" + p.ID + "/_security/api_key", admin},
		{"POST", "/es/" + p.ID + "/_security/_query/api_key", admin},
		{"PUT", "/es/" + p.ID + "/_security/api_key/" + k.ID, admin},
		{"POST", "/es/" + p.ID + "/_security/api_key/_bulk_update", admin},
		{"DELETE", "/es/" + p.ID + "/_security/api_key", admin},
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		rec := do(r.method, r.path, r.auth, body)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.method, r.path, body, rec.Code, rec.Body)
		}
	})
}
