package apply

import (
	"context"
	"fmt"

	"github.com/slsync/slsync/internal/gitcheck"
)

// WarnIfTracked returns a warning when secrets written at path could end up
// in a Git commit: path lies inside a Git work tree and is not ignored, or is
// tracked already. isDir says whether path is a directory secrets are
// written into (--secrets-dir) rather than a file (the credentials file).
// The path need not exist yet. ok is false when there is nothing to warn
// about, including when Git cannot be asked (the warning is advice; it never
// stops an apply).
func WarnIfTracked(ctx context.Context, path string, isDir bool) (warning string, ok bool) {
	return warnIfTracked(ctx, gitcheck.Checker{}, path, isDir)
}

func warnIfTracked(ctx context.Context, c gitcheck.Checker, path string, isDir bool) (string, bool) {
	st, err := c.Check(ctx, path, isDir)
	if err != nil || !st.Exposed() {
		return "", false
	}
	what := "file"
	fix := fmt.Sprintf("add %s to .gitignore", path)
	if isDir {
		what = "directory"
		fix = fmt.Sprintf("add %s/ to .gitignore", path)
	}
	switch {
	case st.NoGit:
		return fmt.Sprintf("warning: secrets %s %s lies inside a Git work tree (%s) and git is not installed to check whether it is ignored; make sure it is in .gitignore, or keep it outside the repository",
			what, path, st.WorkTree), true
	case st.Tracked:
		return fmt.Sprintf("warning: secrets %s %s is tracked by Git (work tree %s): secrets written there will show up in commits; run `git rm --cached -r %s`, %s, and rotate anything already committed",
			what, path, st.WorkTree, path, fix), true
	default:
		return fmt.Sprintf("warning: secrets %s %s lies inside the Git work tree %s and is not ignored: a `git add` would commit secrets; %s or keep it outside the repository",
			what, path, st.WorkTree, fix), true
	}
}
