// Package safefile handles the files that hold secrets or state — the
// credentials file, key secrets, saved plans, the emulator's data file: it
// writes them atomically and guards their read-modify-write with advisory
// locks. It exists so that these guarantees are implemented (and tested)
// once: a torn credentials file or a lost update loses passwords that cannot
// be read back from the API.
package safefile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with data so that readers and crashes see either the
// old content or the new, never a mix: it writes a temporary file in the
// same directory, narrowed to perm before any byte is written, fsyncs it,
// renames it over path and fsyncs the directory. On failure path is
// untouched and no temporary file is left behind.
//
// The directory must exist: creating it, and with which mode, is the
// caller's decision. Temporary files are named ".<base>.tmp-*", so callers
// that list the directory can tell them apart.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	// Windows only knows a read-only bit; the file is private to the user
	// there by its directory's ACL, not by a mode.
	if cerr := tmp.Chmod(perm); cerr != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("write %s: %w", path, cerr)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Make the rename itself durable. Some platforms cannot fsync a
	// directory; the data is written either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
