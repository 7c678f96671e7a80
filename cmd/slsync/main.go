// Command slsync keeps Elastic Cloud Serverless projects and their scoped API
// keys the way a Git repository of YAML manifests says they should be.
//
// This package is wiring only: each command's file parses flags and calls
// into internal/ packages, which hold the logic and the tests of it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
