package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/alecthomas/kong"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// it comes from the module's build info.
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Exit codes shared by every command.
const (
	exitOK      = 0
	exitError   = 1 // invalid input, failed action, unreachable API
	exitUsage   = 2 // bad command line
	exitChanges = 2 // plan --detailed-exitcode: changes present
)

// exitCodeError carries a specific exit code out of a command's Run.
type exitCodeError struct {
	code int
	err  error // nil: nothing more to print
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitCodeError) Unwrap() error { return e.err }

// withExitCode returns an error that makes slsync exit with code; err (may be
// nil) is printed if set.
func withExitCode(code int, err error) error { return &exitCodeError{code: code, err: err} }

// Globals are the flags every command accepts.
type Globals struct {
	LogFormat string `name:"log-format" enum:"text,json" default:"text" env:"SLSYNC_LOG_FORMAT" help:"Log format: ${enum}."`
	LogLevel  string `name:"log-level" enum:"debug,info,warn,error" default:"info" env:"SLSYNC_LOG_LEVEL" help:"Log level: ${enum}."`
}

// App is what every command's Run receives: its I/O and a context that ends
// on SIGINT/SIGTERM. Commands never touch os.Stdout or os.Exit directly, so
// that tests can run them with captured I/O.
type App struct {
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
}

// IsTerminal reports whether w is a terminal (for colour, live progress and
// prompts).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// TerminalWidth returns the width of the terminal w writes to: asked of the
// terminal, else $COLUMNS, else 80. Live status lines use it to stay on one
// row (a wrapped line cannot be redrawn in place).
func TerminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && IsTerminal(w) {
		if n := ttyColumns(f); n > 0 {
			return n
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}

// UseColor reports whether output to w may carry ANSI colour: only on a
// terminal, and never when NO_COLOR is set (https://no-color.org).
func UseColor(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	return IsTerminal(w) && os.Getenv("TERM") != "dumb"
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// usageExit is the sentinel kong's Exit hook panics with, so that --help and
// parse errors stop parsing at once (kong would otherwise carry on).
type usageExit int

// run parses args and runs the chosen command, returning the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var cli CLI
	defer func() {
		if r := recover(); r != nil {
			if c, ok := r.(usageExit); ok {
				code = int(c)
				return
			}
			panic(r)
		}
	}()
	parser, err := kong.New(&cli,
		kong.Name("slsync"),
		kong.Description("Keep Elastic Cloud Serverless projects and their API keys as your Git manifests say."),
		kong.Vars{"version": buildVersion()},
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { panic(usageExit(c)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "slsync: internal error: %v\n", err)
		return exitError
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "slsync: error: %v\n", err)
		var pe *kong.ParseError
		if errors.As(err, &pe) && pe.Context != nil {
			pe.Context.Stdout = stderr
			_ = pe.Context.PrintUsage(true)
		}
		return exitUsage
	}
	app := &App{
		Ctx:    ctx,
		Stdin:  stdin,
		Stdout: stdout,
		Stderr: stderr,
		Log:    newLogger(stderr, cli.LogFormat, cli.LogLevel),
	}
	if err := kctx.Run(app, &cli.Globals); err != nil {
		var ec *exitCodeError
		if errors.As(err, &ec) {
			if ec.err != nil {
				fmt.Fprintf(stderr, "slsync: %v\n", ec.err)
			}
			return ec.code
		}
		fmt.Fprintf(stderr, "slsync: %v\n", err)
		return exitError
	}
	return exitOK
}
