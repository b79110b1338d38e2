package labpeer_test

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/labpeer/labpeertest"
	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
)

// TestListenerKeepsListening follows the seed's diagram past the first
// accept: after ESTABLISHED the listening socket is still in LISTEN, so a
// second client from another host is accepted while the first connection
// is open, and both carry data.
func TestListenerKeepsListening(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := netem.NewNetwork()
		spc, _ := n.Attach(labpeer.LabServerAddr, netem.Config{})
		ep := tju.NewEndpoint(spc, &tju.Config{Lab: true})
		defer ep.Close()
		l, err := ep.Listen(labpeer.LabServerPort)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		accepted := make(chan *tju.Conn, 2)
		go func() {
			for range 2 {
				c, err := l.AcceptTJU(ctx)
				if err != nil {
					return
				}
				accepted <- c
				go func() {
					io.Copy(io.Discard, c)
					c.Close()
				}()
			}
		}()
		check := *labpeer.Find("data-receive")
		results := make(chan *labpeer.Result, 2)
		for _, addr := range []string{"172.17.0.2:20218", "172.17.0.4:20218"} {
			pc, err := n.Attach(netipMust(addr), netem.Config{})
			if err != nil {
				t.Fatal(err)
			}
			h := labpeer.NewHost(pc)
			defer h.Close()
			go func() {
				results <- h.Run(ctx, &check, labpeer.Options{Peer: labpeer.LabServerAddr, LabReply: true})
			}()
		}
		for range 2 {
			if r := <-results; !r.Pass {
				t.Errorf("%s: want %s; got %s", r.Step, r.Want, r.Got)
			}
		}
		if len(accepted) != 2 {
			t.Errorf("accepted %d connections, want 2", len(accepted))
		}
	})
}

// TestTimeWaitEndsAfter2MSL follows TIME_WAIT -> CLOSED: within 2*MSL a
// retransmitted FIN is acknowledged again; after 2*MSL the connection is
// gone and a lab host (which sends no resets) answers nothing.
func TestTimeWaitEndsAfter2MSL(t *testing.T) {
	const msl = time.Second
	tw := *labpeer.Find("time-wait")
	tw.Name = "time-wait-then-closed"
	tw.Steps = append(tw.Steps,
		labpeer.Sleep{D: 2*msl + 500*time.Millisecond},
		labpeer.Send{What: "the server's FIN after 2*MSL", Flags: wire.FlagFIN | wire.FlagACK, Seq: labpeer.Num(647),
			Ack: labpeer.EndOf("FIN"), Window: labpeer.LabWindow},
		labpeer.Quiet{What: "CLOSED: no answer", For: 3 * time.Second})
	r := labpeertest.Check(t, tw, labpeertest.Tjunet{Config: tju.Config{Lab: true, MSL: msl}}, labpeer.Options{})
	if !r.Pass {
		report(t, tw, r)
	}
}

func netipMust(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
