package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
	"github.com/slsync/slsync/internal/emulator/emulatortest"
)

const watchManifest = `owner: watchers
projects:
  alpha:
    type: elasticsearch
    name: Alpha
    region_id: aws-us-east-1
`

func TestWatchReplansOnSaveAndSurvivesInvalidManifests(t *testing.T) {
	env := emulatortest.Start(t, emulator.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "slsync.yaml")
	if err := os.WriteFile(file, []byte(watchManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, out := startCLI(t, []string{"EC_ENDPOINT=" + env.URL, "EC_API_KEY=" + env.APIKey,
		"SLSYNC_CREDENTIALS_FILE=" + filepath.Join(t.TempDir(), "creds.json")},
		"watch", "-f", dir, "--debounce", "50ms")

	out.waitFor(t, "Plan: 1 to create.", 1)

	// A valid change: re-planned, the changed action marked.
	writeAtomically(t, file, strings.Replace(watchManifest, "name: Alpha", "name: Alpha Two", 1))
	out.waitFor(t, `"Alpha Two"`, 1)
	if !strings.Contains(out.String(), "* + project.alpha (create)") {
		t.Errorf("changed action not marked:\n%s", out.String())
	}

	// An invalid save: located error, and watching goes on.
	if err := os.WriteFile(file, []byte(watchManifest+"    bogus_field: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "slsync.yaml:7:5:", 1)
	out.waitFor(t, "Manifests are invalid", 1)

	// Fixed again: a plan appears once more.
	if err := os.WriteFile(file, []byte(watchManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "Plan: 1 to create.", 3)

	// SIGTERM ends it cleanly.
	if err := stopCLI(t, cmd, syscall.SIGTERM); err != nil {
		t.Fatalf("watch did not exit 0 on SIGTERM: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), env.APIKey) {
		t.Error("the Cloud API key appeared in watch output")
	}
}

func TestWatchReportsUnreachableEndpointAndKeepsGoing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(watchManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, out := startCLI(t, []string{"EC_ENDPOINT=http://127.0.0.1:1", "EC_API_KEY=k",
		"SLSYNC_CREDENTIALS_FILE=" + filepath.Join(t.TempDir(), "creds.json")},
		"watch", "-f", dir, "--debounce", "50ms")
	out.waitFor(t, "retrying in", 1)
	if err := stopCLI(t, cmd, syscall.SIGINT); err != nil {
		t.Fatalf("watch exited with %v after an unreachable endpoint; want 0\n%s", err, out.String())
	}
}

// writeAtomically saves like many editors do: a temp file renamed over.
func writeAtomically(t testing.TB, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-save")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// watch --apply applies each valid save against the emulator and converges;
// against a non-loopback endpoint it needs --auto-approve.
func TestWatchApply(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "slsync.yaml")
	if err := os.WriteFile(file, []byte(watchManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, out := startCLI(t, e.env(), "watch", "-f", dir, "--debounce", "50ms", "--apply", "--secrets-dir", e.secrets)

	out.waitFor(t, "Apply complete: 1 created", 1)
	if got := e.projects(t); got["watchers/alpha"] != 1 {
		t.Fatalf("after the first apply, projects = %v", got)
	}
	writeAtomically(t, file, strings.Replace(watchManifest, "name: Alpha", "name: Alpha Two", 1))
	out.waitFor(t, "Apply complete: 1 updated", 1)
	// The follow-up save of the same content plans nothing.
	writeAtomically(t, file, strings.Replace(watchManifest, "name: Alpha", "name: Alpha Two", 1))
	out.waitFor(t, "No changes.", 1)
	if got := e.projects(t); got["watchers/alpha"] != 1 || len(got) != 1 {
		t.Fatalf("projects = %v; want exactly one", got)
	}
	if err := stopCLI(t, cmd, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}

	r := runCLI(t, "", []string{"EC_ENDPOINT=https://api.elastic-cloud.com", "EC_API_KEY=x"}, "", "watch", "-f", dir, "--apply")
	if r.Code != exitUsage || !strings.Contains(r.Stderr, "--auto-approve") {
		t.Errorf("watch --apply against a remote endpoint without --auto-approve: %+v", r)
	}
}

const watchKeysManifest = `owner: watchers
projects:
  beta:
    type: elasticsearch
    name: Beta
    region_id: aws-us-east-1
    api_keys:
      reader:
        role_descriptors:
          r:
            indices:
              - names: [books]
                privileges: [read]
`

// A project watch --apply creates gets its admin credentials stored; the
// next save must read its keys with them (the credentials file as it is
// now, not as it was when watch started), so a save that changes nothing
// plans nothing.
func TestWatchApplyReadsCredentialsItStored(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "slsync.yaml")
	if err := os.WriteFile(file, []byte(watchKeysManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, out := startCLI(t, e.env(), "watch", "-f", dir, "--debounce", "50ms", "--apply", "--secrets-dir", e.secrets)
	out.waitFor(t, "Apply complete: 2 created", 1)
	writeAtomically(t, file, watchKeysManifest)
	out.waitFor(t, "No changes.", 1)
	if strings.Contains(out.String(), "credentials") && strings.Contains(out.String(), "cannot be read") {
		t.Errorf("the second plan could not read the keys of the project watch created:\n%s", out.String())
	}
	if err := stopCLI(t, cmd, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
