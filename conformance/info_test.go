package conformance

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/authenticate"
)

func TestInfo(t *testing.T) {
	f := newFixture(t)
	resp, err := f.admin.Info().Do(ctx(t))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	f.strict(t, resp)
	if resp.Tagline != "You Know, for Search" || resp.Version.Int == "" {
		t.Errorf("Info decoded to %+v", resp)
	}
	if resp.ClusterName == "" || resp.ClusterUuid == "" || resp.Name == "" {
		t.Errorf("Info lacks cluster identity: %+v", resp)
	}
	if resp.Version.BuildFlavor != "serverless" {
		t.Errorf("version.build_flavor = %q, want serverless", resp.Version.BuildFlavor)
	}
	if !strings.HasPrefix(resp.Version.Int, "8.") {
		t.Errorf("version.number = %q, want an 8.x the v8 client is made for", resp.Version.Int)
	}
	x := f.rec.last(t)
	if got := x.header.Get("X-Elastic-Product"); got != "Elasticsearch" {
		t.Errorf("X-Elastic-Product = %q", got)
	}
	// The typed client asks for the v8-compatible media type; Elasticsearch
	// answers in it.
	if ct := x.header.Get("Content-Type"); !strings.Contains(ct, "compatible-with=8") {
		t.Errorf("Content-Type = %q, want the compatible-with=8 media type the client asked for", ct)
	}

	// HEAD / (Ping) answers 200 with no body.
	if ok, err := f.admin.Ping().IsSuccess(ctx(t)); !ok || err != nil {
		t.Errorf("Ping: %v %v", ok, err)
	}
	if x := f.rec.last(t); x.method != "HEAD" || x.status != 200 || len(x.body) != 0 {
		t.Errorf("Ping answered %s %d with %d body bytes", x.method, x.status, len(x.body))
	}

	// Low-level API: same endpoint through esapi, with the check as well.
	res, err := f.adminLowLvl.Info()
	if err != nil {
		t.Fatalf("esapi Info: %v", err)
	}
	defer res.Body.Close()
	if res.IsError() || res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Errorf("esapi Info: %s", res)
	}
}

// TestProductCheckIsEnforced proves that TestInfo's success means something:
// the same client against the same emulator, with X-Elastic-Product removed
// by a proxy, refuses the answer.
func TestProductCheckIsEnforced(t *testing.T) {
	f := newFixture(t)
	strip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, f.env.URL+r.URL.RequestURI(), r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			if k != "X-Elastic-Product" {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer strip.Close()
	c, err := elasticsearch.NewTypedClient(elasticsearch.Config{
		Addresses: []string{strip.URL + strings.TrimPrefix(f.esURL, f.env.URL)},
		Username:  f.user, Password: f.pass, DisableRetry: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Info().Do(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "not Elasticsearch") {
		t.Fatalf("Info through a header-stripping proxy: err = %v, want the client's product-check failure", err)
	}
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	user, err := f.admin.Security.Authenticate().Do(ctx(t))
	if err != nil {
		t.Fatalf("Authenticate as admin: %v", err)
	}
	f.strict(t, user)
	if user.Username != f.user || !user.Enabled || user.AuthenticationType != "realm" || user.ApiKey != nil {
		t.Errorf("admin Authenticate decoded to %+v", user)
	}
	if user.AuthenticationRealm.Name == "" || user.AuthenticationRealm.Type == "" || len(user.Roles) == 0 {
		t.Errorf("admin realm/roles missing: %+v", user)
	}

	key, err := f.admin.Security.CreateApiKey().Name("whoami").Do(ctx(t))
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}
	var kUser *authenticate.Response
	kUser, err = f.withKey(t, key.Encoded).Security.Authenticate().Do(ctx(t))
	if err != nil {
		t.Fatalf("Authenticate with API key: %v", err)
	}
	f.strict(t, kUser)
	if kUser.AuthenticationType != "api_key" || kUser.ApiKey == nil || kUser.ApiKey.Id != key.Id ||
		kUser.ApiKey.Name == nil || *kUser.ApiKey.Name != "whoami" || kUser.Username != f.user {
		t.Errorf("API key Authenticate decoded to %+v (api_key %+v)", kUser, kUser.ApiKey)
	}
	if kUser.AuthenticationRealm.Name != "_es_api_key" {
		t.Errorf("authentication_realm = %+v, want _es_api_key", kUser.AuthenticationRealm)
	}
}
