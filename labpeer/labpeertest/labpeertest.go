// Package labpeertest runs labpeer's checks against implementations under
// test on an in-memory netem network with the lab's two hosts, in the
// virtual time of a testing/synctest bubble. It provides two kinds of
// implementation: tjunet's own endpoint in lab mode (optionally made to
// misbehave by Faults), and Skeleton, a scripted lab implementation with
// the habits of student code built on the lab's skeleton.
package labpeertest

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
)

// Impl is an implementation under test.
type Impl interface {
	// Run plays the implementation on pc, a socket on its lab host, for
	// one connection in which its application does app, until the
	// application is done or ctx ends. Run owns pc.
	Run(ctx context.Context, pc net.PacketConn, app labpeer.App) error
}

// Hosts returns the addresses of the check's end and the
// implementation's for a check of role.
func Hosts(role labpeer.Role) (check, impl netip.AddrPort) {
	if role == labpeer.Server {
		return labpeer.LabClientAddr, labpeer.LabServerAddr
	}
	return labpeer.LabServerAddr, labpeer.LabClientAddr
}

// Check runs check c against impl in a synctest bubble and returns the
// result. The implementation's application errors fail the test.
func Check(t *testing.T, c labpeer.Check, impl Impl, o labpeer.Options) *labpeer.Result {
	t.Helper()
	var res *labpeer.Result
	synctest.Test(t, func(t *testing.T) {
		n := netem.NewNetwork()
		ours, theirs := Hosts(c.IUT)
		gpc, err := n.Attach(ours, netem.Config{})
		if err != nil {
			t.Fatal(err)
		}
		h := labpeer.NewHost(gpc)
		stop := start(t, n, theirs, impl, c.App)
		o.Peer, o.LabReply, o.Transcript = theirs, true, true
		res = h.Run(context.Background(), &c, o)
		stop()
		h.Close()
	})
	return res
}

// Suite runs s against impl in a synctest bubble, starting the
// implementation afresh for each check with the check's application, and
// for the transfer (a client sends, a server reads to the end). It
// returns the report.
func Suite(t *testing.T, s labpeer.Suite, impl Impl) *labpeer.Report {
	t.Helper()
	var rep *labpeer.Report
	synctest.Test(t, func(t *testing.T) {
		n := netem.NewNetwork()
		ours, theirs := Hosts(s.Role)
		s.Options.Peer, s.Options.LabReply, s.Options.Transcript = theirs, true, true
		if s.Transfer != nil {
			s.Transfer.IUT, s.Transfer.Peer = s.Role, theirs
		}
		s.Before = func(_ context.Context, c *labpeer.Check) func() {
			app := labpeer.AppConnectSend
			if s.Role == labpeer.Server {
				app = labpeer.AppAcceptReadClose
			}
			if c != nil {
				app = c.App
			}
			return start(t, n, theirs, impl, app)
		}
		open := func() (net.PacketConn, error) { return attach(n, ours), nil }
		var err error
		rep, err = s.Run(context.Background(), open)
		if err != nil {
			t.Fatal(err)
		}
	})
	return rep
}

// attach attaches addr to n, waiting for an earlier socket on it to close.
func attach(n *netem.Network, addr netip.AddrPort) net.PacketConn {
	for {
		pc, err := n.Attach(addr, netem.Config{})
		if err == nil {
			return pc
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start runs impl on its host until stop, which waits for it.
func start(t *testing.T, n *netem.Network, addr netip.AddrPort, impl Impl, app labpeer.App) (stop func()) {
	pc := attach(n, addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- impl.Run(ctx, pc, app) }()
	// Let the implementation get ready (a server to listen) before the
	// check sends anything: a lab host drops what it cannot place.
	synctest.Wait()
	return func() {
		// A client's application may still be in TIME_WAIT: give it the
		// time it asks for, then stop it.
		select {
		case err := <-done:
			cancel()
			report(t, err)
			return
		case <-time.After(5 * time.Second):
		}
		cancel()
		report(t, <-done)
	}
}

func report(t *testing.T, err error) {
	if err != nil && err != context.Canceled {
		t.Logf("the implementation's application: %v", err)
	}
}

// Tjunet is tjunet's endpoint in lab mode as the implementation under
// test, playing each check's application as "tju send" and "tju recv" do.
type Tjunet struct {
	Config tju.Config // set Lab for a lab host
	Faults Faults     // how it misbehaves; the zero value: not at all
	// ClientData is written by a client whose application connects and
	// closes (at most 32 bytes, as the lab's close test allows).
	ClientData string
	// Data is what a client whose application sends writes (default
	// 3000 bytes).
	Data []byte
	// Out receives what a server reads (default: discarded).
	Out io.Writer
}

// Run implements Impl.
func (x Tjunet) Run(ctx context.Context, pc net.PacketConn, app labpeer.App) error {
	cfg := x.Config
	if x.Faults != (Faults{}) {
		pc = x.Faults.Wrap(pc)
	}
	ep := tju.NewEndpoint(pc, &cfg)
	defer ep.Close()
	wait := func(c *tju.Conn) {
		select {
		case <-c.Done():
		case <-ctx.Done():
		}
	}
	switch app {
	case labpeer.AppConnectClose, labpeer.AppConnectSend:
		c, err := ep.Dial(ctx, labpeer.LabServerAddr.String(), labpeer.LabServerPort)
		if err != nil {
			return err
		}
		data := []byte(x.ClientData)
		if app == labpeer.AppConnectSend {
			data = x.Data
			if data == nil {
				data = []byte(strings.Repeat("0123456789", 300))
			}
		}
		if len(data) > 0 {
			if _, err := c.Write(data); err != nil {
				return err
			}
		}
		if app == labpeer.AppConnectClose {
			sleep(ctx, time.Second) // as the lab's close test client
		}
		c.Close()
		wait(c)
	case labpeer.AppAccept, labpeer.AppAcceptReadClose, labpeer.AppAcceptClose:
		l, err := ep.Listen(labpeer.LabServerPort)
		if err != nil {
			return err
		}
		c, err := l.AcceptTJU(ctx)
		if err != nil {
			return err
		}
		if app == labpeer.AppAccept {
			<-ctx.Done()
			return nil
		}
		if app == labpeer.AppAcceptReadClose {
			out := x.Out
			if out == nil {
				out = io.Discard
			}
			if _, err := io.Copy(out, c); err != nil {
				return err
			}
		}
		c.Close()
		wait(c)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// LockedWriter serializes writes to W (a file shared by connections).
type LockedWriter struct {
	mu sync.Mutex
	W  io.Writer
}

func (w *LockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.W.Write(b)
}
