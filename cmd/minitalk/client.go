package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
	"github.com/tjunet/tjunet/minitalk/sigchan"
)

// clientMain runs "minitalk client <pid> <message>". It exits 0 only once
// the server acknowledged the end of the message.
func clientMain(name string, args []string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg minitalk.ClientConfig
	fs.DurationVar(&cfg.GiveUp, "timeout", 0, "give up after waiting this long in total for a busy server (0: never)")
	fs.DurationVar(&cfg.Patience, "patience", minitalk.DefaultPatience, "give up when the server does not answer one symbol for this long")
	verbose := fs.Bool("v", false, "tell on stderr about every reject, retry and restart")
	spin := fs.Duration("spin", 0, "poll this long for each answer before sleeping (0: sigchan.DefaultSpin on two or more processors; negative: never)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [flags] <server-pid> <message>\n\nSends the message (\"-\": standard input, for NUL bytes and binary) and exits 0\nonce the server has acknowledged its end.\n\nflags:\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	pid, err := strconv.Atoi(fs.Arg(0))
	if err != nil || pid <= 0 {
		fmt.Fprintf(stderr, "%s: bad server PID %q: want a positive number\n", name, fs.Arg(0))
		return 2
	}
	msg := []byte(fs.Arg(1))
	if fs.Arg(1) == "-" {
		if msg, err = io.ReadAll(stdin); err != nil {
			fmt.Fprintf(stderr, "%s: reading the message: %v\n", name, err)
			return 1
		}
	}
	if handles, known := sigchan.Handles(pid); known && !handles {
		// SIGUSR1 would kill it: refuse rather than hurt a process whose
		// PID was mistyped.
		fmt.Fprintf(stderr, "%s: process %d does not handle SIGUSR1, so it is not a minitalk server; sent it nothing\n", name, pid)
		return 1
	}
	port, err := sigchan.Open(sigchan.Options{Pin: sigchan.PinClient, Spin: *spin})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	start := time.Now()
	var lastSaid time.Time
	log := func(e driver.Event) {
		switch e.Kind {
		case minitalk.EventRejected:
			if *verbose || time.Since(lastSaid) > time.Second {
				fmt.Fprintf(stderr, "%s: server %d is busy; waiting %v and trying again\n", name, pid, e.Wait.Round(10*time.Microsecond))
				lastSaid = time.Now()
			}
		case minitalk.EventRestarted:
			fmt.Fprintf(stderr, "%s: server %d asked to start over; waiting %v\n", name, pid, e.Wait.Round(10*time.Microsecond))
		case minitalk.EventResent:
			if *verbose {
				fmt.Fprintf(stderr, "%s: no answer from %d in time; sending %v again\n", name, pid, e.Sym)
			}
		case minitalk.EventAccepted:
			if *verbose {
				fmt.Fprintf(stderr, "%s: server %d accepted after %v\n", name, pid, time.Since(start).Round(10*time.Microsecond))
			}
		case minitalk.EventDone:
			if *verbose {
				fmt.Fprintf(stderr, "%s: server %d acknowledged the end after %v\n", name, pid, time.Since(start).Round(10*time.Microsecond))
			}
		}
	}
	err = driver.Send(context.Background(), port, pid, msg, cfg, log)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, driver.ErrNoProcess):
		fmt.Fprintf(stderr, "%s: no process with PID %d (or it exited mid-message)\n", name, pid)
	case errors.Is(err, minitalk.ErrNoAnswer):
		fmt.Fprintf(stderr, "%s: process %d does not answer: is it a minitalk server? (%v)\n", name, pid, err)
	case errors.Is(err, minitalk.ErrBusy):
		fmt.Fprintf(stderr, "%s: server %d stayed busy; giving up (%v)\n", name, pid, err)
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
	}
	return 1
}
