package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsync/slsync/internal/emulator"
)

// Even at --log-level debug, nothing slsync prints while applying, planning
// and listing credentials contains a project password, an API key secret
// (encoded or raw) or the Cloud API key.
func TestNoSecretInOutputOrDebugLogs(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	saved := filepath.Join(t.TempDir(), "plan.json")
	var out strings.Builder
	for _, args := range [][]string{
		{"apply", "-f", example("fleet"), "--auto-approve", "--secrets-dir", e.secrets, "--log-level", "debug", "--log-format", "json"},
		{"plan", "-f", example("fleet"), "--log-level", "debug", "--format", "json"},
		{"plan", "-f", example("fleet"), "--format", "markdown", "--out", saved},
		{"credentials", "list", "--log-level", "debug"},
		{"export", "--owner", "platform", "-o", "-", "--log-level", "debug"},
	} {
		r := e.run(t, args...)
		out.WriteString(r.Stdout + r.Stderr)
	}
	planFile, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(planFile)
	if !strings.Contains(out.String(), `"level":"DEBUG"`) {
		t.Fatal("no debug log lines were printed; the test would prove nothing")
	}

	secrets := []string{e.emu.APIKey}
	var creds struct {
		Projects map[string]struct{ Password string } `json:"projects"`
	}
	b, err := os.ReadFile(e.credsPath)
	if err != nil || json.Unmarshal(b, &creds) != nil || len(creds.Projects) != 4 {
		t.Fatalf("credentials file: %v %s", err, b)
	}
	for _, p := range creds.Projects {
		secrets = append(secrets, p.Password)
	}
	files, _ := filepath.Glob(filepath.Join(e.secrets, "*", "*.json"))
	if len(files) != 7 {
		t.Fatalf("want 7 delivered secrets, found %v", files)
	}
	for _, f := range files {
		var doc struct{ Encoded string }
		b, _ := os.ReadFile(f)
		if json.Unmarshal(b, &doc) != nil || doc.Encoded == "" {
			t.Fatalf("secret file %s: %s", f, b)
		}
		raw, _ := base64.StdEncoding.DecodeString(doc.Encoded)
		_, apiKey, _ := strings.Cut(string(raw), ":")
		secrets = append(secrets, doc.Encoded, apiKey)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(out.String(), s) {
			t.Fatalf("a secret (%d chars) appeared in slsync's output", len(s))
		}
	}
}
