package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

// clock is the emulator's time: the real time plus an offset a test can
// move forward, so key expiry is tested without sleeping.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// exchange is one HTTP answer as the wire carried it.
type exchange struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

// recorder is an http.RoundTripper that keeps a copy of every answer, so a
// test can hold the raw JSON the official client decoded next to the typed
// value it decoded into.
type recorder struct {
	mu  sync.Mutex
	got []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.got = append(r.got, exchange{req.Method, req.URL.Path, resp.StatusCode, resp.Header.Clone(), b})
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) last(t *testing.T) exchange {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		t.Fatal("recorder: no answer recorded")
	}
	return r.got[len(r.got)-1]
}

// fixture is one emulator with one initialized Elasticsearch project and
// official clients pointed at that project's Elasticsearch endpoint.
type fixture struct {
	env         *emulatortest.Env
	clock       *clock
	projectID   string
	esURL       string
	user, pass  string
	rec         *recorder
	admin       *elasticsearch.TypedClient // basic auth with the admin credentials
	adminLowLvl *elasticsearch.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{}
	env := emulatortest.Start(t, emulator.Options{Clock: clk.Now, Seed: 7})
	id, esURL, user, pass := env.CreateProject(t, "elasticsearch", `{"name":"Conformance","region_id":"aws-us-east-1"}`)
	env.WaitInitialized(t, "elasticsearch", id)
	f := &fixture{env: env, clock: clk, projectID: id, esURL: esURL, user: user, pass: pass, rec: &recorder{}}
	f.admin = f.typed(t, elasticsearch.Config{Username: user, Password: pass})
	low, err := elasticsearch.NewClient(f.config(elasticsearch.Config{Username: user, Password: pass}))
	if err != nil {
		t.Fatalf("elasticsearch.NewClient: %v", err)
	}
	f.adminLowLvl = low
	return f
}

// config completes cfg with the project's endpoint and the recording
// transport. Retries are off so that every answer is the emulator's first.
func (f *fixture) config(cfg elasticsearch.Config) elasticsearch.Config {
	cfg.Addresses = []string{f.esURL}
	cfg.Transport = f.rec
	cfg.DisableRetry = true
	return cfg
}

func (f *fixture) typed(t *testing.T, cfg elasticsearch.Config) *elasticsearch.TypedClient {
	t.Helper()
	c, err := elasticsearch.NewTypedClient(f.config(cfg))
	if err != nil {
		t.Fatalf("elasticsearch.NewTypedClient: %v", err)
	}
	return c
}

// withKey is a typed client authenticating with an API key's encoded value.
func (f *fixture) withKey(t *testing.T, encoded string) *elasticsearch.TypedClient {
	t.Helper()
	return f.typed(t, elasticsearch.Config{APIKey: encoded})
}

