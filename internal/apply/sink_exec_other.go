//go:build !unix

package apply

import "os/exec"

// killGroup: without process groups, cancellation kills the shell only
// (exec's default) and WaitDelay bounds the wait for its children.
func killGroup(cmd *exec.Cmd) {}
