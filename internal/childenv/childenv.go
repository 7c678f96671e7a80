// Package childenv builds the environment of the processes slsync starts
// (the --secrets-exec command, git). Both must not inherit some variables:
// the exec sink must never hand the Cloud API key to a hook, and git must
// not follow an inherited GIT_DIR to another repository. One filter serves
// both, so that the rule for what "removing a variable" means is in one
// place.
package childenv

import "strings"

// Without returns a copy of env (KEY=value entries, as os.Environ gives)
// without the entries of the named variables. Names match exactly, as on
// unix; env is not modified.
func Without(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		for _, name := range names {
			if strings.HasPrefix(kv, name+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
