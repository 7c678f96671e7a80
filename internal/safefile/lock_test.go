package safefile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestLockSerializesUpdates runs many read-modify-write updates of one file
// at once, each under Lock; without mutual exclusion most increments would
// be lost.
func TestLockSerializesUpdates(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "counter")
	lock := counter + ".lock"
	if err := Write(counter, []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				unlock, err := Lock(context.Background(), lock)
				if err != nil {
					return err
				}
				defer unlock()
				b, err := os.ReadFile(counter)
				if err != nil {
					return err
				}
				v, err := strconv.Atoi(string(b))
				if err != nil {
					return err
				}
				time.Sleep(time.Millisecond) // widen the window a lost update needs
				return Write(counter, []byte(strconv.Itoa(v+1)), 0o600)
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(counter); string(b) != strconv.Itoa(n) {
		t.Fatalf("counter = %s after %d locked increments", b, n)
	}
}

// Lock waits for a held lock: until it is released, or until ctx ends.
func TestLockWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.lock")
	unlock, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path); !errors.Is(err, ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock on a held lock until ctx ends: err = %v, want ErrLocked and the deadline", err)
	}

	got := make(chan error, 1)
	go func() {
		unlock2, err := Lock(context.Background(), path)
		if err == nil {
			unlock2()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Lock returned (%v) while the lock was held", err)
	case <-time.After(30 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("Lock after release: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Lock did not take the lock after it was released")
	}
}

// TryLock fails at once on a held lock (whether taken by Lock or TryLock)
// and succeeds once it is released.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apply.lock")
	for _, first := range []struct {
		name string
		take func() (func(), error)
	}{
		{"TryLock", func() (func(), error) { return TryLock(path) }},
		{"Lock", func() (func(), error) { return Lock(context.Background(), path) }},
	} {
		t.Run("held by "+first.name, func(t *testing.T) {
			unlock, err := first.take()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
				t.Fatalf("second TryLock: err = %v, want ErrLocked", err)
			}
			unlock()
			unlock2, err := TryLock(path)
			if err != nil {
				t.Fatalf("TryLock after unlock: %v", err)
			}
			unlock2()
		})
	}
}

// A lock file that cannot be created is an error of its own, not ErrLocked:
// waiting would not help.
func TestLockUncreatable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "x.lock")
	if _, err := TryLock(path); err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock in a missing directory: err = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Lock(ctx, path); err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("Lock in a missing directory: err = %v", err)
	}
}
