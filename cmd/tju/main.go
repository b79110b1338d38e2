// Command tju moves data over TJU TCP, the reliable transport over UDP from the
// Tianjin University networking lab, and shows how it behaves.
//
// Run "tju help" for the list of subcommands and "tju <subcommand> --help" for
// the flags and examples of each.
//
// The command line is built on cobra (github.com/spf13/cobra) and its flag
// package pflag. They give what users of Unix tools expect: --long and -s
// flags (with "--name=value" and "-s value"), flags before or after the
// arguments, "--" to end them, generated help, and shell completion
// ("tju completion bash"), from a library kubectl, gh and hugo are built on.
// Each subcommand binds its flags to the fields of its own options struct, so
// a typo in a flag name fails to compile instead of panicking at run time.
// kong was the other candidate (typed options from struct tags); cobra won
// for its explicit binding, which keeps custom flag types (sizes, rates,
// impairments) as plain pflag.Value implementations other packages can share.
// The conventions (help layout, error style, exit codes, --version, the
// single-dash long flags of earlier versions) live in internal/cli, which
// cmd/minitalk shares.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/internal/cli"
)

// env is what a subcommand sees of the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// commands holds the constructors of the subcommands. Each subcommand lives
// in its own file and registers itself from an init function; run builds a
// fresh tree for every invocation, so options never leak between runs.
var commands []func(e *env) *cobra.Command

func register(newCommand func(e *env) *cobra.Command) {
	commands = append(commands, newCommand)
}

// usageError marks an error caused by how the command was invoked; it exits 2.
type usageError = cli.UsageError

func usagef(format string, a ...any) error { return cli.Usagef(format, a...) }

// The exit codes.
const (
	exitOK          = cli.ExitOK
	exitFailure     = cli.ExitFailure
	exitUsage       = cli.ExitUsage
	exitInterrupted = cli.ExitInterrupted
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first Ctrl-C the command winds down; a second one kills it.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code: 0, 1 for
// a failure, 2 for a usage error, 130 when ctx ended (Ctrl-C) before the
// command finished its work.
func run(ctx context.Context, args []string, e *env) int {
	return cli.Execute(ctx, newRoot(e), args)
}

// newRoot builds the command tree.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "tju",
		Short: "TJU TCP, a reliable byte stream over UDP, and tools to watch it work",
		Long: `tju moves data over TJU TCP, the reliable transport over UDP of the Tianjin
University networking lab, and shows how it behaves: a demo over an
emulated lossy link with charts, file transfers, a bench like iperf3, an
impairment relay, the lab's two hosts on one machine and its grader.`,
		Example: `  # A transfer over an emulated lossy link, with charts (a few seconds):
  tju demo

  # Send a file: on host B "tju recv -o copy.iso", then on host A:
  tju send hostB photo.iso`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	for _, newCommand := range commands {
		root.AddCommand(newCommand(e))
	}
	cli.Setup(root)
	return root
}

// version describes this build: "tju v1.2.0 (go1.26.0 linux/amd64)", with
// the source revision when the build recorded one.
func version() string { return cli.Version("tju") }

// noArgs rejects positional arguments.
func noArgs(cmd *cobra.Command, args []string) error { return cli.NoArgs(cmd, args) }
