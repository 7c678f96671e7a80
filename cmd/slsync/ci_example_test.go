package main

import (
	"encoding/base64"
	"errors"
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
// ciPipeline runs a CI pipeline's scripts against the emulator with a fake
// of the CI service's CLI (gh, curl) first on PATH, the built slsync next.
type ciPipeline struct {
	t    *testing.T
	root string   // the repository
	log  string   // where the fake records its calls
	env  []string // the pipeline's environment
}

// newCIPipeline installs fakeScript as the command fakeName; logVar names
// the variable that tells the fake where to record.
func newCIPipeline(t *testing.T, e *applyEnv, fakeName, fakeScript, logVar string, env ...string) *ciPipeline {
	t.Helper()
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed; the CI scripts need it")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	fake := t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, fakeName), []byte(fakeScript), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), fakeName+".log")
	full := append([]string{"HOME=" + t.TempDir(), logVar + "=" + log,
		"PATH=" + fake + ":" + filepath.Dir(binPath) + ":" + os.Getenv("PATH")}, e.env()...)
	return &ciPipeline{t: t, root: root, log: log, env: append(full, env...)}
}

// path is a file of the repository.
func (c *ciPipeline) path(elem ...string) string {
	return filepath.Join(append([]string{c.root}, elem...)...)
}

// run runs a command with the pipeline's environment: its output and exit code.
func (c *ciPipeline) run(name string, args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return string(out), 0
}

func TestCIExampleGitHub(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	ci := newCIPipeline(t, e, "gh", fakeGH, "GH_LOG",
		"GITHUB_REPOSITORY=acme/fleet", "PR_NUMBER=7", "MANIFESTS="+filepath.Join("..", "..", "examples", "fleet"))
	log := ci.log
	script := func(name string, args ...string) (string, int) {
		return ci.run(ci.path("examples", "ci", name), args...)
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
	if out, code := ci.run(binPath, "apply", "-f", ci.path("examples", "fleet"), "--auto-approve",
		"--secrets-exec", ci.path("examples", "ci", "store-secret.sh")); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
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
