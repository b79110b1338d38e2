// Command minitalk sends messages from one process to another using nothing
// but the signals SIGUSR1 and SIGUSR2, one acknowledged bit at a time.
//
// Usage:
//
//	minitalk server [flags]                  print the PID, then every message received
//	minitalk client [flags] PID MESSAGE      send a message ("-": read it from stdin)
//	minitalk demo                            a server and three clients at once, on the seed's data
//	minitalk version | completion SHELL
//
// Installed or linked under the name "server" (or "server_bonus") the program
// is "minitalk server", under the name "client" (or "client_bonus") it is
// "minitalk client", so "./server" and "./client PID MESSAGE" work as
// minitalk's users and testers expect; "make" in this directory builds both,
// and "make bonus" the _bonus names too.
//
// The command line follows tju's convention (package internal/cli, on cobra
// and pflag): --long and -s flags (and the single-dash long flags of earlier
// versions, "-first 5ms"), "CMD: what is wrong" errors, exit 2 for a usage
// error, 1 for a failure, 130 when a client is interrupted. The client takes
// its flags before the PID only: the message is sent as given, even if it
// starts with "-".
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/internal/cli"
)

func init() {
	// Client and server take their signals on the main thread (see
	// package sigchan), so main must run there.
	runtime.LockOSThread()
}

// env is what a command sees of the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	// After the first Ctrl-C the command winds down; a second one kills it.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// run runs the program with arguments args (args[0] included: its name
// chooses the command) and returns its exit status.
func run(ctx context.Context, args []string, e *env) int {
	var root *cobra.Command
	switch name := filepath.Base(args[0]); name {
	case "server", "server_bonus":
		root = newServerCommand(e, name, "./"+name)
	case "client", "client_bonus":
		root = newClientCommand(e, name, "./"+name)
	default:
		root = newRoot(e)
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.Version = cli.Version("minitalk") // under any name
	cli.Setup(root)
	return cli.Execute(ctx, root, args[1:])
}

// newRoot builds "minitalk" and its subcommands.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "minitalk",
		Short: "messages between processes over SIGUSR1 and SIGUSR2",
		Long: `minitalk sends a message from one process to another with nothing but the
signals SIGUSR1 (1) and SIGUSR2 (0), every bit acknowledged, as seed 001
draws the protocol. Under the name "server" the program is "minitalk
server", under the name "client" it is "minitalk client": "make" in
cmd/minitalk builds ./server and ./client.`,
		Example: `  # A server and three clients at once, on the seed's data:
  minitalk demo`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.AddCommand(
		newServerCommand(e, "server", "minitalk server"),
		newClientCommand(e, "client", "minitalk client"),
		newDemoCommand(e))
	return root
}
