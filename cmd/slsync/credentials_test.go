package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

// storedCreds reads the credentials file as JSON, checking its mode.
func storedCreds(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %04o, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	var f struct {
		Projects map[string]map[string]string `json:"projects"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Projects
}

// noSecret fails when any of the secrets appears in the run's output.
func noSecret(t *testing.T, what string, r cliResult, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && (strings.Contains(r.Stdout, s) || strings.Contains(r.Stderr, s)) {
			t.Fatalf("%s echoed a secret:\nstdout: %s\nstderr: %s", what, r.Stdout, r.Stderr)
		}
	}
}

func TestCredentialsSetListReset(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	managedID, _, _, managedPW := env.CreateProject(t, "observability",
		`{"name":"Logs","alias":"logs","region_id":"aws-us-east-1","metadata":{"tags":{"slsync-owner":"team","slsync-key":"logs"}}}`)
	handID, handES, _, handPW := env.CreateProject(t, "elasticsearch", `{"name":"Hand","alias":"hand","region_id":"aws-us-east-1"}`)
	credsFile := filepath.Join(t.TempDir(), "c", "credentials.json")
	cliEnv := []string{"EC_ENDPOINT=" + env.URL, "EC_API_KEY=" + env.APIKey, "SLSYNC_CREDENTIALS_FILE=" + credsFile}
	manifests := writeFiles(t, map[string]string{"m.yaml": "owner: team\nprojects:\n" +
		"  logs:\n    type: observability\n    name: Logs\n    alias: logs\n    region_id: aws-us-east-1\n" +
		"  hand:\n    type: elasticsearch\n    name: Hand\n    alias: hand\n    region_id: aws-us-east-1\n    adopt: true\n"})

	// Refusals: no --password-stdin; a wrong password (checked live).
	r := runCLI(t, "", cliEnv, managedPW, "credentials", "set", "logs", "-f", manifests)
	if r.Code != exitUsage || !strings.Contains(r.Stderr, "--password-stdin") {
		t.Fatalf("without --password-stdin: %+v", r)
	}
	const wrong = "Wrong-Password-42"
	r = runCLI(t, "", cliEnv, wrong, "credentials", "set", "logs", "-f", manifests, "--password-stdin")
	if r.Code != exitError || !strings.Contains(r.Stderr, "rejected these credentials") || !strings.Contains(r.Stderr, "nothing was stored") {
		t.Fatalf("wrong password: %+v", r)
	}
	noSecret(t, "set with a wrong password", r, wrong, env.APIKey)
	if _, err := os.Stat(credsFile); err == nil {
		t.Fatal("a rejected password was stored")
	}

	// A managed project is found by its tags; an unmanaged one by the adopt
	// marker in the manifests.
	r = runCLI(t, "", cliEnv, managedPW+"\n", "credentials", "set", "logs", "-f", manifests, "--password-stdin")
	if r.Code != 0 || !strings.Contains(r.Stdout, managedID) {
		t.Fatalf("set logs: %+v", r)
	}
	noSecret(t, "set", r, managedPW, env.APIKey)
	r = runCLI(t, "", cliEnv, handPW, "credentials", "set", "hand", "-f", manifests, "--password-stdin", "--username", "admin")
	if r.Code != 0 || !strings.Contains(r.Stdout, handID) {
		t.Fatalf("set hand (adopt marker): %+v", r)
	}
	noSecret(t, "set", r, handPW, env.APIKey)
	stored := storedCreds(t, credsFile)
	if e := stored[handID]; e["key"] != "hand" || e["owner"] != "team" || e["username"] != "admin" || e["password"] != handPW || e["endpoint"] != handES {
		t.Fatalf("stored hand entry: %v", e)
	}
	if e := stored[managedID]; e["key"] != "logs" || e["password"] != managedPW {
		t.Fatalf("stored logs entry: %v", e)
	}

	// A key that names nothing is an error that says what to do.
	r = runCLI(t, "", cliEnv, "x", "credentials", "set", "nothing", "--owner", "team", "--password-stdin")
	if r.Code != exitError || !strings.Contains(r.Stderr, "--project-id") {
		t.Fatalf("unknown project: %+v", r)
	}

	// list: keys, ids, usernames, endpoints — never a password.
	r = runCLI(t, "", cliEnv, "", "credentials", "list")
	if r.Code != 0 || !strings.Contains(r.Stdout, "PROJECT KEY") || !strings.Contains(r.Stdout, handID) || !strings.Contains(r.Stdout, handES) ||
		!strings.Contains(r.Stdout, "logs") {
		t.Fatalf("list: %+v", r)
	}
	noSecret(t, "list", r, handPW, managedPW)

	// reset: refused without a terminal unless --yes.
	r = runCLI(t, "", cliEnv, "yes\n", "credentials", "reset", "hand", "-f", manifests)
	if r.Code != exitError || !strings.Contains(r.Stderr, "--yes") {
		t.Fatalf("reset without --yes: %+v", r)
	}
	if storedCreds(t, credsFile)[handID]["password"] != handPW {
		t.Fatal("a refused reset changed the stored password")
	}
	r = runCLI(t, "", cliEnv, "", "credentials", "reset", "hand", "--owner", "team", "--project-id", handID, "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Reset the credentials of project hand") {
		t.Fatalf("reset: %+v", r)
	}
	newPW := storedCreds(t, credsFile)[handID]["password"]
	if newPW == "" || newPW == handPW {
		t.Fatal("reset did not store new credentials")
	}
	noSecret(t, "reset", r, newPW, handPW, env.APIKey)
	auth := func(pw string) int {
		return env.Do(t, http.MethodGet, handES+"/_security/_authenticate", basicAuth("admin", pw), nil).Status
	}
	if auth(handPW) != http.StatusUnauthorized || auth(newPW) != http.StatusOK {
		t.Fatalf("after reset: old password %d, new password %d", auth(handPW), auth(newPW))
	}
	// The other entry is untouched.
	if storedCreds(t, credsFile)[managedID]["password"] != managedPW {
		t.Fatal("reset lost another project's entry")
	}
}

func TestCredentialsListEmptyAndOpenFileRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	r := runCLI(t, "", []string{"SLSYNC_CREDENTIALS_FILE=" + path}, "", "credentials", "list")
	if r.Code != 0 || !strings.Contains(r.Stderr, "No credentials stored") {
		t.Fatalf("empty list: %+v", r)
	}
	if runtime.GOOS == "windows" {
		return
	}
	os.WriteFile(path, []byte(`{"version":1,"projects":{"p":{"key":"k","owner":"o","username":"admin","password":"Sekrit-123","endpoint":"http://x"}}}`), 0o644)
	r = runCLI(t, "", nil, "", "credentials", "list", "--credentials-file", path)
	if r.Code != exitError || !strings.Contains(r.Stderr, "chmod 600") {
		t.Fatalf("world-readable file: %+v", r)
	}
	noSecret(t, "list", r, "Sekrit-123")
}

// reset refuses, before the old password stops working, when the
// credentials file could not take the new one.
func TestCredentialsResetRefusesUnusableFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	env := emulatortest.Start(t, emulator.Options{})
	id, es, _, pw := env.CreateProject(t, "elasticsearch", `{"name":"Hand","alias":"hand","region_id":"aws-us-east-1"}`)
	credsFile := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(credsFile, []byte(`{"version":1,"projects":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cliEnv := []string{"EC_ENDPOINT=" + env.URL, "EC_API_KEY=" + env.APIKey, "SLSYNC_CREDENTIALS_FILE=" + credsFile}
	r := runCLI(t, "", cliEnv, "", "credentials", "reset", "hand", "--owner", "team", "--project-id", id, "--yes")
	if r.Code != exitError || !strings.Contains(r.Stderr, "chmod 600") || !strings.Contains(r.Stderr, "nothing was reset") {
		t.Fatalf("reset with a world-readable credentials file: %+v", r)
	}
	if got := env.Do(t, http.MethodGet, es+"/_security/_authenticate", basicAuth("admin", pw), nil).Status; got != http.StatusOK {
		t.Fatalf("the old password stopped working (%d) although nothing could be stored", got)
	}
}
