package labpeer_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
)

// iut describes the implementation under test: one of tjunet's endpoints
// in lab mode, or that endpoint behind a socket wrapper (a misbehaving
// double).
type iut struct {
	cfg  tju.Config
	wrap func(net.PacketConn) net.PacketConn // nil: the socket as is
	// clientData is what a client writes before closing in checks whose
	// application connects and closes (at most 32 bytes).
	clientData string
}

// runCheck runs check c against the implementation on an in-memory network
// with the lab's two hosts, in virtual time, and returns the result.
func runCheck(t *testing.T, c labpeer.Check, impl iut, o labpeer.Options) *labpeer.Result {
	t.Helper()
	var res *labpeer.Result
	synctest.Test(t, func(t *testing.T) {
		res = runCheckInBubble(t, c, impl, o)
	})
	return res
}

func runCheckInBubble(t *testing.T, c labpeer.Check, impl iut, o labpeer.Options) *labpeer.Result {
	t.Helper()
	graderAddr, iutAddr := labpeer.LabServerAddr, labpeer.LabClientAddr
	if c.IUT == labpeer.Server {
		graderAddr, iutAddr = labpeer.LabClientAddr, labpeer.LabServerAddr
	}
	n := netem.NewNetwork()
	gpc, err := n.Attach(graderAddr, netem.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ipc, err := n.Attach(iutAddr, netem.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var pc net.PacketConn = ipc
	if impl.wrap != nil {
		pc = impl.wrap(ipc)
	}
	cfg := impl.cfg
	cfg.Lab = true
	ep := tju.NewEndpoint(pc, &cfg)
	h := labpeer.NewHost(gpc)
	ctx, cancel := context.WithCancel(context.Background())
	var l *tju.Listener
	if c.IUT == labpeer.Server {
		if l, err = ep.Listen(labpeer.LabServerPort); err != nil {
			t.Fatal(err)
		}
	}
	appErr := make(chan error, 1)
	go func() { appErr <- runApp(ctx, c.App, ep, l, graderAddr, impl.clientData) }()
	o.Peer = iutAddr
	o.LabReply = true
	o.Transcript = true
	res := h.Run(ctx, &c, o)
	cancel()
	if err := <-appErr; err != nil && ctx.Err() == nil {
		t.Errorf("application: %v", err)
	}
	ep.Close()
	h.Close()
	return res
}

// runApp plays the implementation's application for a check.
func runApp(ctx context.Context, app labpeer.App, ep *tju.Endpoint, l *tju.Listener, server netip.AddrPort, clientData string) error {
	sleep := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	wait := func(c *tju.Conn) {
		select {
		case <-c.Done():
		case <-ctx.Done():
		}
	}
	switch app {
	case labpeer.AppConnectClose, labpeer.AppConnectSend:
		c, err := ep.Dial(ctx, server.String(), labpeer.LabServerPort)
		if err != nil {
			return err
		}
		data := clientData
		if app == labpeer.AppConnectSend {
			data = strings.Repeat("0123456789", 300)
		}
		if data != "" {
			if _, err := c.Write([]byte(data)); err != nil {
				return err
			}
		}
		if app == labpeer.AppConnectClose {
			sleep(time.Second) // as the lab's close test client
		}
		c.Close()
		wait(c)
	case labpeer.AppAccept:
		_, err := l.AcceptTJU(ctx)
		return err
	case labpeer.AppAcceptReadClose, labpeer.AppAcceptClose:
		c, err := l.AcceptTJU(ctx)
		if err != nil {
			return err
		}
		if app == labpeer.AppAcceptReadClose {
			if _, err := io.Copy(io.Discard, c); err != nil {
				return err
			}
		}
		c.Close()
		wait(c)
	}
	return nil
}

func report(t *testing.T, c labpeer.Check, r *labpeer.Result) {
	t.Helper()
	var b strings.Builder
	for _, e := range r.Transcript {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	t.Errorf("%s (%s) failed at %q:\n  want %s\n  got  %s\nnotes: %v\nsteps:\n%stranscript:\n%s",
		c.Name, c.Tests, r.Step, r.Want, r.Got, r.Notes, c.Describe(), b.String())
}

// TestChecksAgainstTjunet runs every check, the lab's grader programs
// included, against tjunet's client and server in lab mode, in both
// sending shapes.
func TestChecksAgainstTjunet(t *testing.T) {
	for _, shape := range []labpeer.Shape{labpeer.TCPShape, labpeer.SkeletonShape} {
		for _, c := range labpeer.Checks() {
			t.Run(shape.String()+"/"+c.Name, func(t *testing.T) {
				impl := iut{cfg: tju.Config{SkeletonShape: shape == labpeer.SkeletonShape}}
				r := runCheck(t, c, impl, labpeer.Options{Shape: shape})
				if !r.Pass {
					report(t, c, r)
				}
			})
		}
	}
}

// TestCloseChecksWithClientData runs the checks whose client connects and
// closes with a client that sends a few bytes first, as "tju send" of a
// small file does: the lab's graders ignore that data, and the checks must
// still pass.
func TestCloseChecksWithClientData(t *testing.T) {
	for _, c := range labpeer.Checks() {
		if c.App != labpeer.AppConnectClose {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			r := runCheck(t, c, iut{clientData: "twenty bytes of data"}, labpeer.Options{})
			if !r.Pass {
				report(t, c, r)
			}
		})
	}
}

// TestDataSendJudgesTheShape: the data-send check fails a client whose
// sending shape is not the one asked for, and names it.
func TestDataSendJudgesTheShape(t *testing.T) {
	c := *labpeer.Find("data-send")
	for _, tc := range []struct {
		skeleton bool
		want     labpeer.Shape
	}{{false, labpeer.SkeletonShape}, {true, labpeer.TCPShape}} {
		r := runCheck(t, c, iut{cfg: tju.Config{SkeletonShape: tc.skeleton}}, labpeer.Options{Shape: tc.want})
		if r.Pass || !strings.Contains(r.Want, tc.want.String()+" shape") {
			t.Errorf("skeleton=%v, want shape %v: pass=%v, want %q, got %q", tc.skeleton, tc.want, r.Pass, r.Want, r.Got)
		}
	}
}
