package tjulink_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/tjulink"
)

// The link is described in the flags' terms: burst loss as its mean and
// burst length, the queue one bandwidth-delay product when unset.
func TestLinkDescription(t *testing.T) {
	burst, err := netem.BurstLoss(0.02, 4)
	if err != nil {
		t.Fatal(err)
	}
	c := netem.Config{Rate: 100e6, Delay: 20 * time.Millisecond, Reorder: 0.01, Burst: burst}
	tjulink.QueueOneBDP(&c)
	if c.QueueBytes != 500000 {
		t.Errorf("queue %d bytes, want one BDP, 500000", c.QueueBytes)
	}
	l := tjulink.LinkOf(c)
	want := "100 Mbit/s, 20ms each way (RTT 40ms), 2% loss in bursts of 4 datagrams, 1% reordered, queue 500.0 kB"
	if got := l.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	small := netem.Config{Rate: 1e6, Delay: time.Millisecond}
	tjulink.QueueOneBDP(&small)
	if small.QueueBytes != 64<<10 {
		t.Errorf("queue %d bytes, want the 64 KiB floor", small.QueueBytes)
	}
}

// The summary of a Reno transfer over a lossy link says what each end and
// the link did, and explains the rate by Mathis et al.; a BBR one says
// what its model found.
func TestWriteSummary(t *testing.T) {
	for _, cc := range []string{"reno", "bbr"} {
		t.Run(cc, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				link := netem.Config{Rate: 100e6, Delay: 20 * time.Millisecond, Loss: 0.01, Seed: 5}
				tjulink.QueueOneBDP(&link)
				cfg := tju.Config{CongestionControl: cc}
				p, err := tjulink.New(link, link, &cfg, &cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				tr, err := p.Transfer(context.Background(), 4<<20, tjulink.Options{Seed: 1})
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				tr.WriteSummary(&b, tjulink.LinkOf(link), cc, p.ClientEnd.Stats(), p.ServerEnd.Stats())
				s := b.String()
				want := []string{"intact: 4194304 bytes", "The sender (client)", "retransmissions", "The receiver (server)", "The link", "lost ("}
				if cc == "reno" {
					want = append(want, "Why not faster?", "Mathis", "ssthresh")
				} else {
					want = append(want, "model", "bottleneck bandwidth", "pacing")
				}
				for _, w := range want {
					if !strings.Contains(s, w) {
						t.Errorf("the summary lacks %q:\n%s", w, s)
					}
				}
			})
		})
	}
}
