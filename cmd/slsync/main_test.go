package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binPath is the slsync binary built once for the whole package's tests: the
// CLI is the interface, so tests run the real binary.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slsync-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "slsync")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building slsync:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliResult is what one run of the binary produced.
type cliResult struct {
	Stdout, Stderr string
	Code           int
}

// runCLI runs the built binary with args in dir (the repo's cmd/slsync if
// ""), with env added to a minimal environment, and stdin as standard input.
func runCLI(t testing.TB, dir string, env []string, stdin string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1"}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running slsync %v: %v", args, err)
	}
	return cliResult{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// startCLI starts the built binary with args and env added to runCLI's
// minimal environment, for commands that keep running (watch, a slow
// apply). Its stdout and stderr both go to the returned buffer; the test's
// cleanup kills it if it is still running.
func startCLI(t testing.TB, env []string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1"}, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, out
}

// stopCLI sends sig to a started binary and returns what Wait returns; it
// fails the test if the process has not exited within 15 seconds.
func stopCLI(t testing.TB, cmd *exec.Cmd, sig os.Signal) error {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("slsync %s did not stop on %v", strings.Join(cmd.Args[1:], " "), sig)
		return nil
	}
}

func TestVersionAndUsage(t *testing.T) {
	r := runCLI(t, "", nil, "", "version")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "slsync ") {
		t.Fatalf("version: %+v", r)
	}
	r = runCLI(t, "", nil, "", "no-such-command")
	if r.Code != exitUsage || !strings.Contains(r.Stderr, "unexpected argument no-such-command") {
		t.Fatalf("unknown command: want exit %d and a message, got %+v", exitUsage, r)
	}
	r = runCLI(t, "", nil, "", "--help")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Usage: slsync") {
		t.Fatalf("--help: %+v", r)
	}
}

// syncBuffer collects a subprocess's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the output holds want at least count times.
func (s *syncBuffer) waitFor(t *testing.T, want string, count int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(s.String(), want) >= count {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %d× %q in output:\n%s", count, want, s.String())
}
