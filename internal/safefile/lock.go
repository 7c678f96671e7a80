package safefile

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLocked is the error (possibly wrapped) of TryLock when another holder
// has the lock, and of Lock when ctx ended while it waited for one.
var ErrLocked = errors.New("lock held by another process")

// TryLock takes the exclusive advisory lock on the lock file path (created
// if missing) without waiting: if someone else holds it, it fails at once
// with ErrLocked. It suits locks held for a long time, where waiting would
// only hide that another run is going on. unlock releases the lock.
//
// On unix the lock is an flock on the open file: two goroutines of one
// process exclude each other as two processes do, and the kernel drops the
// lock when its holder dies, so no stale lock is ever left. Elsewhere the
// lock is the file's existence (created with O_EXCL, removed on unlock): a
// holder that dies leaves it behind, and TryLock fails until it is removed.
func TryLock(path string) (unlock func(), err error) {
	return tryLock(path)
}

// Lock takes the exclusive advisory lock on the lock file path, as TryLock
// does, but waits (polling, at most 25ms apart) until the lock is free or ctx
// ends; then the error wraps both ErrLocked and ctx.Err(). It suits short
// critical sections such as a read-modify-write of a small file. Where there
// is no flock (see TryLock), a lock file older than two minutes is taken to
// be left by a holder that died, and removed.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	wait := 2 * time.Millisecond
	for {
		unlock, err := tryLock(path)
		if !errors.Is(err, ErrLocked) {
			return unlock, err
		}
		if removeStale(path) {
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: gave up waiting for %s: %w", ErrLocked, path, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 25*time.Millisecond)
	}
}
