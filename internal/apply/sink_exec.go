package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/slsync/slsync/internal/childenv"
)

// DefaultExecTimeout bounds one run of the --secrets-exec command.
const DefaultExecTimeout = 60 * time.Second

// stderrLimit is how much of the command's stderr an error quotes.
const stderrLimit = 2048

// ExecSink hands each secret to a user command (`sh -c CMD`), once per
// secret, with the JSON document of KeySecret.MarshalSecretJSON on stdin.
// That lets a CI pipeline put secrets straight into its own secret store
// without them touching the disk.
//
// The secret travels only on stdin — never in argv or the environment,
// which other processes on the machine can read. The environment is
// slsync's own plus SLSYNC_PROJECT_KEY, SLSYNC_PROJECT_ID, SLSYNC_KEY_NAME
// and SLSYNC_KEY_ID (all non-secret), minus EC_API_KEY (the command has no
// business with the Cloud API key). Stdout is discarded; stderr is quoted
// (truncated, with the secret scrubbed) in the error when the command fails.
// A non-zero exit or a timeout is a failed delivery.
type ExecSink struct {
	command string
	timeout time.Duration
}

// NewExecSink returns a sink running command with sh -c; timeout <= 0 means
// DefaultExecTimeout.
func NewExecSink(command string, timeout time.Duration) (*ExecSink, error) {
	if strings.TrimSpace(command) == "" {
		return nil, errors.New("--secrets-exec is empty; give a shell command that reads the secret JSON from stdin")
	}
	if timeout <= 0 {
		timeout = DefaultExecTimeout
	}
	return &ExecSink{command: command, timeout: timeout}, nil
}

func (e *ExecSink) Name() string { return "--secrets-exec command" }

func (e *ExecSink) Deliver(ctx context.Context, s KeySecret) error {
	fail := func(err error) error {
		return &DeliveryError{Sink: e.Name(), ProjectKey: s.ProjectKey, KeyName: s.KeyName, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()

	cmd := exec.CommandContext(runCtx, "sh", "-c", e.command)
	cmd.Stdin = bytes.NewReader(s.MarshalSecretJSON())
	cmd.Stdout = nil // discarded: it may echo the secret
	// Capture more than we quote, so that a secret echoed near the quoting
	// limit is whole when it is scrubbed.
	stderr := &limitedBuffer{limit: 4 * stderrLimit}
	cmd.Stderr = stderr
	cmd.Env = append(childenv.Without(os.Environ(), "EC_API_KEY", "SLSYNC_PROJECT_KEY", "SLSYNC_PROJECT_ID", "SLSYNC_KEY_NAME", "SLSYNC_KEY_ID"),
		"SLSYNC_PROJECT_KEY="+s.ProjectKey,
		"SLSYNC_PROJECT_ID="+s.ProjectID,
		"SLSYNC_KEY_NAME="+s.KeyName,
		"SLSYNC_KEY_ID="+s.ID,
	)
	// Kill the whole process group on timeout, so that a pipeline such as
	// `vault kv put … -` does not outlive us; and stop waiting for stderr
	// shortly after, should a grandchild keep it open.
	killGroup(cmd)
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	if err == nil {
		return nil
	}
	detail := truncate(s.redactIn(strings.TrimSpace(stderr.String())), stderrLimit)
	if detail != "" {
		detail = "; its stderr: " + detail
	}
	switch {
	case ctx.Err() != nil:
		return fail(fmt.Errorf("stopped: %w", ctx.Err()))
	case runCtx.Err() != nil:
		return fail(fmt.Errorf("the command did not finish within %s and was killed (is it waiting for input or a prompt?)%s", e.timeout, detail))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() >= 0 {
			return fail(fmt.Errorf("the command exited with status %d%s", ee.ExitCode(), detail))
		}
		return fail(fmt.Errorf("the command was terminated (%v)%s", ee.ProcessState, detail))
	}
	return fail(fmt.Errorf("could not run the command: %v", err))
}

// truncate shortens s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + " …(truncated)"
}

// limitedBuffer keeps the first limit bytes written and notes that more
// was dropped. It is written by exec's copying goroutine and read after
// Wait, but a lock keeps it honest should that change.
type limitedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	limit     int
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.limit - b.buf.Len(); room < len(p) {
		if room > 0 {
			b.buf.Write(p[:room])
		}
		b.truncated = true
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if b.truncated {
		s += " …(truncated)"
	}
	return s
}
