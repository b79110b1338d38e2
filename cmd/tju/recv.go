package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/trace"
	"github.com/tjunet/tjunet/xfer"
)

func init() { register(newRecvCommand) }

// recvOptions are the flags of tju recv.
type recvOptions struct {
	transportOptions
	listen    string
	output    string
	keep      bool
	readyFile string
	partial   bool
	resume    bool
	code      string
}

func newRecvCommand(e *env) *cobra.Command {
	o := &recvOptions{}
	cmd := &cobra.Command{
		Use:   "recv [flags]",
		Short: "receive what a tju send sends, into a file or standard output",
		Long: `Listens on UDP address --listen (default :20218, the lab's port) and TJU
port --port (default 1234), accepts one connection and writes what arrives
to -o FILE (default "-": standard output). With --keep it then waits for
the next connection, and the next, appending each one's data to the output.

FILE is written as FILE's temporary neighbour and renamed to FILE only once
the transfer is complete: the stream ended cleanly and, from a tju send,
the SHA-256 of the data matched the sender's. A failed or interrupted
transfer leaves nothing under FILE (an existing FILE stays as it was); its
data is removed, or with --keep-partial kept in FILE.tju-partial, which
--resume continues: tju send checks that those bytes are the start of its
data and sends the rest. What arrives reaches the file (or standard
output) within a second. With --keep, FILE appears with the first
complete transfer, and each later one is added to it once complete
(through a copy of FILE that replaces it, so that FILE never holds part
of a transfer, even after a crash); an incomplete one is dropped.

--code PHRASE (or the TJU_CODE environment variable) accepts only a
tju send given the same phrase, and encrypts the transfer with TLS 1.3.
Without it, anyone who can reach the UDP port can send data into FILE, and
the data travels in the clear: see "Security" in the README.

When it is ready it prints on stderr

  tju recv: listening on 127.0.0.1:40123/1234

that is UDP address/TJU port, a form "tju send" accepts; --ready-file FILE
writes the same address into FILE, for scripts.

While it runs, a progress bar on stderr counts the bytes received (only
when stderr is a terminal, unless --progress). When a connection ends it
prints on stderr the bytes, the time, the goodput in MB/s and Mbit/s (SI
units: 1 MB = 10^6 bytes), whether the SHA-256 was checked with the
sender's, and the SHA-256 itself.

Exit status: 0 after a complete transfer (with --keep: when stopped by
Ctrl-C after one), 1 if the connection or the output fails, 2 for a usage
error, 130 when interrupted before the transfer ended.`,
		Example: `  # Receive one file:
  tju recv -o copy.iso

  # Any free UDP port on loopback, serving connection after connection:
  tju recv --listen 127.0.0.1:0 --keep -o all.bin

  # Keep what arrived if the transfer fails, and continue it later:
  tju recv --keep-partial -o copy.iso
  tju recv --resume -o copy.iso

  # Only from a tju send given the same phrase, encrypted:
  tju recv --code 7-crystal-orbit -o copy.iso

  # Into a pipe, with the lab's trace (server.event.trace) and state changes:
  tju recv --trace traces -v | tar x

  # Counters for Prometheus at http://localhost:6060/metrics while it runs:
  tju recv --metrics localhost:6060 -o /dev/null`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments %q (the output file goes after -o)", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := resolveCode(&o.code, cmd.Flags().Changed("code"), o.lab); err != nil {
				return err
			}
			return runRecv(cmd.Context(), o, e)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.listen, "listen", "l", ":20218", "UDP `ADDR` of our endpoint (\"127.0.0.1:0\": a free port on loopback)")
	fs.StringVarP(&o.output, "output", "o", "-", "write the data to `FILE` (\"-\": standard output)")
	fs.BoolVarP(&o.keep, "keep", "k", false, "after a connection ends, accept the next one (until interrupted); their data is appended")
	fs.StringVar(&o.readyFile, "ready-file", "", "once listening, write the address to dial (UDP address/TJU port) into `FILE`")
	fs.BoolVar(&o.partial, "keep-partial", false, "if the transfer fails, keep what arrived in FILE.tju-partial (for --resume)")
	fs.BoolVar(&o.resume, "resume", false, "continue the partial transfer kept in FILE.tju-partial (tju send checks it is the start of its data)")
	fs.StringVar(&o.code, "code", "", "accept only a tju send with this `PHRASE`, and encrypt with TLS 1.3 (default: $TJU_CODE)")
	o.addFlags(fs, true)
	return cmd
}

