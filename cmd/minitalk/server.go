package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

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

// serverMain runs "minitalk server": it prints its PID alone on the first
// line of stdout, then every message followed by one newline, and nothing
// else; everything else goes to stderr. The empty message prints nothing
// (not even the newline), as minitalk's users and testers expect.
func serverMain(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg minitalk.ServerConfig
	fs.DurationVar(&cfg.FirstSymbol, "first", minitalk.DefaultFirstSymbol, "drop a client that sends no message flag this long after being accepted")
	fs.DurationVar(&cfg.Release, "release", minitalk.DefaultRelease, "drop a client that is stopped (or asleep, not waiting for signals) and was silent this long")
	fs.DurationVar(&cfg.Resend, "resend", minitalk.DefaultResend, "send the last answer again after the client was silent this long")
	fs.DurationVar(&cfg.Drop, "drop", minitalk.DefaultDrop, "drop a client that was silent this long")
	fs.IntVar(&cfg.MaxMessage, "max", minitalk.DefaultMaxMessage, "longest message accepted, in bytes")
	verbose := fs.Bool("v", false, "tell on stderr about every client, reject and stray signal")
	spin := fs.Duration("spin", 0, "poll this long for the client's next symbol before sleeping (0: sigchan.DefaultSpin on two or more processors; negative: never)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [flags]\n\nPrints its PID, then every message it receives, each followed by a newline\n(the empty message prints nothing). SIGINT or SIGTERM ends it.\n\nflags:\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	// The signals are blocked on the main thread, where every symbol is
	// sent: from here on none is lost, so the PID may be printed.
	port, err := sigchan.Open(sigchan.Options{Interrupts: true, Pin: sigchan.PinServer, Spin: *spin})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	if _, err := io.WriteString(stdout, strconv.Itoa(os.Getpid())+"\n"); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
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
			if *verbose {
				fmt.Fprintf(stderr, "%s: "+verboseText[e.Kind]+"\n", name, e.PID)
			}
		}
	}
	err = driver.Serve(context.Background(), port, cfg, deliver, log)
	if errors.Is(err, sigchan.ErrInterrupted) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}
