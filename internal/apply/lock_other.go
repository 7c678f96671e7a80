//go:build !unix

package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// tryLock creates path exclusively. Without flock a killed apply leaves the
// file behind; the error message says to remove it.
func tryLock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, errLocked
	}
	if err != nil {
		return nil, fmt.Errorf("apply lock: %w", err)
	}
	f.Close()
	return func() { os.Remove(path) }, nil
}
