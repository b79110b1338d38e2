package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/trace"
	"github.com/tjunet/tjunet/xfer"
)

func init() { register(newSendCommand) }

// sendOptions are the flags of tju send.
type sendOptions struct {
	transportOptions
	bind    string
	timeout time.Duration
	code    string
}

func newSendCommand(e *env) *cobra.Command {
	o := &sendOptions{}
	cmd := &cobra.Command{
		Use:   "send [flags] HOST[:PORT][/TJUPORT] [FILE|-]",
		Short: "send a file (or standard input) to a tju recv over TJU TCP",
		Long: `Connects to a "tju recv" at HOST (UDP port PORT, default 20218, the lab's;
TJU port --port, default 1234, or the one after a slash, as "tju recv"
prints it), sends FILE (standard input if FILE is "-" or absent) and
waits until the receiver has it all.

To a tju recv (both ends tjunet, neither --plain nor --lab) the transfer
is checked end to end: tju recv computes the SHA-256 of what it received,
compares it with ours and only then puts the file in place and tells us;
and it continues a partial file it kept (tju recv --resume) once we have
checked that its bytes are the start of ours. To any other peer (a TJU
lab program) the bytes go as they are and the end of the stream marks
the end of the data.

--code PHRASE (or the TJU_CODE environment variable) authenticates both
ends with a shared phrase and encrypts the transfer with TLS 1.3; tju
recv must be given the same phrase, and refuses any other. Without it the
data travels in the clear and anyone who can reach the receiver can send
it data: see "Security" in the README.

While it runs, a progress bar on stderr counts the bytes the receiver has
acknowledged (only when stderr is a terminal, unless --progress). At the
end it prints on stderr the bytes sent, the time, the goodput in MB/s and
Mbit/s, the segments retransmitted, the retransmission timeouts and the
RTT, and the SHA-256 of the data. Every unit is SI: 1 MB = 10^6 bytes,
1 Mbit/s = 10^6 bits a second.

Exit status: 0 when the receiver has everything, 1 if the connection or
the file fails, 2 for a usage error, 130 when interrupted.`,
		Example: `  # On host B:  tju recv -o copy.iso
  # On host A:
  tju send hostB photo.iso

  # To a receiver that printed "listening on 127.0.0.1:40123/1234":
  tju send 127.0.0.1:40123/1234 notes.txt

  # A pipe, with CUBIC, a trace for "tju plot", and live statistics:
  tar c dir | tju send --cc cubic --trace traces --stats 1s 10.0.0.2:20218

  # Authenticated and encrypted, with a phrase both ends know:
  tju send --code 7-crystal-orbit hostB photo.iso

  # The lab's setup: our endpoint on UDP port 20218 too, plain headers:
  tju send --bind :20218 --plain 172.17.0.3 data.bin`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("missing the receiver's address (want HOST[:PORT][/TJUPORT])")
			}
			if len(args) > 2 {
				return usagef("too many arguments %q (want the receiver's address and one FILE)", args[2:])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := resolveCode(&o.code, cmd.Flags().Changed("code"), o.lab); err != nil {
				return err
			}
			return runSend(cmd.Context(), o, cmd.Flags().Changed("port"), args, e)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.bind, "bind", "b", "", "local UDP `ADDR` of our endpoint (default: a free port, on loopback for a loopback peer)")
	fs.DurationVarP(&o.timeout, "timeout", "t", 10*time.Second, "give up connecting after this `DURATION`")
	fs.StringVar(&o.code, "code", "", "authenticate both ends with this `PHRASE` and encrypt with TLS 1.3 (tju recv needs the same --code; default: $TJU_CODE)")
	o.addFlags(fs, true)
	return cmd
}

