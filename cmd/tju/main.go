// Command tju moves data over TJU TCP, the reliable transport over UDP from the
// Tianjin University networking lab, and shows how it behaves.
//
// Run "tju help" for the list of subcommands and "tju <subcommand> --help" for
// the flags and examples of each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand of tju. Each lives in its own file and registers
// itself from an init function.
type command struct {
	name     string
	summary  string                                                      // one line for "tju help"
	usage    string                                                      // synopsis and examples, shown by --help
	setFlags func(fs *flag.FlagSet)                                      // declares the flags; may be nil
	run      func(ctx context.Context, fs *flag.FlagSet, env *env) error // runs after flags are parsed
}

// env is what a subcommand sees of the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("tju: duplicate subcommand " + c.name)
	}
	commands[c.name] = c
}

// usageError marks an error caused by how the command was invoked; it exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// run executes the subcommand named by args[0] and returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		args = []string{"demo"}
		if _, ok := commands["demo"]; !ok {
			args = []string{"help"}
		}
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				printUsage(e.stdout, c, newFlagSet(c, e.stdout))
				return 0
			}
		}
		printHelp(e.stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "tju: unknown subcommand %q\n\n", name)
		printHelp(e.stderr)
		return 2
	}
	fs := newFlagSet(c, e.stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stdout)
			printUsage(e.stdout, c, fs)
			return 0
		}
		fmt.Fprintf(e.stderr, "Run 'tju %s --help' for usage.\n", c.name)
		return 2
	}
	err := c.run(ctx, fs, e)
	if err == nil || errors.Is(err, errHelpShown) {
		return 0 // errHelpShown: a --help among the arguments printed the usage
	}
	fmt.Fprintf(e.stderr, "tju %s: %v\n", c.name, err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "Run 'tju %s --help' for usage.\n", c.name)
		return 2
	}
	return 1
}

func newFlagSet(c *command, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tju "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	if c.setFlags != nil {
		c.setFlags(fs)
	}
	fs.Usage = func() {} // printed by run, to stdout, on --help
	return fs
}

func printUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "tju %s: %s\n\n%s\n", c.name, c.summary, c.usage)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "tju: TJU TCP, a reliable byte stream over UDP, and tools to watch it work.")
	fmt.Fprintln(w, "\nUsage: tju <subcommand> [flags] [args]\n\nSubcommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'tju <subcommand> --help' for its flags and examples.")
}
