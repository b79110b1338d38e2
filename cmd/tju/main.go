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
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// The exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as shells report a process ended by Ctrl-C
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
	root := newRoot(e)
	root.SetArgs(longFlagsWithOneDash(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if cmd == nil {
		cmd = root
	}
	fmt.Fprintf(e.stderr, "%s: %v\n", cmd.CommandPath(), err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitFailure
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
		Example: `  # A transfer over an emulated lossy link, with charts (about 20 s):
  tju demo

  # Send a file: on host B "tju recv -o copy.iso", then on host A:
  tju send hostB photo.iso`,
		Version:       version(),
		Args:          noArgs,
		SilenceErrors: true, // run prints them, in one style
		SilenceUsage:  true,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(flagError)
	root.SetHelpTemplate(helpTemplate)
	root.SetUsageTemplate(helpTemplate)
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().BoolP("version", "V", false, "print the version of tju and exit")
	for _, newCommand := range commands {
		root.AddCommand(newCommand(e))
	}
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Short = "print a script that completes tju's commands and flags in bash, zsh, fish or PowerShell"
	}
	root.AddCommand(&cobra.Command{
		Use:     "version",
		Short:   "print the version of tju, its Go toolchain and its source revision",
		Example: "  tju version",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(e.stdout, version())
			return err
		},
	})
	return root
}

// helpTemplate is the layout of every --help: what the command does, how
// to call it, then its subcommands, flags and examples.
const helpTemplate = `{{.CommandPath}}: {{.Short}}

Usage:
{{- if .Runnable}}
  {{.UseLine}}{{end}}
{{- if .HasAvailableSubCommands}}
  {{.CommandPath}} COMMAND [flags]{{end}}
{{with .Long}}
{{.}}
{{end}}
{{- if .HasAvailableSubCommands}}
Commands:
{{- range .Commands}}{{if .IsAvailableCommand}}
  {{rpad .Name .NamePadding}} {{.Short}}{{end}}{{end}}
{{end}}
{{- if .HasAvailableLocalFlags}}
Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}
{{end}}
{{- if .HasAvailableInheritedFlags}}
Flags of every {{.Parent.CommandPath}} command:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}
{{end}}
{{- with .Example}}
Examples:
{{.}}
{{end}}
{{- if .HasAvailableSubCommands}}
Run '{{.CommandPath}} COMMAND --help' for the flags and examples of each.
{{end}}`

// version describes this build, from the information the Go toolchain
// records in the binary: "tju v1.2.0 (go1.26.0 linux/amd64)", with the
// source revision when the build recorded one.
func version() string {
	v, extra := "(unknown version)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		var rev, when, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = ", modified"
				}
			}
		}
		if rev != "" {
			extra = fmt.Sprintf(", revision %.12s%s", rev, dirty)
			if when != "" {
				extra += " of " + when
			}
		}
	}
	return fmt.Sprintf("tju %s (%s %s/%s%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH, extra)
}

// noArgs rejects positional arguments.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		var names []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		return usagef("unknown command %q (want %s)", args[0], strings.Join(names, ", "))
	}
	return usagef("unexpected arguments %q (want none)", args)
}

// flagError words pflag's errors in tju's style: what is wrong, then what
// is wanted.
func flagError(_ *cobra.Command, err error) error {
	var (
		notExist *pflag.NotExistError
		noValue  *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
	)
	switch {
	case errors.As(err, &notExist):
		name := notExist.GetSpecifiedName()
		if sh := notExist.GetSpecifiedShortnames(); sh != "" && sh != name[:1] {
			return usagef("unknown flag -%s (in -%s)", name[:1], sh)
		} else if sh != "" {
			return usagef("unknown flag -%s", sh)
		}
		return usagef("unknown flag --%s", name)
	case errors.As(err, &noValue):
		return usagef("%s needs a value (want %s)", flagName(noValue.GetFlag()), want(noValue.GetFlag()))
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		return usagef("%s %q: %s", flagName(f), invalid.GetValue(), reason(f, invalid.Unwrap()))
	}
	return usageError{err}
}

func flagName(f *pflag.Flag) string { return "--" + f.Name }

// want says what a flag takes, for an error message.
func want(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "duration":
		return "a duration like 1s or 300ms"
	case "int", "int64", "uint", "uint16", "uint64":
		return "a whole number"
	case "float64":
		return "a number"
	case "bool":
		return "true or false"
	}
	if name, _ := pflag.UnquoteUsage(f); name != "" {
		return "a " + name
	}
	return "a value"
}

// reason explains why a flag's value was refused. The flag types of this
// command and of its libraries say "want ..." themselves; pflag's own
// types (durations, numbers) have it said for them.
func reason(f *pflag.Flag, err error) string {
	if err != nil && strings.HasPrefix(err.Error(), "want ") {
		return err.Error()
	}
	return "want " + want(f)
}

// longFlagsWithOneDash rewrites "-name" and "-name=value" as "--name" when
// name is a long flag of the command args select: the single-dash long
// flags of Go's flag package, which earlier versions of tju took, keep
// working. Shorthand groups ("-vJ") and anything after "--" are left alone.
func longFlagsWithOneDash(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && (cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil) {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}
