// Package cmd is elt's command line: a cobra command tree built anew for
// every call of Main, one file per verb. It turns flags into Options values
// for the domain packages, is the only package that wires them together
// (project → compiler → selector → warehouse → runner), renders diagnostics
// and progress, and picks the exit status.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/diag"
)

// Exit statuses of elt (SPEC §7).
const (
	ExitOK        = 0   // success; warnings allowed
	ExitFailure   = 1   // a model, seed or test failed
	ExitUsage     = 2   // a usage or project error: bad flags, bad YAML, unknown ref, cycle
	ExitCancelled = 130 // cancelled by SIGINT or SIGTERM
)

// Version is elt's version. Release builds set it with
// -ldflags "-X github.com/elt-dev/elt/cmd.Version=v1.2.3".
var Version = "v0.1.0-dev"

// ExampleProject is the example project `elt init` copies into a new
// directory: project.yaml, models/, macros/, tests/ and seeds/ at its root.
// The elt binary's main package sets it from the files it embeds, before
// calling Main; tests set it from os.DirFS of the repository root. When it
// is nil, `elt init` fails with a clear error.
var ExampleProject fs.FS

// Main runs elt with args (without the program name) and returns the exit
// status. It is the real process's entry point: SIGINT and SIGTERM cancel
// the run (exit 130); a second signal kills the process as usual.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == "version" {
		// Fast path: elt version must answer without building the tree.
		fmt.Fprintln(stdout, versionLine())
		return ExitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, restore the default handling so that a
		// second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	return MainContext(ctx, args, stdin, stdout, stderr)
}

// MainContext is Main with the caller's context instead of signal handling;
// cancelling ctx cancels the run like SIGINT does. Tests call it in-process.
func MainContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return a.exitCode(err)
}

// app is one invocation of elt: its streams, context and global options.
// Subcommands read the options after cobra has parsed the flags.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	opts   globalOptions
	pr     *printer
	// sched is set when the scheduler runs this invocation for a job's
	// slot (schedule.go); nil for a command typed by a user.
	sched *scheduledRun
	// rerun is set by backfill and retry (backfill.go); nil otherwise.
	rerun *rerun
}

// printer returns the invocation's printer, made from the parsed flags on
// first use.
func (a *app) printer() *printer {
	if a.pr == nil {
		a.pr = newPrinter(a.stdout, a.stderr, a.opts.LogFormat == "json", a.opts.Quiet, a.opts.NoColor)
	}
	return a.pr
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// failedError means nodes failed and were already reported: exit status 1
// with nothing more to print.
type failedError struct{}

func (failedError) Error() string { return "some nodes failed" }

// reportedError is an error already printed to the user, carrying the exit
// status to return.
type reportedError struct{ code int }

func (e *reportedError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode prints err (unless it was already reported) and maps it to an
// exit status.
func (a *app) exitCode(err error) int {
	if a.pr != nil {
		a.pr.stopLive()
	}
	if err == nil {
		return ExitOK
	}
	pr := a.printer()
	var rep *reportedError
	switch {
	case errors.As(err, &rep):
		return rep.code
	case errors.Is(err, context.Canceled) || a.ctx.Err() != nil:
		pr.Errorf("cancelled")
		return ExitCancelled
	case errors.As(err, new(failedError)):
		return ExitFailure
	}
	var le *diag.ListError
	if errors.As(err, &le) {
		pr.Diagnostics(le.List)
		return ExitUsage
	}
	var d diag.Diagnostic
	if errors.As(err, &d) {
		pr.Diagnostics(diag.List{d})
		return ExitUsage
	}
	msg := err.Error()
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsage(msg) {
		pr.Errorf("elt: %s", msg)
		pr.Errorf("Run 'elt --help' for usage.")
		return ExitUsage
	}
	pr.Errorf("elt: %s", msg)
	return ExitUsage
}

// isCobraUsage reports whether msg is one of cobra's own command-line
// errors (unknown command or flag, wrong argument count).
func isCobraUsage(msg string) bool {
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// rootCommand builds the whole command tree for one invocation.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "elt",
		Short: "elt builds SQL models over DuckDB, dbt-style",
		Long: "elt is a SQL-centric ELT tool: one Go binary over embedded DuckDB.\n" +
			"Write SQL models with Jinja and YAML; elt compiles them into a graph and runs them.",
		SilenceErrors:     true,
		SilenceUsage:      true,
		Version:           Version,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			return a.opts.validate()
		},
	}
	root.SetVersionTemplate(versionLine() + "\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{msg: err.Error()}
	})
	a.opts.register(root)
	root.AddCommand(
		a.initCommand(),
		a.compileCommand(),
		a.runCommand(),
		a.buildCommand(),
		a.seedCommand(),
		a.lsCommand(),
		a.showCommand(),
		a.runOperationCommand(),
		a.cleanCommand(),
		a.debugCommand(),
		a.versionCommand(),
		a.testCommand(),
		a.sourceCommand(),
		a.lineageCommand(),
		a.docsCommand(),
		a.snapshotCommand(),
		a.backfillCommand(),
		a.retryCommand(),
		a.scheduleCommand(),
		a.historyCommand(),
		a.streamCommand(),
		a.serveCommand(),
	)
	return root
}
