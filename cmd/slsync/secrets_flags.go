package main

import (
	"context"
	"fmt"
	"io"

	"github.com/slsync/slsync/internal/apply"
	"github.com/slsync/slsync/internal/plan"
)

// SecretFlags say where the secrets of created API keys go (apply, watch
// --apply).
type SecretFlags struct {
	SecretsDir  string `name:"secrets-dir" placeholder:"DIR" help:"Write each created API key's secret to DIR/<project key>/<key name>.json (mode 0600)."`
	SecretsExec string `name:"secrets-exec" placeholder:"CMD" help:"Run CMD (sh -c) once per created API key with its secret as JSON on stdin."`
}

// sink builds the secret sinks from the flags (none: a MultiSink of zero,
// which apply.Check refuses when keys are created).
func (f *SecretFlags) sink() (apply.Sink, error) {
	var sinks []apply.Sink
	if f.SecretsDir != "" {
		fs, err := apply.NewFileSink(f.SecretsDir)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, fs)
	}
	if f.SecretsExec != "" {
		es, err := apply.NewExecSink(f.SecretsExec, 0)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, es)
	}
	return apply.NewMultiSink(sinks...), nil
}

// warnExposed warns when secrets would land in a Git work tree unignored.
func (f *SecretFlags) warnExposed(ctx context.Context, app *App, credsPath string) {
	if w, ok := apply.WarnIfTracked(ctx, credsPath, false); ok {
		fmt.Fprintln(app.Stderr, w)
	}
	if f.SecretsDir != "" {
		if w, ok := apply.WarnIfTracked(ctx, f.SecretsDir, true); ok {
			fmt.Fprintln(app.Stderr, w)
		}
	}
}

// applyOptions are the executor options apply and watch --apply share.
func applyOptions(app *App, l *live, sink apply.Sink, parallelism, maxDeletes int) apply.Options {
	return apply.Options{
		Projects:        l.Projects,
		NewKeyAPI:       keyAPIs(l.Opts),
		CredentialsPath: l.CredsPath,
		Sink:            sink,
		Parallelism:     parallelism,
		MaxDeletes:      maxDeletes,
		Logger:          app.Log,
	}
}

// runApply executes p with opts, showing progress on w (redrawn in place
// and coloured when w is a terminal that allows it), and prints the summary
// once the run is over. An error is apply.Apply's own (the plan could not be
// run at all); failed actions are in the report.
func runApply(ctx context.Context, w io.Writer, p *plan.Plan, opts apply.Options) (*apply.Report, error) {
	prog := apply.NewProgress(w, apply.ProgressOptions{Terminal: IsTerminal(w), Color: UseColor(w), Width: TerminalWidth(w)})
	opts.Progress = prog
	rep, err := apply.Apply(ctx, p, opts)
	prog.Close()
	if err != nil {
		return nil, err
	}
	prog.Summary()
	return rep, nil
}
