package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/trace"
)

func init() { register(newSendCommand) }

// sendOptions are the flags of tju send.
type sendOptions struct {
	transportOptions
	bind    string
	timeout time.Duration
}

func newSendCommand(e *env) *cobra.Command {
	o := &sendOptions{}
	cmd := &cobra.Command{
		Use:   "send [flags] HOST[:PORT][/TJUPORT] [FILE|-]",
		Short: "send a file (or standard input) to a tju recv over TJU TCP",
		Long: `Connects to a "tju recv" at HOST (UDP port PORT, default 20218, the lab's;
TJU port --port, default 1234, or the one after a slash, as "tju recv"
prints it), sends FILE (standard input if FILE is "-" or absent), closes
its side and waits until the receiver has read everything and closed too.

While it runs, a progress bar on stderr counts the bytes the receiver has
acknowledged (only when stderr is a terminal, unless --progress). At the
end it prints on stderr the bytes sent, the time, the goodput in MB/s
(10^6 bytes a second) and Mbit/s, the segments retransmitted, the
retransmission timeouts and the RTT, and the SHA-256 of the data, which
"tju recv" prints too: the two must be equal.

Exit status: 0 when the receiver has everything, 1 if the connection or
the file fails, 2 for a usage error, 130 when interrupted.`,
		Example: `  # On host B:  tju recv -o copy.iso
  # On host A:
  tju send hostB photo.iso

  # To a receiver that printed "listening on 127.0.0.1:40123/1234":
  tju send 127.0.0.1:40123/1234 notes.txt

  # A pipe, with CUBIC, a trace for "tju plot", and live statistics:
  tar c dir | tju send --cc cubic --trace traces --stats 1s 10.0.0.2:20218

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
			return runSend(cmd.Context(), o, cmd.Flags().Changed("port"), args, e)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.bind, "bind", "b", "", "local UDP `ADDR` of our endpoint (default: a free port, on loopback for a loopback peer)")
	fs.DurationVarP(&o.timeout, "timeout", "t", 10*time.Second, "give up connecting after this `DURATION`")
	o.addFlags(fs, true)
	return cmd
}

func runSend(ctx context.Context, o *sendOptions, portGiven bool, args []string, e *env) error {
	hostport, inAddr, err := splitPeer("receiver address", args[0])
	if err != nil {
		return err
	}
	if o.bind != "" {
		if err := checkUDPAddr("--bind", o.bind); err != nil {
			return err
		}
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
	in, size, err := openInput(name, e)
	if err != nil {
		return err
	}
	defer in.Close()

	bind := o.bind
	if bind == "" && t.lab {
		bind = fmt.Sprintf(":%d", tju.LabUDPPort) // a lab host's one UDP port
	}
	ep, err := tju.OpenEndpoint(bindAddress(ctx, bind, hostport), t.cfg)
	if err != nil {
		return fmt.Errorf("cannot open the local endpoint: %w", inWords(err))
	}
	defer ep.Close()
	stopMetrics, err := t.serve(ep)
	if err != nil {
		return err
	}
	defer stopMetrics()

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

	prog := t.con.startProgress(t.progress, size, "sending", func() int64 { return int64(c.Info().BytesAcked) })
	// Copy in a goroutine, so that Ctrl-C ends the command even while it
	// waits for input that does not come (a terminal, a stalled pipe).
	type sendResult struct {
		rep *transferReport
		err error
	}
	done := make(chan sendResult, 1)
	go func() {
		rep, err := sendStream(ctx, c, in, name)
		done <- sendResult{rep, err}
	}()
	var res sendResult
	select {
	case res = <-done:
	case <-ctx.Done():
		res.err = errors.New("interrupted")
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
	rep.write(t.con)
	if note := t.traceNote(trace.RoleClient); note != "" {
		t.con.Printf("%s", note)
	}
	return nil
}

// sendStream writes everything in to c, half-closes it and waits for the
// receiver to close in turn: it then has every byte.
func sendStream(ctx context.Context, c *tju.Conn, in io.Reader, name string) (*transferReport, error) {
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var n int64
	start := time.Now()
	for {
		k, rerr := in.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			if _, err := c.Write(buf[:k]); err != nil {
				return nil, connError(ctx, fmt.Sprintf("sending (after %d bytes)", n), err)
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("reading %s: %w", inputName(name), rerr)
		}
	}
	if err := c.CloseWrite(); err != nil {
		return nil, connError(ctx, "closing", err)
	}
	// The receiver closes its side once it has read our FIN, so its FIN
	// means every byte was delivered.
	if _, err := io.Copy(io.Discard, c); err != nil {
		return nil, connError(ctx, "waiting for the receiver to confirm", err)
	}
	el := time.Since(start)
	c.Close()
	return &transferReport{
		verb: "sent", peer: "to " + c.RemoteAddr().String(), bytes: n, elapsed: el,
		info: c.Info(), sum: h.Sum(nil), sender: true,
	}, nil
}

// openInput opens FILE, or standard input for "-", and returns its size if
// known (-1 if not).
func openInput(name string, e *env) (io.ReadCloser, int64, error) {
	if name == "-" {
		if e.stdin == nil {
			return nil, 0, errors.New("no standard input to send")
		}
		size := int64(-1)
		if f, ok := e.stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				size = st.Size()
			}
		}
		return io.NopCloser(e.stdin), size, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read the file to send: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("cannot read the file to send: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("cannot send %s: it is a directory (send an archive: tar c %s | tju send HOST)", name, name)
	}
	size := int64(-1)
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, nil
}

func inputName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return name
}

// bindAddress returns bind, or if it is empty a free port of the family
// of peer: on 127.0.0.1 for a loopback peer, so logs show real addresses.
func bindAddress(ctx context.Context, bind, peer string) string {
	if bind != "" {
		return bind
	}
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		return ":0"
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return ":0"
	}
	for _, ip := range ips {
		if ip = ip.Unmap(); ip.Is4() {
			if ip.IsLoopback() {
				return "127.0.0.1:0"
			}
			return "0.0.0.0:0"
		}
	}
	if ips[0].IsLoopback() {
		return "[::1]:0"
	}
	return ":0"
}
