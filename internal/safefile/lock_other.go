//go:build !unix

package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// staleAfter is how old a lock file must be before Lock takes it to belong
// to a holder that died. Lock guards short critical sections only; TryLock,
// whose holders may run for long, never removes a lock file.
const staleAfter = 2 * time.Minute

// tryLock creates path exclusively; the file's existence is the lock.
func tryLock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	f.Close()
	return func() { os.Remove(path) }, nil
}

// removeStale removes path if it is older than staleAfter and reports
// whether it did.
func removeStale(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || time.Since(fi.ModTime()) <= staleAfter {
		return false
	}
	return os.Remove(path) == nil
}
