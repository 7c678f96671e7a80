package emulator_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

func TestRestartWithDataFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	env := emulatortest.Start(t, emulator.Options{DataFile: file, APIKey: "k1"})
	pid, _, user, pass := env.CreateProject(t, "elasticsearch", `{"name":"kept","alias":"kept","region_id":"aws-us-east-1","metadata":{"tags":{"team":"a"}}}`)
	kid, enc := env.CreateAPIKey(t, pid, `{"name":"k","metadata":{"n":12345678901234567890,"slsync_owner":"o"},"role_descriptors":{"r":{"cluster":["monitor"]}}}`)
	etag := env.Cloud(t, "GET", projects+"elasticsearch/"+pid, nil).Header.Get("ETag")
	gone, _, _, _ := env.CreateProject(t, "observability", `{"name":"gone","region_id":"aws-us-east-1"}`)
	env.Cloud(t, "DELETE", projects+"observability/"+gone, nil)
	env.Server.Close()

	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), pass) || strings.Contains(string(b), enc) || strings.Contains(string(b), "k1") {
		t.Fatal("secrets must not be written to the data file")
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Fatalf("data file mode %v", fi.Mode())
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*tmp*"))
	if len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}

	env2 := emulatortest.Start(t, emulator.Options{DataFile: file, APIKey: "k2"})
	env2.SetCredentials(pid, user, pass)
	r := env2.Cloud(t, "GET", projects+"elasticsearch/"+pid, nil)
	if r.Status != 200 || r.Header.Get("ETag") != etag || !strings.Contains(string(r.Body), `"team":"a"`) {
		t.Fatalf("project after restart: %d %s", r.Status, r.Body)
	}
	if r := env2.Cloud(t, "GET", projects+"observability/"+gone, nil); r.Status != 404 {
		t.Fatalf("deleted project after restart: %d", r.Status)
	}
	// The old password and key still work; the metadata number kept its digits.
	r = env2.ES(t, pid, "GET", "/_security/api_key?id="+kid, nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"n":12345678901234567890`) || !strings.Contains(string(r.Body), `"cluster":["monitor"]`) {
		t.Fatalf("key after restart: %d %s", r.Status, r.Body)
	}
	if r := env2.Do(t, "GET", env2.ESURL(pid, "/"), "ApiKey "+enc, nil); r.Status != 200 {
		t.Fatalf("key auth after restart: %d %s", r.Status, r.Body)
	}
	q := env2.ES(t, pid, "POST", "/_security/_query/api_key", `{"query":{"term":{"metadata.slsync_owner":"o"}}}`)
	if !strings.Contains(string(q.Body), `"total":1`) {
		t.Fatalf("metadata index after restart: %s", q.Body)
	}
	// New ids do not collide with loaded ones and the alias is still held.
	wantCloudError(t, env2.Cloud(t, "POST", projects+"security", `{"name":"x","alias":"kept","region_id":"aws-us-east-1"}`), 409, "already used")

	// A corrupt file is refused with a message saying what to do.
	os.WriteFile(file, []byte("{not json"), 0o600)
	if _, err := emulator.New(emulator.Options{DataFile: file}); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("corrupt data file: %v", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	env := emulatortest.Start(t, emulator.Options{DataFile: file})
	pid, _, _, _ := env.CreateProject(t, "elasticsearch", `{"name":"shared","region_id":"aws-us-east-1"}`)
	const workers, each = 8, 15
	admin := env.AdminAuth(t, pid)
	// Workers report errors instead of calling t.Fatal off the test goroutine.
	errs := make(chan error, workers*each*4)
	do := func(method, url, auth, body string, want int) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		resp, err := env.Client.Do(req)
		if err != nil {
			errs <- err
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			errs <- fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cloud := "ApiKey " + env.APIKey
			for i := 0; i < each; i++ {
				do("POST", env.ESURL(pid, "/_security/api_key"), admin, fmt.Sprintf(`{"name":"w%d-%d","metadata":{"w":"%d"}}`, w, i, w), 200)
				do("PATCH", env.URL+projects+"elasticsearch/"+pid, cloud, fmt.Sprintf(`{"metadata":{"tags":{"w%d":"v%d"}}}`, w, i), 200)
				if i%5 == 0 {
					do("POST", env.URL+projects+"security", cloud, fmt.Sprintf(`{"name":"w%d-%d","region_id":"aws-us-east-1"}`, w, i), 201)
				}
				do("POST", env.ESURL(pid, "/_security/_query/api_key"), admin, `{"query":{"term":{"metadata.w":"1"}}}`, 200)
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r := env.ES(t, pid, "POST", "/_security/_query/api_key", `{"size":0}`)
	if !strings.Contains(string(r.Body), fmt.Sprintf(`"total":%d`, workers*each)) {
		t.Fatalf("keys after concurrent creates: %s", r.Body)
	}
	p := env.Cloud(t, "GET", projects+"elasticsearch/"+pid, nil)
	for w := 0; w < workers; w++ {
		if !strings.Contains(string(p.Body), fmt.Sprintf(`"w%d":"v%d"`, w, each-1)) {
			t.Fatalf("tag of worker %d lost: %s", w, p.Body)
		}
	}
	env.Server.Close()
	env2 := emulatortest.Start(t, emulator.Options{DataFile: file})
	if l := env2.Cloud(t, "GET", projects+"security", nil); strings.Count(string(l.Body), `"id":`) != workers*3 {
		t.Fatalf("persisted projects: %s", l.Body)
	}
}
