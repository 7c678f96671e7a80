package emulator_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

// rawDo sends a request with a plain client (no retries), returning the
// transport error if any.
func rawDo(env *emulatortest.Env, method, path, body string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, env.URL+path, rd)
	req.Header.Set("Authorization", "ApiKey "+env.APIKey)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestFaultsEachKind(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{Seed: 42})
	list := projects + "elasticsearch"

	env.SetFaults(t, emulator.Faults{P429: 1})
	resp, body, err := rawDo(env, "GET", list, "")
	if err != nil || resp.StatusCode != 429 || !strings.Contains(string(body), `"errors"`) {
		t.Fatalf("429: %v %v %s", err, resp, body)
	}

	env.SetFaults(t, emulator.Faults{P5xx: 1})
	seen := map[int]bool{}
	for i := 0; i < 30; i++ {
		resp, body, err := rawDo(env, "GET", list, "")
		if err != nil || resp.StatusCode < 500 || !strings.Contains(string(body), `"errors"`) {
			t.Fatalf("5xx: %v %v %s", err, resp, body)
		}
		seen[resp.StatusCode] = true
	}
	if !seen[500] || !seen[502] || !seen[503] {
		t.Fatalf("5xx kinds seen: %v", seen)
	}

	env.SetFaults(t, emulator.Faults{PReset: 1})
	_, _, err = rawDo(env, "GET", list, "")
	if err == nil || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reset: want ECONNRESET, got %v", err)
	}

	// Drop: the change is committed, the response never arrives.
	env.SetFaults(t, emulator.Faults{PDrop: 1})
	_, _, err = rawDo(env, "POST", list, `{"name":"dropped","region_id":"aws-us-east-1"}`)
	if err == nil {
		t.Fatal("drop: the response arrived")
	}
	// Reads are not dropped.
	if resp, _, err := rawDo(env, "GET", list, ""); err != nil || resp.StatusCode != 200 {
		t.Fatalf("drop applies to mutating requests only: %v", err)
	}
	env.SetFaults(t, emulator.Faults{})
	if l := env.Cloud(t, "GET", list, nil); !strings.Contains(string(l.Body), `"name":"dropped"`) {
		t.Fatalf("the dropped create must be committed: %s", l.Body)
	}

	// Latency.
	env.SetFaults(t, emulator.Faults{Latency: 80 * time.Millisecond})
	start := time.Now()
	rawDo(env, "GET", list, "")
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	env.SetFaults(t, emulator.Faults{})

	// ES surfaces fault in their own shapes.
	id, _, _, _ := env.CreateProject(t, "elasticsearch", `{"name":"p","region_id":"aws-us-east-1"}`)
	env.SetFaults(t, emulator.Faults{P429: 1})
	r := env.ES(t, id, "GET", "/", nil)
	wantESError(t, r, 429, "es_rejected_execution_exception", "rejected execution")
	env.SetFaults(t, emulator.Faults{})

	// /_emulator routes are never faulted or counted.
	st := env.Stats(t)
	if st.Injected["429"] != 2 || st.Injected["5xx"] != 30 || st.Injected["reset"] != 1 || st.Injected["drop"] != 1 || st.Injected["latency"] != 1 {
		t.Fatalf("injected: %v", st.Injected)
	}
	if st.ByRoute["GET /api/v1/serverless/projects/{type}"] < 34 || st.ByRoute["GET /es/{id}/"] != 1 || st.ByRoute["POST /api/v1/serverless/projects/{type}"] != 2 {
		t.Fatalf("by route: %v", st.ByRoute)
	}
	for k := range st.ByRoute {
		if strings.Contains(k, "_emulator") {
			t.Fatalf("control route counted: %v", st.ByRoute)
		}
	}
	env.Server.ResetStats()
	if s := env.Server.Stats(); s.Total != 0 {
		t.Fatalf("reset stats: %+v", s)
	}
}

func TestFaultControlValidation(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	for _, body := range []string{`{"p429":2}`, `{"p429":0.6,"p5xx":0.6}`, `{"latency":"soon"}`, `{"oops":1}`, `nope`} {
		wantCloudError(t, env.Cloud(t, "PUT", "/_emulator/faults", body), 400)
	}
	r := env.Cloud(t, "GET", "/_emulator/faults", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"p429":0`) {
		t.Fatalf("faults unchanged: %s", r.Body)
	}
	if _, err := emulator.New(emulator.Options{Faults: emulator.Faults{P5xx: -1}}); err == nil {
		t.Fatal("New must refuse invalid faults")
	}
	wantCloudError(t, env.Cloud(t, "GET", "/_emulator/nope", nil), 404)
}

func TestFaultsSeeded(t *testing.T) {
	run := func() string {
		env := emulatortest.Start(t, emulator.Options{Seed: 7, Faults: emulator.Faults{P429: 0.3, P5xx: 0.3}})
		var b strings.Builder
		for i := 0; i < 40; i++ {
			resp, _, err := rawDo(env, "GET", "/api/v1/serverless/regions", "")
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(resp.Status[:3])
		}
		return b.String()
	}
	a, b := run(), run()
	if a != b || !strings.Contains(a, "200") || !strings.Contains(a, "429") {
		t.Fatalf("same seed must give the same faults:\n%s\n%s", a, b)
	}
}
