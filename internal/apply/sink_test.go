package apply

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsync/slsync/internal/model"
)

// rawAPIKey is the api_key part of testSecret's encoded value; neither may
// ever show up in an error or log.
const rawAPIKey = "ui2lp2axTNmsyakw9tvNnw"

func testSecret() KeySecret {
	exp := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	return KeySecret{
		ProjectKey: "search-prod",
		ProjectID:  "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f",
		KeyName:    "books-reader",
		Name:       "Books reader",
		ID:         "VuaCfGcBCdbkQm-e5aOx",
		Encoded:    model.Secret(base64.StdEncoding.EncodeToString([]byte("VuaCfGcBCdbkQm-e5aOx:" + rawAPIKey))),
		Endpoint:   "https://search-prod-1c2d3e.es.eu-west-1.aws.elastic.cloud",
		ExpiresAt:  &exp,
	}
}

func assertNoSecret(t *testing.T, where, text string, s KeySecret) {
	t.Helper()
	if strings.Contains(text, s.Encoded.Reveal()) || strings.Contains(text, rawAPIKey) {
		t.Errorf("%s reveals the secret: %s", where, text)
	}
}

func TestMarshalSecretJSON(t *testing.T) {
	s := testSecret()
	got := string(s.MarshalSecretJSON())
	want := `{"project_key":"search-prod","project_id":"1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f","name":"Books reader",` +
		`"id":"VuaCfGcBCdbkQm-e5aOx","encoded":"VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",` +
		`"endpoint":"https://search-prod-1c2d3e.es.eu-west-1.aws.elastic.cloud","expiration":"2026-03-04T04:06:07Z"}` + "\n"
	if got != want {
		t.Errorf("MarshalSecretJSON:\n got %s\nwant %s", got, want)
	}

	s.ExpiresAt = nil
	var doc map[string]any
	if err := json.Unmarshal(s.MarshalSecretJSON(), &doc); err != nil {
		t.Fatal(err)
	}
	if _, has := doc["expiration"]; has {
		t.Errorf("a key that never expires has an expiration: %v", doc)
	}
	if len(doc) != 6 {
		t.Errorf("document has %d fields, want 6: %v", len(doc), doc)
	}
}

func TestKeySecretNeverFormatsTheSecret(t *testing.T) {
	s := testSecret()
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, &s))
	}
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("delivered", "secret", s, "ptr", &s)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("delivered", "secret", s, "ptr", &s)
	outs = append(outs, logs.String())
	for _, out := range outs {
		assertNoSecret(t, "formatting", out, s)
	}
	if !strings.Contains(logs.String(), "books-reader") || !strings.Contains(logs.String(), "[redacted]") {
		t.Errorf("log lines should identify the key and show the secret redacted: %s", logs.String())
	}
}

func TestFileSinkWritesPrivateFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "secrets")
	sink, err := NewFileSink(root)
	if err != nil {
		t.Fatal(err)
	}
	s := testSecret()
	if err := sink.Deliver(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "search-prod", "books-reader.json")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, s.MarshalSecretJSON()) {
		t.Errorf("file holds %s, want %s", got, s.MarshalSecretJSON())
	}
	for p, want := range map[string]os.FileMode{root: 0o700, filepath.Dir(path): 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}

	// A rotation replaces the file; the project directory, if someone
	// widened it, is narrowed again; the user's top directory keeps its mode.
	if err := os.Chmod(root, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s.ID = "rotated-id"
	s.Encoded = "bmV3LXNlY3JldA=="
	if err := sink.Deliver(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if !bytes.Equal(got, s.MarshalSecretJSON()) {
		t.Errorf("after rotation file holds %s", got)
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Errorf("project dir mode %v after delivery, want 0700", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(root); fi.Mode().Perm() != 0o750 {
		t.Errorf("user's secrets dir mode changed to %v", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("project dir holds %d entries, want just the secret file: %v", len(entries), entries)
	}
}

func TestFileSinkRefusesUnsafeNames(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "secrets")
	sink, err := NewFileSink(root)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ project, key, want string }{
		{"search-prod", "..", "cannot name a secrets file"},
		{"..", "books", "cannot name a secrets file"},
		{"search-prod", "../../escape", "path separator"},
		{"a/b", "books", "path separator"},
		{"search-prod", `..\x`, "path separator"},
		{"search-prod", "nul\x00", "path separator or NUL"},
		{"search-prod", "", "key name is empty"},
		{"", "books", "project key is empty"},
		{"search-prod", ".hidden", "starts with a dot"},
	}
	for _, tc := range tests {
		s := testSecret()
		s.ProjectKey, s.KeyName = tc.project, tc.key
		err := sink.Deliver(context.Background(), s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Deliver(%q, %q) = %v, want error containing %q", tc.project, tc.key, err, tc.want)
		}
		var de *DeliveryError
		if !errors.As(err, &de) {
			t.Errorf("Deliver(%q, %q): error %T is not a *DeliveryError", tc.project, tc.key, err)
		}
		if err != nil {
			assertNoSecret(t, "error", err.Error(), s)
		}
	}
	// Nothing was written anywhere.
	var files []string
	_ = filepath.Walk(base, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("files written for unsafe names: %v", files)
	}
}

func TestFileSinkFailedWriteLeavesNothing(t *testing.T) {
	root := t.TempDir()
	sink, _ := NewFileSink(root)
	s := testSecret()
	// A non-empty directory where the file should go makes the final
	// rename fail after the secret has been written to the temporary file.
	blocker := filepath.Join(root, s.ProjectKey, s.KeyName+".json")
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := sink.Deliver(context.Background(), s)
	if err == nil {
		t.Fatal("Deliver over a directory succeeded")
	}
	assertNoSecret(t, "error", err.Error(), s)
	entries, _ := os.ReadDir(filepath.Join(root, s.ProjectKey))
	if len(entries) != 1 || entries[0].Name() != s.KeyName+".json" || !entries[0].IsDir() {
		t.Errorf("a failed write left files behind: %v", entries)
	}
}

// execSecret writes a script that records what the sink command sees.
func execRecorder(t *testing.T) (cmd, dir string) {
	t.Helper()
	dir = t.TempDir()
	cmd = fmt.Sprintf(`cat > %[1]s/stdin.json
printf '%%s|%%s|%%s|%%s|%%s' "$SLSYNC_PROJECT_KEY" "$SLSYNC_PROJECT_ID" "$SLSYNC_KEY_NAME" "$SLSYNC_KEY_ID" "${EC_API_KEY-unset}" > %[1]s/env.txt
if [ -r /proc/$$/cmdline ]; then cat /proc/$$/cmdline /proc/$$/environ > %[1]s/proc.txt; fi`, dir)
	return cmd, dir
}

func TestExecSinkPassesJSONOnStdinOnly(t *testing.T) {
	t.Setenv("EC_API_KEY", "cloud-api-key-must-not-leak")
	cmd, dir := execRecorder(t)
	sink, err := NewExecSink(cmd, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := testSecret()
	if err := sink.Deliver(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	stdin, err := os.ReadFile(filepath.Join(dir, "stdin.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdin, s.MarshalSecretJSON()) {
		t.Errorf("stdin = %q, want %q", stdin, s.MarshalSecretJSON())
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env.txt"))
	wantEnv := "search-prod|1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f|books-reader|VuaCfGcBCdbkQm-e5aOx|unset"
	if string(env) != wantEnv {
		t.Errorf("environment seen by the command = %q, want %q", env, wantEnv)
	}
	if proc, err := os.ReadFile(filepath.Join(dir, "proc.txt")); err == nil {
		assertNoSecret(t, "the command's argv/environment", string(proc), s)
		if !strings.Contains(string(proc), "SLSYNC_KEY_NAME=books-reader") {
			t.Errorf("/proc environ not captured properly: %q", proc)
		}
	}
}

func TestExecSinkFailures(t *testing.T) {
	s := testSecret()
	tests := []struct {
		name    string
		cmd     string
		timeout time.Duration
		want    []string
	}{
		{"exit code", `echo "vault: permission denied" >&2; exit 3`, 0,
			[]string{"exited with status 3", "vault: permission denied", "search-prod.books-reader"}},
		{"echoes stdin to stderr", `cat >&2; exit 1`, 0,
			[]string{"exited with status 1", `"encoded":"[redacted]"`}},
		{"echoes the decoded key", `echo "bad key ` + rawAPIKey + `" >&2; exit 1`, 0,
			[]string{"bad key [redacted]"}},
		{"huge stderr", `cat >&2; i=0; while [ $i -lt 2000 ]; do echo "line $i of noise"; i=$((i+1)); done >&2; exit 1`, 0,
			[]string{"(truncated)", "[redacted]"}},
		{"timeout", `sleep 30`, 200 * time.Millisecond,
			[]string{"did not finish within 200ms"}},
		{"timeout with a child holding stderr", `(sleep 30; echo late) & echo started >&2; wait`, 200 * time.Millisecond,
			[]string{"did not finish within 200ms", "started"}},
		{"killed", `kill -9 $$`, 0, []string{"terminated"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink, err := NewExecSink(tc.cmd, tc.timeout)
			if err != nil {
				t.Fatal(err)
			}
			err = sink.Deliver(context.Background(), s)
			if err == nil {
				t.Fatal("delivery succeeded")
			}
			var de *DeliveryError
			if !errors.As(err, &de) || de.KeyName != "books-reader" {
				t.Errorf("error %T %v is not a DeliveryError for the key", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			assertNoSecret(t, "error", err.Error(), s)
			if len(err.Error()) > stderrLimit+500 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestExecSinkStopsWithContext(t *testing.T) {
	sink, _ := NewExecSink("sleep 30", time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	err := sink.Deliver(ctx, testSecret())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver after cancel = %v, want context.Canceled", err)
	}
}

func TestNewSinkRejectsEmptyConfig(t *testing.T) {
	if _, err := NewExecSink("  ", 0); err == nil {
		t.Error("NewExecSink accepted an empty command")
	}
	if _, err := NewFileSink(""); err == nil {
		t.Error("NewFileSink accepted an empty directory")
	}
}

func TestMultiSink(t *testing.T) {
	s := testSecret()
	dir := t.TempDir()
	order := filepath.Join(dir, "order.txt")
	file, _ := NewFileSink(filepath.Join(dir, "secrets"))
	first, _ := NewExecSink("cat >/dev/null; echo first >> "+order, 0)
	second, _ := NewExecSink("cat >/dev/null; echo second >> "+order, 0)
	failing, _ := NewExecSink("echo store unavailable >&2; exit 7", 0)

	if err := NewMultiSink(first, file, second).Deliver(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(order); string(got) != "first\nsecond\n" {
		t.Errorf("sinks ran in order %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "secrets", "search-prod", "books-reader.json")); err != nil {
		t.Errorf("file sink not delivered: %v", err)
	}

	_ = os.Remove(order)
	err := NewMultiSink(failing, second).Deliver(context.Background(), s)
	var de *DeliveryError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "status 7") || !strings.Contains(err.Error(), "store unavailable") {
		t.Errorf("failing sink: got %v, want a DeliveryError naming exit status 7", err)
	}
	if got, _ := os.ReadFile(order); string(got) != "second\n" {
		t.Errorf("after a failed sink the next one should still run; order file %q", got)
	}

	err = NewMultiSink().Deliver(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "--secrets-dir or --secrets-exec") {
		t.Errorf("no sinks: got %v", err)
	}
	if name := NewMultiSink(file, first).Name(); !strings.Contains(name, "--secrets-dir") || !strings.Contains(name, "--secrets-exec") {
		t.Errorf("Name() = %q", name)
	}
}

func TestWarnIfTracked(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	secrets := filepath.Join(repo, "secrets")
	creds := filepath.Join(repo, "ci", "credentials.json")
	ctx := context.Background()

	if msg, ok := WarnIfTracked(ctx, secrets, true); !ok || !strings.Contains(msg, "add "+secrets+"/ to .gitignore") {
		t.Errorf("unignored secrets dir: got %q, %v", msg, ok)
	}
	if msg, ok := WarnIfTracked(ctx, creds, false); !ok || !strings.Contains(msg, creds) {
		t.Errorf("unignored credentials file: got %q, %v", msg, ok)
	}
	if err := os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("/secrets/\ncredentials.json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, ok := WarnIfTracked(ctx, secrets, true); ok {
		t.Errorf("ignored secrets dir warned: %q", msg)
	}
	if msg, ok := WarnIfTracked(ctx, creds, false); ok {
		t.Errorf("ignored credentials file warned: %q", msg)
	}
	if msg, ok := WarnIfTracked(ctx, filepath.Join(t.TempDir(), "secrets"), true); ok {
		t.Errorf("dir outside any repository warned: %q", msg)
	}
}

// BenchmarkFileSinkDeliver measures one atomic, fsynced secret file write
// (2,000 keys in an apply means 2,000 of these).
func BenchmarkFileSinkDeliver(b *testing.B) {
	sink, _ := NewFileSink(b.TempDir())
	s := testSecret()
	for b.Loop() {
		if err := sink.Deliver(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecSinkDeliver measures one run of a trivial --secrets-exec
// command (the cost is the shell's start).
func BenchmarkExecSinkDeliver(b *testing.B) {
	sink, _ := NewExecSink("cat >/dev/null", 0)
	s := testSecret()
	for b.Loop() {
		if err := sink.Deliver(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
}
