// Package tjulink joins two TJU endpoints, a client and a server, by an
// emulated link (package netem) in this process, and moves verified data
// between them: the harness behind "tju demo", the perf tests and any
// experiment that wants TJU TCP over a chosen link without a network.
//
// In a testing/synctest bubble the link runs in virtual time, so a 40 ms
// RTT, a 100 Mbit/s bottleneck or a minute of transfer cost no wall time.
package tjulink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
)

// Pair is a client and a server endpoint joined by an emulated link, the
// server listening on tju.DefaultPort.
type Pair struct {
	Client, Server *tju.Endpoint
	Listener       *tju.Listener
	// ClientEnd and ServerEnd are the link's two ends; their Stats count
	// what each direction did (ClientEnd's: client to server).
	ClientEnd, ServerEnd *netem.PacketConn
}

// New builds a pair: up is the client-to-server direction of the link,
// down the way back; client and server configure the endpoints (nil: the
// defaults).
//
// The link's timers are the time package's, which testing/synctest fakes;
// a pair that runs in real time should use NewRealTime.
func New(up, down netem.Config, client, server *tju.Config) (*Pair, error) {
	return newPair(netem.NewNetwork(), up, down, client, server)
}

// NewRealTime is New for a pair that runs in real time (tju demo): the
// link's timers are netem.PreciseAfterFunc, so a 100 Mbit/s bottleneck
// releases its datagrams one at a time rather than in the millisecond
// bunches of Go's timers on an idle process. It must not be used under
// testing/synctest.
func NewRealTime(up, down netem.Config, client, server *tju.Config) (*Pair, error) {
	n := netem.NewNetwork()
	n.SetTimers(netem.PreciseAfterFunc)
	return newPair(n, up, down, client, server)
}

func newPair(n *netem.Network, up, down netem.Config, client, server *tju.Config) (*Pair, error) {
	a, err := n.Attach(netem.DefaultAddrA, up)
	if err != nil {
		return nil, fmt.Errorf("tjulink: client to server: %w", err)
	}
	b, err := n.Attach(netem.DefaultAddrB, down)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("tjulink: server to client: %w", err)
	}
	p := &Pair{ClientEnd: a, ServerEnd: b}
	p.Client = tju.NewEndpoint(a, client)
	p.Server = tju.NewEndpoint(b, server)
	if p.Listener, err = p.Server.Listen(tju.DefaultPort); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Dial connects the client to the server's listener.
func (p *Pair) Dial(ctx context.Context) (*tju.Conn, error) {
	return p.Client.Dial(ctx, p.ServerEnd.LocalAddr().String(), tju.DefaultPort)
}

// Close closes both endpoints and their connections.
func (p *Pair) Close() error {
	return errors.Join(p.Client.Close(), p.Server.Close())
}

// End is what one end of a transfer did.
type End struct {
	Conn  *tju.Conn
	Bytes int64
	Sum   [sha256.Size]byte // SHA-256 of the bytes sent or received
}

// Transfer is a finished transfer.
type Transfer struct {
	Sent, Received End
	// Elapsed runs from the client's first SYN to the server's FIN: the
	// time until the sender knows that everything arrived.
	Elapsed time.Duration
}

// Intact reports whether the receiver got exactly what was sent.
func (t *Transfer) Intact() bool {
	return t.Sent.Bytes == t.Received.Bytes && bytes.Equal(t.Sent.Sum[:], t.Received.Sum[:])
}

// Options tune a transfer.
type Options struct {
	// Seed chooses the data: ChaCha8 output keyed by it.
	Seed uint64
	// Received, if set, counts the bytes the server has read, as they
	// arrive (for a progress bar).
	Received *atomic.Int64
	// Dialed, if set, is called with the client's connection once it is
	// open (for live statistics).
	Dialed func(*tju.Conn)
}

// Transfer sends size bytes of seeded random data from the client to the
// server: the client writes them and half-closes; the server reads to the
// end and closes, and its FIN tells the client that everything arrived.
// Both ends hash what they moved. Ending ctx aborts the connection.
func (p *Pair) Transfer(ctx context.Context, size int64, o Options) (*Transfer, error) {
	type result struct {
		end End
		err error
	}
	recvDone := make(chan result, 1)
	go func() {
		c, err := p.Listener.AcceptTJU(ctx)
		if err != nil {
			recvDone <- result{err: fmt.Errorf("accepting: %w", err)}
			return
		}
		h := sha256.New()
		var w io.Writer = h
		if o.Received != nil {
			w = io.MultiWriter(h, counter{o.Received})
		}
		n, err := io.CopyBuffer(w, c, make([]byte, 256<<10))
		c.Close()
		r := result{end: End{Conn: c, Bytes: n}, err: err}
		h.Sum(r.end.Sum[:0])
		if err != nil {
			r.err = fmt.Errorf("receiving: %w", err)
		}
		recvDone <- r
	}()

	start := time.Now()
	c, err := p.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting over the emulated link: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { c.Abort() })
	defer stop()
	if o.Dialed != nil {
		o.Dialed(c)
	}
	sent, err := send(c, size, o.Seed)
	if err != nil {
		c.Abort()
		return &Transfer{Sent: sent, Elapsed: time.Since(start)}, err
	}
	got := <-recvDone
	t := &Transfer{Sent: sent, Received: got.end, Elapsed: time.Since(start)}
	c.Close()
	return t, got.err
}

// send writes size bytes of seeded data on c, half-closes and waits for
// the receiver's FIN.
func send(c *tju.Conn, size int64, seed uint64) (End, error) {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	src := rand.NewChaCha8(key)
	h := sha256.New()
	buf := make([]byte, 256<<10)
	e := End{Conn: c}
	for e.Bytes < size {
		k := int(min(int64(len(buf)), size-e.Bytes))
		src.Read(buf[:k])
		h.Write(buf[:k])
		if _, err := c.Write(buf[:k]); err != nil {
			return e, fmt.Errorf("sending: %w", err)
		}
		e.Bytes += int64(k)
	}
	h.Sum(e.Sum[:0])
	if err := c.CloseWrite(); err != nil {
		return e, fmt.Errorf("closing: %w", err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return e, fmt.Errorf("waiting for the receiver: %w", err)
	}
	return e, nil
}

type counter struct{ n *atomic.Int64 }

func (w counter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }
