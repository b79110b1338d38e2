package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/trace"
)

func init() { register(newRecvCommand) }

// recvOptions are the flags of tju recv.
type recvOptions struct {
	transportOptions
	listen    string
	output    string
	keep      bool
	readyFile string
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

When it is ready it prints on stderr

  tju recv: listening on 127.0.0.1:40123/1234

that is UDP address/TJU port, a form "tju send" accepts; --ready-file FILE
writes the same address into FILE, for scripts.

While it runs, a progress bar on stderr counts the bytes received (only
when stderr is a terminal, unless --progress). When a connection ends it
prints on stderr the bytes, the time, the goodput in MB/s (10^6 bytes a
second) and Mbit/s, and the SHA-256 of the data, to compare with the one
"tju send" prints.

Exit status: 0 after a complete transfer (with --keep: when stopped by
Ctrl-C after one), 1 if the connection or the output fails, 2 for a usage
error, 130 when interrupted before the transfer ended.`,
		Example: `  # Receive one file:
  tju recv -o copy.iso

  # Any free UDP port on loopback, serving connection after connection:
  tju recv --listen 127.0.0.1:0 --keep -o all.bin

  # Into a pipe, with the lab's trace (server.event.trace) and state changes:
  tju recv --trace traces -v | tar x

  # Counters at http://localhost:6060/debug/vars while it runs:
  tju recv --metrics localhost:6060 -o /dev/null`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments %q (the output file goes after -o)", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return runRecv(cmd.Context(), o, e) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.listen, "listen", "l", ":20218", "UDP `ADDR` of our endpoint (\"127.0.0.1:0\": a free port on loopback)")
	fs.StringVarP(&o.output, "output", "o", "-", "write the data to `FILE` (\"-\": standard output)")
	fs.BoolVarP(&o.keep, "keep", "k", false, "after a connection ends, accept the next one (until interrupted); their data is appended")
	fs.StringVar(&o.readyFile, "ready-file", "", "once listening, write the address to dial (UDP address/TJU port) into `FILE`")
	o.addFlags(fs, true)
	return cmd
}

func runRecv(ctx context.Context, o *recvOptions, e *env) error {
	if err := checkUDPAddr("--listen", o.listen); err != nil {
		return err
	}
	t, err := newTransport(&o.transportOptions, e, trace.RoleServer)
	if err != nil {
		return err
	}
	defer t.Close()

	// Open the output before the network, so a bad path fails at once.
	outName := o.output
	out, err := openOutput(outName, e)
	if err != nil {
		return err
	}
	defer out.Close()

	l, stop, err := t.listen(o.listen, o.readyFile, "tju recv")
	if err != nil {
		return err
	}
	defer stop()
	stopStats := startStats(ctx, t.con, t.stats, &t.conns)
	defer stopStats()

	keep := o.keep
	for {
		c, err := l.AcceptTJU(ctx)
		if err != nil {
			if ctx.Err() != nil {
				if keep && t.conns.seen.Load() > 0 {
					return nil // --keep ends with Ctrl-C
				}
				return errors.New("interrupted while waiting for a connection")
			}
			return err
		}
		t.log.Debug("accepted", "conn", c.String())
		rep, err := receiveStream(ctx, t, c, out)
		var oe *outputError
		if err != nil && keep && ctx.Err() == nil && !errors.As(err, &oe) {
			// One failed sender does not stop a --keep receiver.
			t.con.Printf("tju recv: %v; waiting for the next connection", err)
			continue
		}
		if err != nil {
			return err
		}
		if err := out.flush(); err != nil {
			return err
		}
		if !keep {
			stopStats()
			if err := t.Close(); err != nil {
				return err
			}
		}
		rep.write(t.con)
		if !keep {
			if note := t.traceNote(trace.RoleServer); note != "" {
				t.con.Printf("%s", note)
			}
			return nil
		}
	}
}

// receiveStream copies c to out until the sender closes, then closes c and
// waits briefly for the teardown to finish, so that the sender hears our
// FIN (which tells it that everything arrived).
func receiveStream(ctx context.Context, t *transport, c *tju.Conn, out *output) (*transferReport, error) {
	t.conns.add(c)
	defer t.conns.remove(c)
	stopAbort := context.AfterFunc(ctx, func() { c.Abort() })
	defer stopAbort()

	h := sha256.New()
	var n atomic.Int64
	prog := t.con.startProgress(t.progress, -1, "receiving", n.Load)
	buf := make([]byte, 256<<10)
	start := time.Now()
	for {
		k, rerr := c.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			if _, err := out.Write(buf[:k]); err != nil {
				prog.Stop(false)
				c.Abort()
				return nil, &outputError{fmt.Errorf("writing %s: %w", out.name, err)}
			}
			n.Add(int64(k))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			prog.Stop(false)
			return nil, connError(ctx, fmt.Sprintf("receiving (after %d bytes)", n.Load()), rerr)
		}
	}
	el := time.Since(start)
	c.Close()
	select {
	case <-c.Done():
	case <-ctx.Done():
	case <-time.After(3 * time.Second):
	}
	prog.Stop(true)
	return &transferReport{
		verb: "received", peer: "from " + c.RemoteAddr().String(), bytes: n.Load(), elapsed: el,
		info: c.Info(), sum: h.Sum(nil),
	}, nil
}

// output is recv's destination: a file or standard output, buffered.
type output struct {
	name string
	*bufio.Writer
	f *os.File // nil for standard output
}

func openOutput(name string, e *env) (*output, error) {
	if name == "-" || name == "" {
		return &output{name: "standard output", Writer: bufio.NewWriterSize(e.stdout, 256<<10)}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("cannot write the output: %w", err)
	}
	return &output{name: name, Writer: bufio.NewWriterSize(f, 256<<10), f: f}, nil
}

func (o *output) flush() error {
	if err := o.Flush(); err != nil {
		return &outputError{fmt.Errorf("writing %s: %w", o.name, err)}
	}
	return nil
}

// outputError is a failure to write recv's output, which ends recv even
// with --keep.
type outputError struct{ err error }

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }

// Close flushes and closes the file.
func (o *output) Close() error {
	err := o.Flush()
	if o.f != nil {
		if cerr := o.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// writeFileAtomic writes s to name through a temporary file and a rename,
// so that a reader polling for name never sees it half written.
func writeFileAtomic(name, s string) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tju-ready-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(s); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
