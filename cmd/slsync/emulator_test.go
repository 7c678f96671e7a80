package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startEmulator runs `slsync emulator` on a free loopback port and returns
// the values of its export lines.
func startEmulator(t *testing.T, args ...string) (cmd *exec.Cmd, endpoint, apiKey string, stderr *syncBuffer) {
	t.Helper()
	cmd = exec.Command(binPath, append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(20 * time.Second)
	for endpoint == "" || apiKey == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("emulator exited before printing its exports; stderr:\n%s", stderr)
			}
			if v, ok := strings.CutPrefix(l, "export EC_ENDPOINT="); ok {
				endpoint = v
			}
			if v, ok := strings.CutPrefix(l, "export EC_API_KEY="); ok {
				apiKey = v
			}
		case <-timeout:
			t.Fatalf("no export lines within 20s; stderr:\n%s", stderr)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return cmd, endpoint, apiKey, stderr
}

func call(t *testing.T, method, url, auth, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestEmulatorCommandLifecycle(t *testing.T) {
	dataFile := filepath.Join(t.TempDir(), "emu.json")
	cmd, endpoint, apiKey, stderr := startEmulator(t, "--init-delay", "200ms", "--delete-delay", "200ms", "--data", dataFile)
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") || len(apiKey) < 20 {
		t.Fatalf("exports: %q %q", endpoint, apiKey)
	}
	cloud := "ApiKey " + apiKey
	pp := endpoint + "/api/v1/serverless/projects/elasticsearch"

	if st, _ := call(t, "GET", pp, "", ""); st != 401 {
		t.Fatalf("without key: %d", st)
	}
	st, p := call(t, "POST", pp, cloud, `{"name":"cli","alias":"cli","region_id":"aws-us-east-1"}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, p)
	}
	id := p["id"].(string)
	es := p["endpoints"].(map[string]any)["elasticsearch"].(string)
	pw := p["credentials"].(map[string]any)["password"].(string)
	if es != endpoint+"/es/"+id {
		t.Fatalf("es endpoint %s", es)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, s := call(t, "GET", pp+"/"+id+"/status", cloud, "")
		if s["phase"] == "initialized" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not initialized: %v", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	req, _ := http.NewRequest("POST", es+"/_security/api_key", strings.NewReader(`{"name":"k"}`))
	req.SetBasicAuth("admin", pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create key: %v %v", err, resp)
	}
	resp.Body.Close()
	if st, _ := call(t, "DELETE", pp+"/"+id, cloud, ""); st != 200 {
		t.Fatalf("delete: %d", st)
	}
	time.Sleep(300 * time.Millisecond)
	if st, _ := call(t, "GET", pp+"/"+id, cloud, ""); st != 404 {
		t.Fatalf("after delete delay: %d", st)
	}

	if err := stopCLI(t, cmd, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr)
	}
	logs := stderr.String()
	if !strings.Contains(logs, `route="POST /api/v1/serverless/projects/{type}"`) || !strings.Contains(logs, "status=201") {
		t.Fatalf("one log line per request expected on stderr:\n%s", logs)
	}
	if strings.Contains(logs, apiKey) || strings.Contains(logs, pw) {
		t.Fatal("a secret reached the log")
	}
	if b, err := os.ReadFile(dataFile); err != nil || !strings.Contains(string(b), `"projects"`) {
		t.Fatalf("data file: %v %s", err, b)
	}
}

func TestEmulatorCommandRefusals(t *testing.T) {
	r := runCLI(t, "", nil, "", "emulator", "--addr", "0.0.0.0:8787")
	if r.Code == 0 || !strings.Contains(r.Stderr, "not a loopback address") || !strings.Contains(r.Stderr, "--allow-remote") {
		t.Fatalf("non-loopback addr: %+v", r)
	}
	r = runCLI(t, "", nil, "", "emulator", "--addr", "127.0.0.1:0", "--fault-429", "1.5")
	if r.Code == 0 || !strings.Contains(r.Stderr, "between 0 and 1") {
		t.Fatalf("bad fault share: %+v", r)
	}
	r = runCLI(t, "", nil, "", "emulator", "--addr", "nonsense")
	if r.Code == 0 || !strings.Contains(r.Stderr, "host:port") {
		t.Fatalf("bad addr: %+v", r)
	}
}

func TestEmulatorCommandSuppliedKey(t *testing.T) {
	cmd := exec.Command(binPath, "emulator", "--addr", "127.0.0.1:0")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "EC_API_KEY=my-own-key"}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var out []string
	for len(out) < 2 && sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := stopCLI(t, cmd, syscall.SIGINT); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
	joined := strings.Join(out, "\n")
	if !strings.Contains(joined, "export EC_ENDPOINT=") || strings.Contains(joined, "my-own-key") {
		t.Fatalf("a supplied key must not be echoed: %q", joined)
	}
}

func TestEmulatorCommandRateLimit(t *testing.T) {
	cmd, endpoint, apiKey, stderr := startEmulator(t, "--rate-limit", "2", "--rate-interval", "1h")
	var got []string
	for range 3 {
		req, _ := http.NewRequest("GET", endpoint+"/api/v1/serverless/regions", nil)
		req.Header.Set("Authorization", "ApiKey "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got = append(got, fmt.Sprintf("%d %s/%s/%s", resp.StatusCode, resp.Header.Get("X-Ratelimit-Limit"),
			resp.Header.Get("X-Ratelimit-Remaining"), resp.Header.Get("X-Ratelimit-Interval")))
	}
	if want := "200 2/1/3600,200 2/0/3600,429 2/0/3600"; strings.Join(got, ",") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, ","), want)
	}
	if err := stopCLI(t, cmd, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr)
	}

	for _, args := range [][]string{{"--rate-limit", "5", "--rate-interval", "1500ms"}, {"--rate-limit", "-1"}} {
		r := runCLI(t, "", nil, "", append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "--rate-limit") {
			t.Fatalf("%v: %+v", args, r)
		}
	}
}
