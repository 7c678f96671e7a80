//go:build !unix

package cloud

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// staleLock is how old a lock file must be before it is taken to belong to
// a process that died.
const staleLock = 2 * time.Minute

// lockFile creates path exclusively (O_EXCL), polling until it can or ctx
// ends; a lock file older than staleLock is removed as stale.
func lockFile(ctx context.Context, path string) (func(), error) {
	wait := 2 * time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("credentials lock: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleLock {
			os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the credentials lock %s (another slsync is writing it; remove it if none is): %w", path, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 25*time.Millisecond)
	}
}
