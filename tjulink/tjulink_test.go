package tjulink_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tjulink"
)

// TestTransferOverALossyLink moves 2 MiB over 20 ms each way with 1% loss
// in virtual time: the data arrives intact, the loss shows in the link's
// counters and in the sender's retransmissions.
func TestTransferOverALossyLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		link := netem.Config{Delay: 20 * time.Millisecond, Loss: 0.01, Rate: 100e6, QueueBytes: 512 << 10, Seed: 7}
		p, err := tjulink.New(link, link, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		var got atomic.Int64
		tr, err := p.Transfer(context.Background(), 2<<20, tjulink.Options{Seed: 3, Received: &got})
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Intact() || tr.Received.Bytes != 2<<20 || got.Load() != 2<<20 {
			t.Fatalf("sent %d (%x), received %d (%x), counted %d", tr.Sent.Bytes, tr.Sent.Sum, tr.Received.Bytes, tr.Received.Sum, got.Load())
		}
		if lost := p.ClientEnd.Stats().Lost; lost == 0 || tr.Sent.Conn.Info().Retransmits == 0 {
			t.Errorf("1%% loss: %d datagrams lost, %d retransmitted", lost, tr.Sent.Conn.Info().Retransmits)
		}
		if tr.Elapsed < 40*time.Millisecond {
			t.Errorf("elapsed %v, less than one RTT", tr.Elapsed)
		}
	})
}

// TestTransferSeedChoosesTheData: the same seed gives the same SHA-256,
// another seed another.
func TestTransferSeedChoosesTheData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sums := map[uint64][32]byte{}
		for _, seed := range []uint64{1, 1, 2} {
			p, err := tjulink.New(netem.Config{}, netem.Config{}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := p.Transfer(context.Background(), 100<<10, tjulink.Options{Seed: seed})
			p.Close()
			if err != nil || !tr.Intact() {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if s, ok := sums[seed]; ok && s != tr.Sent.Sum {
				t.Errorf("seed %d gave two different data", seed)
			}
			sums[seed] = tr.Sent.Sum
		}
		if sums[1] == sums[2] {
			t.Error("seeds 1 and 2 gave the same data")
		}
	})
}

// TestRealTimePairTransfers moves 1 MiB over a real-time pair (the
// precise timers tju demo uses) through a 2 ms, 100 Mbit/s link: the data
// arrives intact, and the timers' goroutines end with the pair (goleak
// checks it). How precise the timers are is timing, not correctness: the
// link bench reports it as the emulator's lag.
func TestRealTimePairTransfers(t *testing.T) {
	link := netem.Config{Delay: 2 * time.Millisecond, Rate: 100e6, QueueBytes: 256 << 10, Seed: 1}
	p, err := tjulink.NewRealTime(link, link, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := p.Transfer(ctx, 1<<20, tjulink.Options{Seed: 5})
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	if !tr.Intact() || tr.Received.Bytes != 1<<20 {
		t.Errorf("sent %d (%x), received %d (%x)", tr.Sent.Bytes, tr.Sent.Sum, tr.Received.Bytes, tr.Received.Sum)
	}
	if st := p.ClientEnd.Stats(); st.Delivered == 0 {
		t.Errorf("the link delivered nothing: %v", st)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
