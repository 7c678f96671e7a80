package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
)

// fakeCurl stands in for curl talking to the GitLab API: it records every
// call in $CURL_LOG, serves the merge request's notes (note 42 once one was
// posted), and keeps CI/CD variables in $CURL_LOG.vars (PUT of a missing
// variable fails like GitLab's 404 does under --fail).
const fakeCurl = `#!/bin/sh
log=$CURL_LOG
method=GET; url=; body=; key=; value=
while [ $# -gt 0 ]; do
  case "$1" in
    -X) method=$2; shift ;;
    -H) shift ;;
    --data-urlencode) body=$(cat "${2#body@}"); shift ;;
    --form) case "$2" in key=*) key=${2#key=} ;; value=\<*) value=$(cat "${2#value=<}") ;; esac; shift ;;
    -*) ;;
    *) url=$1 ;;
  esac
  shift
done
printf '%s %s\n' "$method" "$url" >>"$log"
case "$method $url" in
  "GET "*"/notes?per_page=100")
    if [ -f "$log.noted" ]; then printf '[{"id":42,"body":"<!-- slsync-plan -->\\nold"}]'; else printf '[]'; fi ;;
  "POST "*"/notes"|"PUT "*"/notes/42") touch "$log.noted"; printf '%s' "$body" >"$log.note"; printf '{}' ;;
  "PUT "*"/variables/"*)
    name=${url##*/}
    grep -q "^$name=" "$log.vars" 2>/dev/null || exit 22
    printf '%s=%s\n' "$name" "$value" >>"$log.vars" ;;
  "POST "*"/variables") printf '%s=%s\n' "$key" "$value" >>"$log.vars" ;;
  *) echo "fake curl: unexpected $method $url" >&2; exit 2 ;;
esac
`

// The GitLab pipeline's scripts, run against the emulator: the merge
// request gets one note with the plan, replaced on the next push; apply's
// exec sink stores every created key as a masked CI/CD variable.
func TestCIExampleGitLab(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	fleet := filepath.Join("..", "..", "examples", "fleet")
	ci := newCIPipeline(t, e, "curl", fakeCurl, "CURL_LOG",
		"CI_API_V4_URL=https://gitlab.example/api/v4", "CI_PROJECT_ID=9",
		"CI_MERGE_REQUEST_IID=5", "GITLAB_API_TOKEN=glpat-test", "MANIFESTS="+fleet)
	root, log, run := ci.root, ci.log, ci.run
	note := filepath.Join(root, "examples", "ci", "plan-note-gitlab.sh")

	out, code := run(note)
	if code != 2 {
		t.Fatalf("plan-note-gitlab.sh: exit %d, want 2 (changes):\n%s", code, out)
	}
	posted, _ := os.ReadFile(log + ".note")
	if !strings.HasPrefix(string(posted), "<!-- slsync-plan -->") || !strings.Contains(string(posted), "project.search-prod") {
		t.Fatalf("posted note:\n%s", posted)
	}

	out, code = run(binPath, "apply", "-f", fleet, "--auto-approve",
		"--secrets-exec", filepath.Join(root, "examples", "ci", "store-secret-gitlab.sh"))
	if code != 0 {
		t.Fatalf("apply with store-secret-gitlab.sh: exit %d\n%s", code, out)
	}
	vars, _ := os.ReadFile(log + ".vars")
	stored := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(vars)), "\n") {
		name, val, _ := strings.Cut(l, "=")
		stored[name] = val
	}
	if len(stored) != 7 || stored["SLSYNC_SEARCH_PROD_CATALOG_WRITER"] == "" {
		t.Fatalf("stored variables: %v", stored)
	}
	for name, v := range stored {
		if raw, err := base64.StdEncoding.DecodeString(v); err != nil || !strings.Contains(string(raw), ":") {
			t.Fatalf("variable %s does not hold an encoded API key", name)
		}
	}

	out, code = run(note)
	if code != 0 {
		t.Fatalf("plan-note-gitlab.sh after apply: exit %d:\n%s", code, out)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "PUT https://gitlab.example/api/v4/projects/9/merge_requests/5/notes/42") {
		t.Fatalf("the note was not replaced in place:\n%s", calls)
	}
	posted, _ = os.ReadFile(log + ".note")
	if !strings.Contains(string(posted), "No changes") {
		t.Fatalf("replaced note:\n%s", posted)
	}
	for _, s := range stored {
		if strings.Contains(string(posted)+string(calls)+out, s) {
			t.Fatal("a key secret reached the note, curl's command line or the output")
		}
	}
}