func runSend(ctx context.Context, o *sendOptions, portGiven bool, args []string, e *env) error {
	hostport, inAddr, err := splitPeer("receiver address", args[0], o.bind)
	if err != nil {
		return err
	}
	timeout := o.timeout
	if timeout <= 0 {
		return usagef("--timeout %v: want a positive duration like 10s", timeout)
	}
	name := "-"
	if len(args) == 2 {
		name = args[1]
	}
	t, err := newTransport(&o.transportOptions, e, trace.RoleClient)
	if err != nil {
		return err
	}
	defer t.Close()
	port, err := t.peerPort(portGiven, inAddr)
	if err != nil {
		return err
	}

	// Open the input before the network, so a bad name fails at once.
	in, size, err := xfer.OpenInput(name, e.stdin)
	if err != nil {
		return err
	}
	defer in.Close()

	ep, closeEP, err := t.openClient(ctx, o.bind, hostport)
	if err != nil {
		return err
	}
	defer closeEP()

	t.log.Debug("connecting", "to", hostport, "tju_port", port, "local", ep.Addr().String())
	c, err := dial(ctx, ep, hostport, port, timeout)
	if err != nil {
		return err
	}
	t.conns.add(c)
	stopAbort := context.AfterFunc(ctx, func() { c.Abort() })
	defer stopAbort()
	stopStats := startStats(ctx, t.con, t.stats, &t.conns)
	defer stopStats()

	// Frame the transfer (SHA-256, resume, --code) only with a tjunet
	// receiver: a lab peer offers no extensions and gets the raw bytes.
	snd := xfer.NewSender(c, xfer.SendOptions{Framed: c.Info().Extensions && !t.lab, Code: o.code, Size: size})
	acked := func() int64 { return snd.Acked(c.Info().BytesAcked) }
	prog := t.con.StartProgress(t.progress, size, "sending", acked)
	// Copy in a goroutine, so that Ctrl-C ends the command even while it
	// waits for input that does not come (a terminal, a stalled pipe).
	type sendResult struct {
		rep *xfer.Report
		err error
	}
	done := make(chan sendResult, 1)
	go func() {
		rep, err := sendStream(ctx, c, snd, in)
		done <- sendResult{rep, err}
	}()
	var res sendResult
	select {
	case res = <-done:
	case <-ctx.Done():
		res.err = fmt.Errorf("interrupted after %d bytes acknowledged by the receiver", acked())
	case <-c.Done():
		// The connection ended, maybe while the input stalled: a reset or
		// a silent receiver fails at once; a clean end lets the sender
		// finish.
		if _, err := c.Write(nil); errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ETIMEDOUT) {
			res.err = connError(ctx, fmt.Sprintf("sending (after %d bytes acknowledged by the receiver)", acked()), err)
		} else {
			select {
			case res = <-done:
			case <-ctx.Done():
				res.err = fmt.Errorf("interrupted after %d bytes acknowledged by the receiver", acked())
			}
		}
	}
	rep, err := res.rep, res.err
	prog.Stop(err == nil)
	if err != nil {
		c.Abort()
		return err
	}
	if t.lab {
		// A lab host stays for TIME_WAIT, to acknowledge a retransmitted FIN.
		select {
		case <-c.Done():
		case <-ctx.Done():
		case <-time.After(4 * labMSL):
		}
	}
	stopStats()
	if err := t.Close(); err != nil {
		return err
	}
	rep.Write(t.con)
	if note := t.traceNote(trace.RoleClient); note != "" {
		t.con.Printf("%s", note)
	}
	return nil
}

// sendStream sends everything in holds through snd on c and returns once
// the receiver has it all.
func sendStream(ctx context.Context, c *tju.Conn, snd *xfer.Sender, in io.Reader) (*xfer.Report, error) {
	start := time.Now()
	res, err := snd.Run(ctx, in)
	if err != nil {
		return nil, sendError(ctx, c, snd, err)
	}
	el := time.Since(start)
	c.Close()
	i := c.Info()
	return &xfer.Report{Result: res, Sender: true, Peer: "to " + c.RemoteAddr().String(), Elapsed: el,
		Segments: i.SegmentsText(true), RTT: i.RTTText()}, nil
}

// sendError puts a failed transfer in words, with how much of the data
// the receiver acknowledged (not what went into our buffer).
func sendError(ctx context.Context, c *tju.Conn, snd *xfer.Sender, err error) error {
	if xfer.IsProtocolError(err) {
		return err
	}
	var ie *xfer.InputError
	if errors.As(err, &ie) {
		return ie
	}
	return connError(ctx, fmt.Sprintf("sending (after %d bytes acknowledged by the receiver)", snd.Acked(c.Info().BytesAcked)), err)
}

// resolveCode checks --code, taking TJU_CODE from the environment when
// the flag is absent.
func resolveCode(code *string, given, lab bool) error {
	if !given {
		*code = os.Getenv("TJU_CODE")
	}
	if *code == "" {
		if given {
			return usagef("--code: want a phrase both ends know, like 7-crystal-orbit")
		}
		return nil
	}
	if lab {
		return usagef("--code with --lab: a lab peer cannot authenticate (want one or the other)")
	}
	if len(*code) < 6 {
		return usagef("--code %q: want a phrase of at least 6 characters, like 7-crystal-orbit", *code)
	}
	return nil
}
