// Package gitcheck answers one question for secret-handling code: would a file
// at this path end up in a Git commit? slsync writes credentials and API key
// secrets to disk; run from a repository checkout (the usual GitOps setup),
// a secrets directory next to the manifests is one `git add .` away from
// being pushed. The apply command uses this package to warn before that
// happens.
//
// It shells out to the git binary rather than parsing .gitignore files itself:
// ignore rules (global excludes, info/exclude, nested .gitignore files,
// negations) are git's to interpret, and getting them subtly wrong would
// produce a false "all clear".
package gitcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/slsync/slsync/internal/childenv"
)

// Status is what Git thinks of a path.
type Status struct {
	// WorkTree is the root of the Git work tree the path lies in; "" when it
	// lies in none.
	WorkTree string
	// Ignored: the ignore rules match a file at the path (whether or not it
	// is tracked already).
	Ignored bool
	// Tracked: Git already tracks the file, or for a directory some file in it.
	Tracked bool
	// NoGit: the git binary is not installed, so ignore rules could not be
	// read. WorkTree is then found by looking for a .git entry in the path's
	// ancestors, and Ignored and Tracked are unknown (false).
	NoGit bool
}

// Exposed reports whether a secret written at the path could be committed:
// it lies in a work tree and is not ignored, or is tracked already.
func (s Status) Exposed() bool {
	return s.WorkTree != "" && (!s.Ignored || s.Tracked)
}

// Checker runs git. The zero value finds git on PATH.
type Checker struct {
	// Git is the git binary to run; "" means "git" looked up on PATH.
	Git string
}

// Check reports the Git status of path, which need not exist yet (a secrets
// directory or credentials file is often created by the first apply). When
// isDir is true the question is asked for files slsync would write inside the
// directory, since ignore rules such as `*.json` ignore the files but not the
// directory itself.
func (c Checker) Check(ctx context.Context, path string, isDir bool) (Status, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Status{}, fmt.Errorf("resolve %s: %w", path, err)
	}
	// git needs an existing directory to run in; the nearest existing
	// ancestor lies in the same work tree as the path will.
	dir := existingDir(abs, isDir)
	// Resolve symlinks in the existing part (macOS /tmp → /private/tmp) so
	// that the path and git's idea of the work tree agree.
	if real, err := filepath.EvalSymlinks(dir); err == nil && real != dir {
		rel, relErr := filepath.Rel(dir, abs)
		if relErr == nil {
			abs = filepath.Join(real, rel)
			dir = real
		}
	}

	git := c.Git
	if git == "" {
		git = "git"
	}
	gitPath, lookErr := exec.LookPath(git)
	if lookErr != nil {
		return Status{WorkTree: findDotGit(dir), NoGit: true}, nil
	}

	out, code, err := run(ctx, gitPath, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return Status{}, err
	}
	if code != 0 {
		// 128: not a work tree (or inside .git, or a bare repository).
		return Status{}, nil
	}
	st := Status{WorkTree: strings.TrimSpace(out)}

	probe := abs
	if isDir {
		// A representative file of the layout slsync writes there.
		probe = filepath.Join(abs, "slsync-probe", "slsync-probe.json")
	}
	_, code, err = run(ctx, gitPath, dir, "check-ignore", "-q", "--no-index", "--", probe)
	if err != nil {
		return Status{}, err
	}
	switch code {
	case 0:
		st.Ignored = true
	case 1:
	default:
		return Status{}, fmt.Errorf("git check-ignore %s failed (exit %d)", probe, code)
	}

	out, code, err = run(ctx, gitPath, dir, "ls-files", "--", abs)
	if err != nil {
		return Status{}, err
	}
	if code == 0 && strings.TrimSpace(out) != "" {
		st.Tracked = true
	}
	return st, nil
}

// run runs git in dir and returns its stdout and exit code; err is set only
// when git could not be run at all.
func run(ctx context.Context, git, dir string, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Dir = dir
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	// Keep git from prompting or paging, and from reading a repository
	// chosen by an inherited GIT_DIR instead of the path's own.
	cmd.Env = append(childenv.Without(os.Environ(), "GIT_DIR", "GIT_WORK_TREE"), "GIT_TERMINAL_PROMPT=0", "GIT_PAGER=cat")
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return stdout.String(), ee.ExitCode(), nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("run git %s: %w", args[0], err)
	}
	return stdout.String(), 0, nil
}

// existingDir returns the nearest existing directory at or above abs.
func existingDir(abs string, isDir bool) string {
	dir := abs
	if !isDir {
		dir = filepath.Dir(abs)
	}
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}

// findDotGit walks up from dir looking for a .git directory or file (a
// worktree or submodule has a .git file); it returns the directory holding
// it, or "".
func findDotGit(dir string) string {
	for {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
