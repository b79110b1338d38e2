package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/internal/cli"

	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
	"github.com/tjunet/tjunet/minitalk/sigchan"
)

// verboseText tells what the server does on the events it reports only with
// -v; %d is the other process.
var verboseText = map[minitalk.EventKind]string{
	minitalk.EventBound:     "bound to client %d",
	minitalk.EventDelivered: "printed the message of client %d",
	minitalk.EventBusy:      "busy: rejected the knock of %d",
	minitalk.EventNoise:     "ignored a stray SIGUSR2 from %d",
	minitalk.EventReceiving: "receiving a message from client %d",
}

// newServerCommand builds the server, run as prog ("./server" or
// "minitalk server"): it prints its PID alone on the first line of stdout,
// then every message followed by one newline, and nothing else;
// everything else goes to stderr. The empty message prints nothing (not
// even the newline), as minitalk's users and testers expect.
func newServerCommand(e *env, name, prog string) *cobra.Command {
	var (
		cfg     minitalk.ServerConfig
		verbose bool
		spin    time.Duration
	)
	cmd := &cobra.Command{
		Use:   name + " [flags]",
		Short: "print the PID, then every message received",
		Long: `Prints its PID alone on the first line of standard output, then every
message it receives followed by a newline (the empty message prints
nothing), and nothing else: what it has to say goes to standard error.
It is safe to signal from the moment its PID is printed.

It serves clients one after another, forever: a client that knocks while
another is sending is told to wait and knocks again. A client that dies,
is stopped (SIGSTOP) or falls silent is dropped, and the server says so on
standard error; signals from any other process disturb nothing.

Exit status: 0 when SIGINT (Ctrl-C) or SIGTERM ends it, its normal end;
1 if it fails (its standard output closed, say); 2 for a usage error.`,
		Example: `  # Start a server; it prints its PID, then each message it receives:
  ` + prog + `

  # The same, telling on standard error about every client and stray signal:
  ` + prog + ` -v`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(e, cmd.CommandPath(), cfg, verbose, spin)
		},
	}
	fs := cmd.Flags()
	fs.DurationVar(&cfg.FirstSymbol, "first", minitalk.DefaultFirstSymbol, "drop a client that sends no message flag within `DURATION` of being accepted")
	fs.DurationVar(&cfg.Release, "release", minitalk.DefaultRelease, "drop a client that is stopped (or asleep, not waiting for signals) and silent for `DURATION`")
	fs.DurationVar(&cfg.Resend, "resend", minitalk.DefaultResend, "send the last answer again to a client silent for `DURATION`")
	fs.DurationVar(&cfg.Drop, "drop", minitalk.DefaultDrop, "drop a client silent for `DURATION`")
	fs.IntVar(&cfg.MaxMessage, "max", minitalk.DefaultMaxMessage, "longest message accepted, in `BYTES`")
	fs.BoolVarP(&verbose, "verbose", "v", false, "tell on stderr about every client, reject and stray signal")
	fs.DurationVar(&spin, "spin", 0, "poll for `DURATION` for the client's next symbol before sleeping (0: "+sigchan.DefaultSpin.String()+" on two or more processors; negative: never)")
	return cmd
}

// serve runs the server; name is what it calls itself in messages.
func serve(e *env, name string, cfg minitalk.ServerConfig, verbose bool, spin time.Duration) error {
	stdout, stderr := e.stdout, e.stderr
	// The signals are blocked on the main thread, where every symbol is
	// sent: from here on none is lost, so the PID may be printed.
	port, err := sigchan.Open(sigchan.Options{Interrupts: true, Pin: sigchan.PinServer, Spin: spin})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, strconv.Itoa(os.Getpid())+"\n"); err != nil {
		return fmt.Errorf("printing the PID: %w", err)
	}
	var line []byte
	deliver := func(from int, msg []byte) error {
		if len(msg) == 0 {
			return nil
		}
		line = append(append(line[:0], msg...), '\n')
		_, err := stdout.Write(line)
		return err
	}
	log := func(e driver.Event) {
		switch e.Kind {
		case minitalk.EventGone:
			fmt.Fprintf(stderr, "%s: client %d is gone mid-message; waiting for the next client\n", name, e.PID)
		case minitalk.EventSilent:
			fmt.Fprintf(stderr, "%s: client %d went silent; dropped it, waiting for the next client\n", name, e.PID)
		case minitalk.EventIdle:
			fmt.Fprintf(stderr, "%s: client %d is stopped (or asleep, not waiting for signals) and was silent for %v; dropped it, waiting for the next client\n", name, e.PID, cfg.Release)
		case minitalk.EventDamaged:
			fmt.Fprintf(stderr, "%s: message from %d arrived damaged; rejected it, the client starts over\n", name, e.PID)
		case minitalk.EventReanswer:
			fmt.Fprintf(stderr, "%s: client %d is silent; answered it again\n", name, e.PID)
		case minitalk.EventStale:
			fmt.Fprintf(stderr, "%s: %d spoke after being dropped; told it to start over\n", name, e.PID)
		case minitalk.EventBound, minitalk.EventDelivered, minitalk.EventBusy, minitalk.EventNoise, minitalk.EventReceiving:
			if verbose {
				fmt.Fprintf(stderr, "%s: "+verboseText[e.Kind]+"\n", name, e.PID)
			}
		}
	}
	// SIGINT and SIGTERM reach the port (Options.Interrupts), which ends
	// Serve with ErrInterrupted: the server's normal end.
	err = driver.Serve(context.Background(), port, cfg, deliver, log)
	if errors.Is(err, sigchan.ErrInterrupted) {
		return nil
	}
	return err
}
