package gitcheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	needGit(t)
	repo := t.TempDir()
	git(t, repo, "init", "-q", ".")
	write(t, filepath.Join(repo, ".gitignore"), "ignored-secrets/\ncreds.json\njsononly/*.json\njsononly/*/*.json\n")
	write(t, filepath.Join(repo, "tracked.json"), "{}")
	write(t, filepath.Join(repo, "forced", "creds.json"), "{}")
	git(t, repo, "add", ".gitignore", "tracked.json")
	git(t, repo, "add", "-f", "forced/creds.json")
	outside := t.TempDir()

	tests := []struct {
		name        string
		path        string
		isDir       bool
		wantTree    bool
		wantIgnored bool
		wantTracked bool
		wantExposed bool
	}{
		{"outside any repo", filepath.Join(outside, "secrets"), true, false, false, false, false},
		{"file outside, not existing", filepath.Join(outside, "a", "b", "creds.json"), false, false, false, false, false},
		{"dir in repo, not ignored", filepath.Join(repo, "secrets"), true, true, false, false, true},
		{"dir ignored by dir pattern", filepath.Join(repo, "ignored-secrets"), true, true, true, false, false},
		{"dir whose files are ignored", filepath.Join(repo, "jsononly"), true, true, true, false, false},
		{"file ignored by name", filepath.Join(repo, "deep", "er", "creds.json"), false, true, true, false, false},
		{"file not ignored", filepath.Join(repo, "credentials.json"), false, true, false, false, true},
		{"file tracked", filepath.Join(repo, "tracked.json"), false, true, false, true, true},
		{"ignored but tracked anyway", filepath.Join(repo, "forced", "creds.json"), false, true, true, true, true},
		{"dir holding a tracked file", filepath.Join(repo, "forced"), true, true, false, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Checker{}.Check(context.Background(), tc.path, tc.isDir)
			if err != nil {
				t.Fatal(err)
			}
			if (st.WorkTree != "") != tc.wantTree || st.Ignored != tc.wantIgnored || st.Tracked != tc.wantTracked || st.NoGit {
				t.Errorf("Check(%s) = %+v; want tree=%v ignored=%v tracked=%v", tc.path, st, tc.wantTree, tc.wantIgnored, tc.wantTracked)
			}
			if st.Exposed() != tc.wantExposed {
				t.Errorf("Exposed() = %v, want %v", st.Exposed(), tc.wantExposed)
			}
		})
	}
}

func TestCheckWithoutGit(t *testing.T) {
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "no-such-git")
	c := Checker{Git: missing}

	st, err := c.Check(context.Background(), filepath.Join(repo, "sub", "secrets"), true)
	if err != nil {
		t.Fatal(err)
	}
	if !st.NoGit || st.WorkTree == "" || !st.Exposed() {
		t.Errorf("inside a .git tree without git: got %+v, want NoGit, a work tree and Exposed", st)
	}

	st, err = c.Check(context.Background(), filepath.Join(t.TempDir(), "secrets"), true)
	if err != nil {
		t.Fatal(err)
	}
	if !st.NoGit || st.WorkTree != "" || st.Exposed() {
		t.Errorf("outside any tree without git: got %+v, want NoGit and nothing else", st)
	}
}
