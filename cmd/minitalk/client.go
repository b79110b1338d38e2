package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/internal/cli"
	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
	"github.com/tjunet/tjunet/minitalk/sigchan"
)

// newClientCommand builds the client, run as prog ("./client" or
// "minitalk client") with a server's PID and a message. It exits 0 only
// once the server acknowledged the end of the message.
func newClientCommand(e *env, name, prog string) *cobra.Command {
	var (
		cfg     minitalk.ClientConfig
		verbose bool
		spin    time.Duration
	)
	server := "./server"
	if prog != "./"+name {
		server = "minitalk server"
	}
	cmd := &cobra.Command{
		Use:   name + " [flags] SERVER_PID MESSAGE",
		Short: "send a message to a server (\"-\": the message is standard input)",
		Long: `Sends MESSAGE to the server whose PID is SERVER_PID, one acknowledged bit at
a time, and exits 0 once the server has acknowledged its end. MESSAGE "-"
sends standard input instead, for NUL bytes and binary. Flags go before
SERVER_PID: MESSAGE is sent as given, even if it starts with "-".

A busy server (serving another client) makes it wait and knock again, and
say so on standard error, until --timeout if given. It sends nothing to a
process that does not handle SIGUSR1 (the first symbol would kill it), so
a mistyped PID hurts no one.

Exit status: 0 once the server acknowledged the end of the message; 1 if
it fails (no such process, a process that does not answer, a server busy
past --timeout, a server gone mid-message); 2 for a usage error (a bad
PID); 130 when interrupted (Ctrl-C), the server then dropping the message.`,
		Example: `  # Start a server in the background, wait for its PID, and send it a message:
  ` + server + ` > out.txt &
  until [ -s out.txt ]; do sleep 0.01; done
  ` + prog + ` "$(head -n1 out.txt)" "Hello, minitalk 👋" && tail -n1 out.txt

  # Standard input as the message (NUL bytes and all):
  ` + prog + ` "$(head -n1 out.txt)" - < /etc/hostname`,
		Args: func(_ *cobra.Command, args []string) error {
			switch len(args) {
			case 2:
			case 1:
				return cli.Usagef("want SERVER_PID MESSAGE (got 1 argument)")
			default:
				return cli.Usagef("want SERVER_PID MESSAGE (got %d arguments)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return cli.Usagef("bad server PID %q: want a positive number", args[0])
			}
			msg := []byte(args[1])
			if args[1] == "-" {
				if msg, err = io.ReadAll(e.stdin); err != nil {
					return fmt.Errorf("reading the message: %w", err)
				}
			}
			return sendMessage(cmd.Context(), e, cmd.CommandPath(), pid, msg, cfg, verbose, spin)
		},
	}
	cli.FlagsFirst(cmd)
	fs := cmd.Flags()
	fs.DurationVar(&cfg.GiveUp, "timeout", 0, "give up after waiting `DURATION` in total for a busy server (0: never)")
	fs.DurationVar(&cfg.Patience, "patience", minitalk.DefaultPatience, "give up when the server does not answer one symbol for `DURATION`")
	fs.BoolVarP(&verbose, "verbose", "v", false, "tell on stderr about every reject, retry and restart")
	fs.DurationVar(&spin, "spin", 0, "poll for `DURATION` for each answer before sleeping (0: "+sigchan.DefaultSpin.String()+" on two or more processors; negative: never)")
	return cmd
}

// sendMessage sends msg to the server pid; name is what the client calls itself
// on stderr. ctx ending (Ctrl-C) stops it between two symbols.
func sendMessage(ctx context.Context, e *env, name string, pid int, msg []byte, cfg minitalk.ClientConfig, verbose bool, spin time.Duration) error {
	stderr := e.stderr
	if handles, known := sigchan.Handles(pid); known && !handles {
		// SIGUSR1 would kill it: refuse rather than hurt a process whose
		// PID was mistyped.
		return fmt.Errorf("process %d does not handle SIGUSR1, so it is not a minitalk server; sent it nothing", pid)
	}
	port, err := sigchan.Open(sigchan.Options{Pin: sigchan.PinClient, Spin: spin})
	if err != nil {
		return err
	}
	start := time.Now()
	var lastSaid time.Time
	log := func(e driver.Event) {
		switch e.Kind {
		case minitalk.EventRejected:
			if verbose || time.Since(lastSaid) > time.Second {
				fmt.Fprintf(stderr, "%s: server %d is busy; waiting %v and trying again\n", name, pid, e.Wait.Round(10*time.Microsecond))
				lastSaid = time.Now()
			}
		case minitalk.EventRestarted:
			fmt.Fprintf(stderr, "%s: server %d asked to start over; waiting %v\n", name, pid, e.Wait.Round(10*time.Microsecond))
		case minitalk.EventResent:
			if verbose {
				fmt.Fprintf(stderr, "%s: no answer from %d in time; sending %v again\n", name, pid, e.Sym)
			}
		case minitalk.EventAccepted:
			if verbose {
				fmt.Fprintf(stderr, "%s: server %d accepted after %v\n", name, pid, time.Since(start).Round(10*time.Microsecond))
			}
		case minitalk.EventDone:
			if verbose {
				fmt.Fprintf(stderr, "%s: server %d acknowledged the end after %v\n", name, pid, time.Since(start).Round(10*time.Microsecond))
			}
		}
	}
	err = driver.Send(ctx, port, pid, msg, cfg, log)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted; server %d drops the part of the message it has", pid)
	case errors.Is(err, driver.ErrNoProcess):
		return fmt.Errorf("no process with PID %d (or it exited mid-message)", pid)
	case errors.Is(err, minitalk.ErrNoAnswer):
		return fmt.Errorf("process %d does not answer: is it a minitalk server? (%v)", pid, err)
	case errors.Is(err, minitalk.ErrBusy):
		return fmt.Errorf("server %d stayed busy; giving up (%v)", pid, err)
	}
	return err
}
