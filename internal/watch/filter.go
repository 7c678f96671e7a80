package watch

import (
	"path/filepath"
	"strings"
)

// ignoredName reports whether a file or directory name belongs to an editor's
// or tool's scratch space rather than to the manifests: hidden files (vim's
// .x.swp/.x.swx, Emacs' .#x lock links, the .x.tmp files of atomic savers),
// Emacs' #x# autosaves and backups ending in "~" (vim's x~, or x.yamz~ when x~
// already exists). Vim's 4913 probe file and sed's sedXXXXXX temp files carry no
// YAML extension, so isManifestName drops them.
func ignoredName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || strings.HasSuffix(name, "~")
}

// isManifestName reports whether a file name is one the manifest loader reads:
// *.yaml or *.yml and not an editor scratch file. The extension is matched
// case-insensitively: a spurious re-plan costs little, a missed one misleads.
func isManifestName(name string) bool {
	if ignoredName(name) {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return true
	}
	return false
}

// skipDir reports whether a directory below the watched root is left out:
// hidden directories (.git, .idea, .terraform…) hold no manifests and can hold
// many subdirectories that would each cost an inotify watch.
func skipDir(name string) bool { return strings.HasPrefix(name, ".") }

// relTo returns path relative to base and whether path lies inside base (or is
// base itself, rel "."). Both must be clean.
func relTo(base, path string) (string, bool) {
	rel, err := filepath.Rel(base, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// inSkippedDir reports whether rel (relative to the watched root) passes
// through a directory that skipDir leaves out.
func inSkippedDir(rel string) bool {
	parts := strings.Split(rel, string(filepath.Separator))
	for _, p := range parts[:len(parts)-1] {
		if skipDir(p) {
			return true
		}
	}
	return false
}
