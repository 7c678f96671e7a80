package apply

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/slsync/slsync/internal/safefile"
)

// LockPath is the advisory lock file of applies that share a credentials
// file: next to it, named <file>.apply.lock.
func LockPath(credentialsPath string) string { return credentialsPath + ".apply.lock" }

// Lock takes the advisory lock that keeps two applies on one machine (or
// sharing one credentials file) from running at once. It does not wait
// (safefile.TryLock): a second apply fails at once with a message naming
// the lock. Applies on different machines are not covered; the executor's
// post-create checks keep them from making duplicates (see README.md,
// "slsync apply").
func Lock(credentialsPath string) (unlock func(), err error) {
	path := LockPath(credentialsPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("apply lock: %w", err)
	}
	unlock, err = safefile.TryLock(path)
	if errors.Is(err, safefile.ErrLocked) {
		return nil, fmt.Errorf("another slsync apply is running with the credentials file %s (lock %s held); wait for it to finish, then plan again", credentialsPath, path)
	}
	if err != nil {
		return nil, fmt.Errorf("apply %w", err) // "apply lock …"
	}
	return unlock, nil
}
