package main

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
)

// fakeGH is a stand-in for the GitHub CLI: it records every call (argv and
// stdin) in $GH_LOG, answers the comment list with comment 42 once a comment
// was posted, and stores `gh secret set NAME` values in $GH_LOG.secrets.
const fakeGH = `#!/bin/sh
log=$GH_LOG
in=$(cat)
printf 'ARGS %s\n' "$*" >>"$log"
case "$1 $2" in
  "api "*)
    case "$*" in
      *"--paginate"*) if [ -f "$log.posted" ]; then echo 42; fi ;;
      *"-f body="*) touch "$log.posted"; for a in "$@"; do case "$a" in body=*) printf '%s' "${a#body=}" >"$log.comment";; esac; done ;;
    esac ;;
  "secret set") printf '%s=%s\n' "$3" "$in" >>"$log.secrets" ;;
  *) echo "fake gh: unexpected call: $*" >&2; exit 1 ;;
esac
`

// The GitHub Actions pipeline's commands, run against the emulator: the
// pull-request job posts one comment holding the plan (and updates it in
// place on the next push), with no secret in it; the merge job's apply
// hands every created key to store-secret.sh, which stores it with gh.
func TestCIExampleGitHub(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed; store-secret.sh needs it")
	}
	e := newApplyEnv(t, emulator.Options{})
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	fake := t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, "gh"), []byte(fakeGH), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "gh.log")
	env := append(e.env(),
		"PATH="+fake+":"+filepath.Dir(binPath)+":"+os.Getenv("PATH"),
		"GH_LOG="+log, "GITHUB_REPOSITORY=acme/fleet", "PR_NUMBER=7", "MANIFESTS="+filepath.Join(root, "examples", "fleet"))
	script := func(name string, args ...string) (string, int) {
		cmd := exec.Command(filepath.Join(root, "examples", "ci", name), args...)
		cmd.Env = append([]string{"HOME=" + t.TempDir()}, env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}

	// Pull request: plan-comment.sh exits 2 (changes) and posts the plan.
	out, code := script("plan-comment.sh")
	if code != 2 {
		t.Fatalf("plan-comment.sh: exit %d, want 2:\n%s", code, out)
	}
	comment, _ := os.ReadFile(log + ".comment")
	if !strings.HasPrefix(string(comment), "<!-- slsync-plan -->") || !strings.Contains(string(comment), "api_key.search-prod.catalog-reader") {
		t.Fatalf("posted comment:\n%s", comment)
	}

	// Merge: apply with the exec sink (the workflow's apply step).
	cmd := exec.Command(binPath, "apply", "-f", filepath.Join(root, "examples", "fleet"), "--auto-approve",
		"--secrets-exec", filepath.Join(root, "examples", "ci", "store-secret.sh"))
	cmd.Env = append([]string{"HOME=" + t.TempDir()}, env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, b)
	}
	secrets, _ := os.ReadFile(log + ".secrets")
	stored := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(secrets)), "\n") {
		name, val, _ := strings.Cut(l, "=")
		stored[name] = val
	}
	want := []string{"SLSYNC_SEARCH_PROD_CATALOG_READER", "SLSYNC_SEARCH_PROD_CATALOG_WRITER", "SLSYNC_SEARCH_PROD_MONITORING",
		"SLSYNC_VECTORS_EMBEDDER", "SLSYNC_OBSERVABILITY_OTEL_WRITER", "SLSYNC_OBSERVABILITY_DASHBOARDS_READER", "SLSYNC_SECURITY_SIEM_READER"}
	if len(stored) != len(want) {
		t.Fatalf("stored secrets %v, want %v", stored, want)
	}
	for _, n := range want {
		raw, err := base64.StdEncoding.DecodeString(stored[n])
		if err != nil || !strings.Contains(string(raw), ":") {
			t.Fatalf("secret %s is not an encoded API key", n)
		}
	}

	// The next push: no changes, and the same comment is updated.
	out, code = script("plan-comment.sh")
	if code != 0 {
		t.Fatalf("plan-comment.sh after apply: exit %d:\n%s", code, out)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "-X PATCH repos/acme/fleet/issues/comments/42") {
		t.Fatalf("the comment was not updated in place:\n%s", calls)
	}
	comment, _ = os.ReadFile(log + ".comment")
	if !strings.Contains(string(comment), "No changes") {
		t.Fatalf("updated comment:\n%s", comment)
	}
	creds, _ := os.ReadFile(e.credsPath)
	for _, s := range stored {
		if strings.Contains(string(comment)+string(calls), s) {
			t.Fatal("a key secret reached the pull-request comment or gh's command line")
		}
	}
	for _, l := range strings.Split(string(creds), "\n") {
		if pw, ok := strings.CutPrefix(strings.TrimSpace(l), `"password": "`); ok {
			if strings.Contains(string(comment), strings.TrimSuffix(pw, `",`)) {
				t.Fatal("a project password reached the pull-request comment")
			}
		}
	}
}