func runRecv(ctx context.Context, o *recvOptions, e *env) error {
	t, err := newServer(&o.transportOptions, e, o.listen)
	if err != nil {
		return err
	}
	defer t.Close()

	toFile := o.output != "-" && o.output != ""
	if (o.partial || o.resume) && !toFile {
		return usagef("--keep-partial and --resume need -o FILE (what went to standard output cannot be taken back)")
	}
	if (o.partial || o.resume) && o.keep {
		return usagef("--keep-partial and --resume are for one transfer: not with --keep")
	}

	// Each transfer has its own output; with --keep the second and later
	// ones are appended to the file when they are complete.
	newOutput := func(appendTo bool) (*xfer.Output, error) {
		if !toFile {
			return xfer.StreamOutput("standard output", e.stdout), nil
		}
		out, err := xfer.CreateOutput(o.output, xfer.OutputOptions{KeepPartial: o.partial, Resume: o.resume, Append: appendTo})
		if err != nil {
			return nil, fmt.Errorf("cannot write the output: %w", err)
		}
		return out, nil
	}
	// Open the output before the network, so a bad path fails at once.
	out, err := newOutput(false)
	if err != nil {
		return err
	}
	// fail ends an incomplete transfer: nothing under the final name, and
	// the error says where its data is.
	fail := func(out *xfer.Output, err error) error {
		if out == nil {
			return err
		}
		kept, aerr := out.Abort()
		if aerr != nil {
			return fmt.Errorf("%w; %v", err, aerr)
		}
		if !toFile {
			return err
		}
		return fmt.Errorf("%w; %s", err, xfer.Describe(out, kept))
	}
	if n := out.Offset(); n > 0 {
		t.con.Printf("tju recv: resuming %s from byte %d (kept in %s)", o.output, n, out.TempPath())
	} else if o.resume {
		t.con.Printf("tju recv: no partial transfer in %s: starting from the beginning", out.TempPath())
	}

	l, stop, err := t.listen(o.listen, o.readyFile, "tju recv")
	if err != nil {
		return fail(out, err)
	}
	defer stop()
	stopStats := startStats(ctx, t.con, t.stats, &t.conns)
	defer stopStats()

	complete := 0 // transfers written (--keep)
	for {
		if out == nil {
			if out, err = newOutput(complete > 0); err != nil {
				return err
			}
		}
		c, err := l.AcceptTJU(ctx)
		if err != nil {
			if ctx.Err() != nil {
				if o.keep && complete > 0 {
					out.Abort()
					return nil // --keep ends with Ctrl-C
				}
				return fail(out, errors.New("interrupted while waiting for a connection"))
			}
			return fail(out, err)
		}
		t.log.Debug("accepted", "conn", c.String())
		ropt := xfer.ReceiveOptions{Framed: c.Info().Extensions && !t.lab, Code: o.code, Accept: out.Commit}
		rep, err := receiveStream(ctx, t, c, out, ropt)
		var oe *outputError
		if err != nil && o.keep && !errors.As(err, &oe) && (ctx.Err() == nil || complete > 0) {
			// One failed sender does not stop a --keep receiver; its data
			// is dropped (what went to standard output stays there).
			err = fail(out, err)
			out = nil
			if ctx.Err() != nil {
				t.con.Printf("tju recv: %v; the output has the %d complete transfers", err, complete)
				return nil
			}
			t.con.Printf("tju recv: %v; waiting for the next connection", err)
			continue
		}
		if err != nil {
			return fail(out, err)
		}
		out = nil
		complete++
		if !o.keep {
			stopStats()
			if err := t.Close(); err != nil {
				return err
			}
		}
		rep.Write(t.con)
		if !o.keep {
			if note := t.traceNote(trace.RoleServer); note != "" {
				t.con.Printf("%s", note)
			}
			return nil
		}
	}
}

// receiveStream receives one transfer from c into out, then closes c and
// waits briefly for the teardown to finish, so that the sender hears our
// FIN.
func receiveStream(ctx context.Context, t *transport, c *tju.Conn, out *xfer.Output, opt xfer.ReceiveOptions) (*xfer.Report, error) {
	t.conns.add(c)
	defer t.conns.remove(c)
	stopAbort := context.AfterFunc(ctx, func() { c.Abort() })
	defer stopAbort()

	r := xfer.NewReceiver(c, out, opt)
	offset := out.Offset()
	prog := t.con.StartProgress(t.progress, -1, "receiving", func() int64 { return offset + r.Received() })
	prog.FollowTotal(r.Size)
	start := time.Now()
	res, err := r.Run(ctx)
	if err != nil {
		prog.Stop(false)
		var oe *xfer.OutputError
		switch {
		case errors.As(err, &oe):
			c.Abort()
			return nil, &outputError{err}
		case xfer.IsProtocolError(err) && ctx.Err() == nil:
			// The sender has been told why (a wrong code phrase, a
			// mismatch): close gently, so that the answer is delivered
			// rather than discarded by a reset.
			c.Close()
			select {
			case <-c.Done():
			case <-ctx.Done():
			case <-time.After(3 * time.Second):
			}
			return nil, err
		}
		c.Abort()
		return nil, connError(ctx, fmt.Sprintf("receiving (after %d bytes)", r.Received()), err)
	}
	el := time.Since(start)
	c.Close()
	select {
	case <-c.Done():
	case <-ctx.Done():
	case <-time.After(3 * time.Second):
	}
	prog.Stop(true)
	i := c.Info()
	return &xfer.Report{Result: res, Peer: "from " + c.RemoteAddr().String(), Elapsed: el,
		Segments: i.SegmentsText(false), RTT: i.RTTText()}, nil
}

// outputError is a failure to write recv's output, which ends recv even
// with --keep.
type outputError struct{ err error }

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }
