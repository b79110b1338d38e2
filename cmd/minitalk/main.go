// Command minitalk sends messages from one process to another using nothing
// but the signals SIGUSR1 and SIGUSR2, one acknowledged bit at a time.
//
// Usage:
//
//	minitalk server [flags]                  print the PID, then every message received
//	minitalk client [flags] <pid> <message>  send a message ("-": read it from stdin)
//	minitalk demo                            a server and three clients at once, on the seed's data
//
// Installed or linked under the name "server" (or "server_bonus") the program
// is "minitalk server", under the name "client" (or "client_bonus") it is
// "minitalk client", so "./server" and "./client <pid> <message>" work as
// minitalk's users expect; "make" in this directory builds both, and "make
// bonus" the _bonus names too.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

func init() {
	// Client and server take their signals on the main thread (see
	// package sigchan), so main must run there.
	runtime.LockOSThread()
}

const usage = `minitalk: messages between processes over SIGUSR1 and SIGUSR2

usage:
  minitalk server [flags]                  print the PID, then every message received
  minitalk client [flags] <pid> <message>  send a message ("-" reads it from stdin)
  minitalk demo                            a server and three clients at once
  minitalk help

Under the name "server" the program is "minitalk server", under the name
"client" it is "minitalk client". "minitalk server -h" and "minitalk client -h"
list the flags.
`

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run runs the program with arguments args and returns its exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch name := filepath.Base(args[0]); name {
	case "server", "server_bonus":
		return serverMain(name, args[1:], stdout, stderr)
	case "client", "client_bonus":
		return clientMain(name, args[1:], stdin, stderr)
	}
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[1] {
	case "server":
		return serverMain("minitalk server", args[2:], stdout, stderr)
	case "client":
		return clientMain("minitalk client", args[2:], stdin, stderr)
	case "demo":
		return demoMain(args[2:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "minitalk: unknown command %q\n\n%s", args[1], usage)
	return 2
}
