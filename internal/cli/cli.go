// Package cli is the command-line convention of tjunet's commands, tju and
// minitalk, on cobra (github.com/spf13/cobra) and its flag package pflag:
//
//   - --long and -s flags as GNU tools take them, and the single-dash long
//     flags of Go's flag package ("-first 5ms") that earlier versions took;
//   - one help layout, with the flags' placeholders and an example;
//   - one error style, "CMD: what is wrong (want ...)", on stderr;
//   - exit status 0, 1 for a failure, 2 for a usage error (followed by
//     "Run 'CMD --help' for usage."), 130 when interrupted (Ctrl-C);
//   - --version (-V) and, for a command with subcommands, "version" and
//     shell completion ("CMD completion bash"), the version read from the
//     binary's build information.
//
// A command builds its cobra tree, calls Setup on the root and runs it
// with Execute.
package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 130 // 128 + SIGINT, as shells report a process ended by Ctrl-C
)

// UsageError marks an error caused by how the command was invoked; Execute
// exits 2 for it.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with the message fmt.Sprintf(format, a...).
func Usagef(format string, a ...any) error { return UsageError{fmt.Errorf(format, a...)} }

// Execute runs the command line args (without the program name) on root,
// which Setup prepared, and returns the exit code: 0; 2 for a usage error;
// 130 when ctx ended (Ctrl-C) before the command finished; 1 for any
// other error. It prints the error on root's stderr as "CMD: error", CMD
// being the command that failed.
func Execute(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(longFlagsWithOneDash(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	if cmd == nil {
		cmd = root
	}
	stderr := root.ErrOrStderr()
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	var ue UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	if ctx.Err() != nil {
		return ExitInterrupted
	}
	return ExitFailure
}

// Setup gives root, and the commands under it, the convention: the help
// layout, errors printed once by Execute (not by cobra, nor with the
// usage), flag errors in the style, and --version (-V) printing
// root.Version (Version(root.Name()) if empty; its first word names the
// program in the help). A root with subcommands
// also gets a "version" command and "completion"; call Setup after adding
// the subcommands.
func Setup(root *cobra.Command) {
	name := root.Name()
	if root.Version == "" {
		root.Version = Version(name)
	} else if f := strings.Fields(root.Version); len(f) > 0 {
		name = f[0] // a program run under another name says what it is
	}
	root.SilenceErrors = true // Execute prints them, in one style
	root.SilenceUsage = true
	root.SetFlagErrorFunc(flagError)
	root.SetHelpTemplate(HelpTemplate)
	root.SetUsageTemplate(HelpTemplate)
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().BoolP("version", "V", false, "print the version of "+name+" and exit")
	if !root.HasSubCommands() {
		return
	}
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Short = "print a script that completes " + name + "'s commands and flags in bash, zsh, fish or PowerShell"
	}
	root.AddCommand(&cobra.Command{
		Use:     "version",
		Short:   "print the version of " + name + ", its Go toolchain and its source revision",
		Example: "  " + name + " version",
		Args:    NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), root.Version)
			return err
		},
	})
}

// HelpTemplate is the layout of every --help: what the command does, how
// to call it, then its subcommands, flags and examples.
const HelpTemplate = `{{.CommandPath}}: {{.Short}}

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

// Version describes this build of the program name, from the information
// the Go toolchain records in the binary: "tju v1.2.0 (go1.26.0
// linux/amd64)", with the source revision when the build recorded one.
func Version(name string) string {
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
	return fmt.Sprintf("%s %s (%s %s/%s%s)", name, v, runtime.Version(), runtime.GOOS, runtime.GOARCH, extra)
}

// NoArgs rejects positional arguments (an unknown command, for a command
// with subcommands), as a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
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
		return Usagef("unknown command %q (want %s)", args[0], strings.Join(names, ", "))
	}
	return Usagef("unexpected arguments %q (want none)", args)
}

// flagError words pflag's errors in the style: what is wrong, then what
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
			return Usagef("unknown flag -%s (in -%s)", name[:1], sh)
		} else if sh != "" {
			return Usagef("unknown flag -%s", sh)
		}
		return Usagef("unknown flag --%s", name)
	case errors.As(err, &noValue):
		return Usagef("%s needs a value (want %s)", flagName(noValue.GetFlag()), want(noValue.GetFlag()))
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		return Usagef("%s %q: %s", flagName(f), invalid.GetValue(), reason(f, invalid.Unwrap()))
	}
	return UsageError{err}
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

// reason explains why a flag's value was refused. Flag types that say
// "want ..." themselves are quoted; pflag's own types (durations, numbers)
// have it said for them.
func reason(f *pflag.Flag, err error) string {
	if err != nil && strings.HasPrefix(err.Error(), "want ") {
		return err.Error()
	}
	return "want " + want(f)
}

// flagsFirst is the annotation FlagsFirst sets.
const flagsFirst = "tjunet.cli/flags-first"

// FlagsFirst makes cmd take flags only before its first argument: every
// argument from there on is an argument even if it starts with "-", as
// with Go's flag package. A command whose last argument is free text (a
// message) needs that.
func FlagsFirst(cmd *cobra.Command) {
	cmd.Flags().SetInterspersed(false)
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[flagsFirst] = "true"
}

// longFlagsWithOneDash rewrites "-name" and "-name=value" as "--name" when
// name is a long flag of the command args select: the single-dash long
// flags of Go's flag package keep working. Shorthand groups ("-vJ") and
// anything after "--" are left alone, and so is everything from the first
// argument on for a command that takes its flags first.
func longFlagsWithOneDash(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	first := cmd.Annotations[flagsFirst] != ""
	lookup := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		return cmd.InheritedFlags().Lookup(name)
	}
	shorthand := func(c byte) *pflag.Flag {
		if f := cmd.Flags().ShorthandLookup(string(c)); f != nil {
			return f
		}
		return cmd.InheritedFlags().ShorthandLookup(string(c))
	}
	out := make([]string, 0, len(args))
	// Before cmd's own arguments come the names of the commands that
	// lead to it (and any flags between them).
	path := strings.Fields(cmd.CommandPath())[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			if len(path) > 0 && a == path[0] {
				path = path[1:]
			} else if first {
				return append(out, args[i:]...)
			}
			out = append(out, a)
			continue
		}
		if !first {
			if len(a) > 2 && a[1] != '-' {
				if name, _, _ := strings.Cut(a[1:], "="); len(name) > 1 && lookup(name) != nil {
					a = "-" + a
				}
			}
			out = append(out, a)
			continue
		}
		// Flags first: a flag that takes a value in the next argument
		// takes it, so that the value is not seen as the first argument.
		var f *pflag.Flag
		hasValue := strings.Contains(a, "=")
		switch {
		case a[1] == '-':
			name, _, _ := strings.Cut(a[2:], "=")
			f = lookup(name)
		default:
			if name, _, _ := strings.Cut(a[1:], "="); len(name) > 1 && lookup(name) != nil {
				f, a = lookup(name), "-"+a
			} else if len(a) == 2 {
				f = shorthand(a[1])
			} else {
				hasValue = true // "-tVALUE", "-vJ": pflag reads the rest
			}
		}
		out = append(out, a)
		if f != nil && !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}
