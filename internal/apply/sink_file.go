package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/slsync/slsync/internal/safefile"
)

// FileSink writes each secret to DIR/<project key>/<key name>.json with mode
// 0600, in directories of mode 0700. A rotation overwrites the file of the
// same key name, so the file always holds the newest secret.
//
// Writes are atomic (safefile.Write: temporary file in the same directory,
// fsync, rename, fsync of the directory): a reader, or a crash, sees the old document or
// the new one, never a torn one. That matters because the old key is
// invalidated right after delivery — a half-written new secret would leave
// no working key at all.
type FileSink struct {
	dir string
}

// NewFileSink returns a sink writing below dir, which is created on first
// delivery if missing.
func NewFileSink(dir string) (*FileSink, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, errors.New("--secrets-dir is empty; give a directory to write key secrets to")
	}
	return &FileSink{dir: filepath.Clean(dir)}, nil
}

// Dir is the secrets directory.
func (f *FileSink) Dir() string { return f.dir }

func (f *FileSink) Name() string { return "--secrets-dir " + f.dir }

// Path returns where the secret of s is written, or an error if the project
// key or key name cannot be a single path element.
func (f *FileSink) Path(s KeySecret) (string, error) {
	if err := safeElement("project key", s.ProjectKey); err != nil {
		return "", err
	}
	if err := safeElement("key name", s.KeyName); err != nil {
		return "", err
	}
	return filepath.Join(f.dir, s.ProjectKey, s.KeyName+".json"), nil
}

// safeElement refuses names that would leave their directory or are not a
// plain file name. Manifest keys are restricted by the schema already; this
// guards the file system against anything that slipped through.
func safeElement(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty; cannot name a secrets file after it", what)
	case name == "." || name == "..":
		return fmt.Errorf("%s %q cannot name a secrets file", what, name)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("%s %q contains a path separator or NUL; it cannot name a secrets file", what, name)
	case strings.HasPrefix(name, "."):
		// Would also collide with our temporary files.
		return fmt.Errorf("%s %q starts with a dot; it cannot name a secrets file", what, name)
	}
	return nil
}

func (f *FileSink) Deliver(ctx context.Context, s KeySecret) error {
	fail := func(err error) error {
		return &DeliveryError{Sink: f.Name(), ProjectKey: s.ProjectKey, KeyName: s.KeyName, Err: err}
	}
	path, err := f.Path(s)
	if err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := mkdirPrivate(f.dir, false); err != nil {
		return fail(err)
	}
	if err := mkdirPrivate(filepath.Dir(path), true); err != nil {
		return fail(err)
	}
	if err := safefile.Write(path, s.MarshalSecretJSON(), 0o600); err != nil {
		return fail(err)
	}
	return nil
}

// mkdirPrivate creates dir (and parents) with mode 0700. With own set, an
// existing dir is also narrowed to 0700: the per-project directories are
// slsync's; the top-level secrets directory belongs to the user and keeps
// the mode they gave it (the files in it are 0600 regardless).
func mkdirPrivate(dir string, own bool) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s exists and is not a directory", dir)
	case err == nil:
		if own && fi.Mode().Perm() != 0o700 {
			if err := os.Chmod(dir, 0o700); err != nil {
				return fmt.Errorf("restrict %s to mode 0700: %w", dir, err)
			}
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create secrets directory: %w", err)
	}
	// The umask can only clear bits, but be exact about what we promise.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict %s to mode 0700: %w", dir, err)
	}
	return nil
}
