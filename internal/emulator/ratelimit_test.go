package emulator_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

// rateHeaders returns the three x-ratelimit headers as "limit/remaining/interval",
// "" for each one missing.
func rateHeaders(r emulatortest.Response) string {
	return r.Header.Get("X-Ratelimit-Limit") + "/" + r.Header.Get("X-Ratelimit-Remaining") + "/" + r.Header.Get("X-Ratelimit-Interval")
}

func wantRate(t *testing.T, what string, r emulatortest.Response, status int, headers string) {
	t.Helper()
	if r.Status != status || rateHeaders(r) != headers {
		t.Fatalf("%s: got %d with x-ratelimit %q, want %d with %q; body %s", what, r.Status, rateHeaders(r), status, headers, r.Body)
	}
}

func TestRateLimitWindow(t *testing.T) {
	clock := newClock()
	env := emulatortest.Start(t, emulator.Options{Clock: clock.Now, RateLimit: emulator.RateLimit{Limit: 3, Interval: time.Minute}})

	id, _, _, _ := env.CreateProject(t, "elasticsearch", `{"name":"p","region_id":"aws-us-east-1"}`)
	wantRate(t, "list", env.Cloud(t, "GET", projects+"elasticsearch", nil), 200, "3/1/60")
	get := env.Cloud(t, "GET", projects+"elasticsearch/"+id, nil)
	wantRate(t, "get", get, 200, "3/0/60")

	// The window is spent. The project's Elasticsearch is another cluster,
	// and /_emulator is not the API: neither is limited nor counted.
	for range 5 {
		if r := env.ES(t, id, "GET", "/", nil); r.Status != 200 || rateHeaders(r) != "//" {
			t.Fatalf("ES route: %d %q", r.Status, rateHeaders(r))
		}
		if r := env.Cloud(t, "GET", "/_emulator/stats", nil); r.Status != 200 || rateHeaders(r) != "//" {
			t.Fatalf("control route: %d %q", r.Status, rateHeaders(r))
		}
	}

	// Over the limit: 429 with the documented body and the headers, and the
	// request changes nothing.
	over := env.Cloud(t, "POST", projects+"elasticsearch", `{"name":"q","region_id":"aws-us-east-1"}`)
	wantRate(t, "create over the limit", over, 429, "3/0/60")
	if errs := cloudErrors(t, over); errs[0].Code != "root.rate_limited" || !strings.Contains(errs[0].Message, "3 requests per 1m0s") {
		t.Fatalf("over-limit body: %s", over.Body)
	}
	wantRate(t, "patch over the limit", env.Cloud(t, "PATCH", projects+"elasticsearch/"+id, `{"name":"renamed"}`,
		"If-Match: "+get.Header.Get("ETag")), 429, "3/0/60")
	wantRate(t, "delete over the limit", env.Cloud(t, "DELETE", projects+"elasticsearch/"+id, nil), 429, "3/0/60")

	// Requests without the key have a window of their own.
	anon := env.Do(t, "GET", env.URL+projects+"elasticsearch", "", nil)
	wantRate(t, "unauthenticated", anon, 401, "3/2/60")

	clock.Advance(time.Minute - time.Nanosecond)
	wantRate(t, "last instant of the window", env.Cloud(t, "GET", "/api/v1/serverless/regions", nil), 429, "3/0/60")
	clock.Advance(time.Nanosecond)
	list := env.Cloud(t, "GET", projects+"elasticsearch", nil)
	wantRate(t, "new window", list, 200, "3/2/60")
	if s := string(list.Body); strings.Count(s, `"id"`) != 1 || !strings.Contains(s, `"name":"p"`) {
		t.Fatalf("refused requests changed state: %s", s)
	}
	// Every Project API response carries the headers, errors included.
	wantRate(t, "404", env.Cloud(t, "GET", projects+"elasticsearch/nope", nil), 404, "3/1/60")

	st := env.Stats(t)
	if st.RateLimited != 4 || len(st.Injected) != 0 || st.ByRoute["POST /api/v1/serverless/projects/{type}"] != 2 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestRateLimitSwitchedAtRunTime(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	const regions = "/api/v1/serverless/regions"
	wantRate(t, "off by default", env.Cloud(t, "GET", regions, nil), 200, "//")
	if r := env.Cloud(t, "GET", "/_emulator/ratelimit", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"limit":0`) {
		t.Fatalf("GET ratelimit: %d %s", r.Status, r.Body)
	}

	env.SetRateLimit(t, emulator.RateLimit{Limit: 2, Interval: time.Hour})
	wantRate(t, "first", env.Cloud(t, "GET", regions, nil), 200, "2/1/3600")
	if r := env.Cloud(t, "GET", "/_emulator/ratelimit", nil); r.Status != 200 || !strings.Contains(string(r.Body), `{"limit":2,"interval":"1h0m0s"}`) {
		t.Fatalf("GET ratelimit: %d %s", r.Status, r.Body)
	}
	// A new limit starts every window afresh.
	env.SetRateLimit(t, emulator.RateLimit{Limit: 1, Interval: time.Hour})
	wantRate(t, "after the change", env.Cloud(t, "GET", regions, nil), 200, "1/0/3600")
	wantRate(t, "over", env.Cloud(t, "GET", regions, nil), 429, "1/0/3600")
	env.SetRateLimit(t, emulator.RateLimit{})
	wantRate(t, "off again", env.Cloud(t, "GET", regions, nil), 200, "//")

	for _, body := range []string{`{"limit":-1}`, `{"limit":5}`, `{"limit":5,"interval":"1500ms"}`,
		`{"limit":5,"interval":"soon"}`, `{"limit":5,"per":"1m"}`, `nope`} {
		wantCloudError(t, env.Cloud(t, "PUT", "/_emulator/ratelimit", body), 400)
	}
	for _, rl := range []emulator.RateLimit{{Limit: -1}, {Limit: 1}, {Limit: 1, Interval: 500 * time.Millisecond}} {
		if _, err := emulator.New(emulator.Options{RateLimit: rl}); err == nil {
			t.Fatalf("New accepted rate limit %+v", rl)
		}
	}
}

// An injected 429 carries the three headers too: the configured window, or
// a nominal 100 per second, exhausted. On Elasticsearch it carries none.
func TestInjected429CarriesRateHeaders(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{Faults: emulator.Faults{P429: 1}})
	const regions = "/api/v1/serverless/regions"
	wantRate(t, "no limit configured", env.Cloud(t, "GET", regions, nil), 429, "100/0/1")
	env.SetRateLimit(t, emulator.RateLimit{Limit: 50, Interval: time.Minute})
	wantRate(t, "limit configured", env.Cloud(t, "GET", regions, nil), 429, "50/0/60")

	env.SetFaults(t, emulator.Faults{})
	id, _, _, _ := env.CreateProject(t, "elasticsearch", `{"name":"p","region_id":"aws-us-east-1"}`)
	env.SetFaults(t, emulator.Faults{P429: 1})
	if r := env.ES(t, id, "GET", "/", nil); r.Status != http.StatusTooManyRequests || rateHeaders(r) != "//" {
		t.Fatalf("ES 429: %d %q", r.Status, rateHeaders(r))
	}
	// Faulted requests reached the API, so they use up the window.
	env.SetFaults(t, emulator.Faults{})
	wantRate(t, "after faults", env.Cloud(t, "GET", regions, nil), 200, "50/47/60")
	if st := env.Stats(t); st.RateLimited != 0 || st.Injected["429"] != 3 {
		t.Fatalf("stats: %+v", st)
	}
}