// strict fails the test when the last raw answer holds a field that the
// official client's type for it (v, a pointer to the decoded response) does
// not know: the client would silently drop it, so the emulator invented it or
// misspelt it.
func (f *fixture) strict(t *testing.T, v any) {
	t.Helper()
	x := f.rec.last(t)
	if unknown := unknownFields(x.body, reflect.TypeOf(v), "$"); len(unknown) > 0 {
		t.Errorf("%s %s: fields the official client's %T does not know: %s\nbody: %s",
			x.method, x.path, v, strings.Join(unknown, ", "), x.body)
	}
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// unknownFields walks raw JSON alongside the Go type it is decoded into and
// returns the paths of object members that type has no field for. Structs
// with a `json:"-"` map field (ErrorCause's Metadata, query containers'
// additional properties) take any member; values the type decodes itself from
// non-objects (enums, any) are not looked into.
func unknownFields(raw []byte, typ reflect.Type, path string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == rawMessageType || typ.Kind() == reflect.Interface {
		return nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	var out []string
	switch typ.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		fields, open := map[string]reflect.Type{}, false
		for i := 0; i < typ.NumField(); i++ {
			sf := typ.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			switch {
			case name == "-" && sf.Type.Kind() == reflect.Map:
				open = true
			case name != "" && name != "-":
				fields[name] = sf.Type
			}
		}
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			if !ok {
				if !open {
					out = append(out, path+"."+k)
				}
				continue
			}
			out = append(out, unknownFields(obj[k], ft, path+"."+k)...)
		}
	case reflect.Map:
		var obj map[string]json.RawMessage
		if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		for _, k := range sortedKeys(obj) {
			out = append(out, unknownFields(obj[k], typ.Elem(), path+"["+k+"]")...)
		}
	case reflect.Slice, reflect.Array:
		var arr []json.RawMessage
		if raw[0] != '[' || json.Unmarshal(raw, &arr) != nil {
			return nil
		}
		for i, el := range arr {
			out = append(out, unknownFields(el, typ.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// esError asserts that err is the official client's decoded Elasticsearch
// error with the given status and error type, and returns it.
func esError(t *testing.T, err error, status int, typ string) *types.ElasticsearchError {
	t.Helper()
	if err == nil {
		t.Fatalf("want an Elasticsearch error %d %s, got success", status, typ)
	}
	var ee *types.ElasticsearchError
	if !errors.As(err, &ee) {
		t.Fatalf("want *types.ElasticsearchError, got %T: %v", err, err)
	}
	if ee.Status != status || ee.ErrorCause.Type != typ {
		t.Fatalf("want %d %s, got %d %s (%v)", status, typ, ee.Status, ee.ErrorCause.Type, ee)
	}
	return ee
}

// reason is an ErrorCause's reason, "" when absent.
func reason(ec types.ErrorCause) string {
	if ec.Reason == nil {
		return ""
	}
	return *ec.Reason
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func ptr[T any](v T) *T { return &v }

// metaString decodes one member of a types.Metadata as a string.
func metaString(t *testing.T, md types.Metadata, key string) string {
	t.Helper()
	raw, ok := md[key]
	if !ok {
		t.Fatalf("metadata has no %q: %v", key, md)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("metadata %q is not a string: %s", key, raw)
	}
	return s
}

// TestStrictCheckers proves the two strictness checks used above can fail:
// a member the official client's type lacks, and a required member the
// reference's shape has but an answer lacks.
func TestStrictCheckers(t *testing.T) {
	raw := []byte(`{"id":"x","name":"n","colour":1,"metadata":{"any":{"thing":1}},
		"role_descriptors":{"r":{"cluster":["monitor"],"bogus":1,"indices":[{"names":["i"],"privileges":["read"],"nope":true}]}}}`)
	got := unknownFields(raw, reflect.TypeOf(&types.ApiKey{}), "$")
	want := []string{"$.colour", "$.role_descriptors[r].bogus", "$.role_descriptors[r].indices[0].nope"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unknownFields = %v, want %v", got, want)
	}
	// ErrorCause takes any extra member, as Elasticsearch adds some.
	if got := unknownFields([]byte(`{"error":{"type":"t","header":{"a":1}},"status":401}`),
		reflect.TypeOf(&types.ElasticsearchError{}), "$"); len(got) != 0 {
		t.Errorf("unknownFields on an error with extra members = %v, want none", got)
	}
	if got := missingFields([]byte(`{"id":"r","name":"n","csp_region":"x","country_code":"US","project_creation_enabled":true}`),
		reflect.TypeOf(&region{}), "$"); !reflect.DeepEqual(got, []string{"$.csp"}) {
		t.Errorf("missingFields = %v, want [$.csp]", got)
	}
	if got := missingFields([]byte(`{"items":[{"id":"a"}]}`), reflect.TypeOf(&esList{}), "$"); len(got) < 5 ||
		got[0] != "$.items[0].name" {
		t.Errorf("missingFields through embedding and slices = %v", got)
	}
}
