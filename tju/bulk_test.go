package tju

// Bulk transfers over bad links, in virtual time (issue 2: "what it must
// show"). Each scenario moves bulkMiB MiB from a client endpoint to a
// server endpoint over an in-memory netem link inside a testing/synctest
// bubble, through the whole stack (Endpoint, Listener, Conn, engine), and
// compares the SHA-256 of what was written with what was read.
//
// What runs where:
//
//   - go test (no -race): 100 MiB per run (bulk_norace_test.go), every
//     scenario under seeds 1, 2 and 3: 15 runs, about 10 s of CPU in all.
//   - go test -race: 16 MiB per run (bulk_race_test.go), same scenarios and
//     seeds, about 20 s of wall time: the race detector makes the stack
//     about 8 times slower (the fifteen 100 MiB runs took 2 minutes of wall
//     time under -race on a shared 2-core machine), and the build without
//     -race moves the full 100 MiB.
//   - go test -short: 4 MiB per run, seed 1 only.
//   - TJU_BULK_MIB=n overrides the size (for example TJU_BULK_MIB=100
//     under -race to measure it); TJU_BULK_SEEDS=n runs seeds 1..n;
//     TJU_BULK_CC=cubic (or bbr) changes the congestion controller.
//
// Virtual time makes hours of a 10%-loss, 600 ms-RTT transfer take seconds
// of wall time. The seed fixes every random choice of the link; a failure
// names the subtest to re-run ("-run 'TestBulkTransfer/lossy/seed=2'").
// Goroutine interleavings at one virtual instant can still differ between
// runs, so a rerun explores the same link under the same seed but not
// always the identical packet sequence.

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
)

type bulkScenario struct {
	name    string
	link    func(seed uint64) netem.Config // one direction; the other gets seed+1000
	limit   time.Duration                  // virtual-time budget for 100 MiB
	retries int                            // Config.Retries; 0 for the default
	patient bool                           // no UserTimeout or keep-alives: the link is silent for minutes at a time
	clean   bool                           // no retransmission allowed
	plain   bool                           // Config.Plain: the lab's wire format, no SACK or checksum
}

// The lossy, burst and lossy-plain links are silent for minutes at a time
// once the RTO has backed off (10% loss each way with a 60 s RTO, or a
// burst that swallows every retransmission): the default 40 s user timeout,
// or nine unanswered keep-alive probes from the idle receiver, would rightly
// call such a peer dead, so they run without either and rely on Retries
// alone, as before they existed.

func bulkScenarios(t *testing.T) []bulkScenario {
	// 2% of datagrams lost in bursts of 3 on average. The Gilbert-Elliott
	// chain moves once per datagram, not with time, so a sender backing
	// off after a timeout meets the rest of a burst however long it waits:
	// a burst of 11 datagrams ((2/3)^10 = 1.7% of bursts) would exhaust the
	// default 10 retries and close the connection with ErrConnTimeout, as
	// it should. Retries 30 keeps that out of the test (5e-6 per burst).
	burst, err := netem.BurstLoss(0.02, 3)
	if err != nil {
		t.Fatal(err)
	}
	return []bulkScenario{
		{"clean", func(seed uint64) netem.Config {
			return netem.Config{Delay: 20 * time.Millisecond, Seed: seed}
		}, time.Minute, 0, false, true, false},
		{"lossy", func(seed uint64) netem.Config { // the lab's harshest
			return netem.Config{Loss: 0.10, Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, Seed: seed}
		}, 24 * time.Hour, 0, true, false, false},
		{"reorder-dup-corrupt", func(seed uint64) netem.Config {
			return netem.Config{Delay: 20 * time.Millisecond, Reorder: 0.05, ReorderDelay: 15 * time.Millisecond,
				Duplicate: 0.01, Corrupt: 0.005, Seed: seed}
		}, time.Hour, 0, false, false, false},
		{"burst", func(seed uint64) netem.Config {
			return netem.Config{Burst: burst, Delay: 50 * time.Millisecond, Seed: seed}
		}, 4 * time.Hour, 30, true, false, false},
		{"lossy-plain", func(seed uint64) netem.Config { // the harshest link, lab wire format
			return netem.Config{Loss: 0.10, Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, Seed: seed}
		}, 96 * time.Hour, 0, true, false, true},
	}
}

// bulkSize is the number of bytes each run moves.
func bulkSize(t *testing.T) int {
	mib := bulkMiB
	if testing.Short() {
		mib = 4
	}
	if s := os.Getenv("TJU_BULK_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("TJU_BULK_MIB=%q: want a positive integer", s)
		}
		mib = n
	}
	return mib << 20
}

func bulkSeeds(t *testing.T) int {
	n := 3
	if testing.Short() {
		n = 1
	}
	if s := os.Getenv("TJU_BULK_SEEDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			t.Fatalf("TJU_BULK_SEEDS=%q: want a positive integer", s)
		}
		n = v
	}
	return n
}

func TestBulkTransfer(t *testing.T) {
	size := bulkSize(t)
	for _, sc := range bulkScenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= uint64(bulkSeeds(t)); seed++ {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					t.Parallel()
					wall := time.Now()
					var r bulkResult
					synctest.Test(t, func(t *testing.T) {
						r = runBulk(t, sc, seed, size)
					})
					if t.Failed() {
						t.Logf("reproduce with: go test ./tju -run 'TestBulkTransfer/%s/seed=%d'", sc.name, seed)
						return
					}
					if sc.clean && (r.info.Retransmits != 0 || r.info.Timeouts != 0) {
						t.Errorf("%d retransmissions, %d timeouts on a clean link", r.info.Retransmits, r.info.Timeouts)
					}
					t.Logf("%d MiB in %v virtual (%.2f MB/s), %v wall; sender: %d segments, %d retransmitted, %d timeouts, %d fast recoveries; link %v",
						size>>20, r.virtual.Round(time.Millisecond), float64(size)/r.virtual.Seconds()/1e6,
						time.Since(wall).Round(time.Millisecond), r.info.SegmentsSent, r.info.Retransmits,
						r.info.Timeouts, r.info.FastRecoveries, r.c2s)
				})
			}
		})
	}
}

type bulkResult struct {
	virtual time.Duration // from Dial to the last byte read
	info    Info          // the sender's counters at the end
	c2s     netem.Stats
}

// runBulk moves size bytes from a client to a server over the scenario's
// link, in the calling synctest bubble, and checks them.
func runBulk(t *testing.T, sc bulkScenario, seed uint64, size int) bulkResult {
	c2s, s2c := sc.link(seed), sc.link(seed+1000)
	n := netem.NewNetwork()
	a, err := n.Attach(vClientAddr, c2s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Attach(vServerAddr, s2c)
	if err != nil {
		t.Fatal(err)
	}
	// Receive queues larger than the 8 MiB window: the in-memory "kernel"
	// then drops nothing, and every loss is the scenario's.
	a.SetReadBuffer(32 << 20)
	b.SetReadBuffer(32 << 20)
	cfg := &Config{MSL: 100 * time.Millisecond, Retries: sc.retries, Plain: sc.plain,
		CongestionControl: os.Getenv("TJU_BULK_CC")}
	if sc.patient {
		cfg.UserTimeout, cfg.KeepAlive = -1, -1
	}
	ce, se := NewEndpoint(a, cfg), NewEndpoint(b, cfg)
	defer ce.Close()
	defer se.Close()
	l, err := se.Listen(1234)
	if err != nil {
		t.Fatal(err)
	}

	// The budget scales with the size; past it the test fails instead of
	// running for ever in virtual time.
	limit := time.Duration(float64(sc.limit)*float64(size)/float64(100<<20)) + time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ce.Close(); se.Close() })
	defer stop()

	start := time.Now()
	type recv struct {
		n   int64
		sum [32]byte
		err error
	}
	got := make(chan recv, 1)
	go func() {
		c, err := l.AcceptTJU(ctx)
		if err != nil {
			got <- recv{err: err}
			return
		}
		h := sha256.New()
		n, err := io.CopyBuffer(h, c, make([]byte, 64<<10))
		var r recv
		r.n, r.err = n, err
		h.Sum(r.sum[:0])
		c.Close()
		got <- r
	}()

	c, err := ce.Dial(ctx, vServerAddr.String(), 1234)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	h := sha256.New()
	var key [32]byte
	key[0] = byte(c2s.Seed)
	gen := rand.NewChaCha8(key)
	buf := make([]byte, 256<<10)
	for sent := 0; sent < size; {
		m := min(len(buf), size-sent)
		gen.Read(buf[:m])
		h.Write(buf[:m])
		if _, err := c.Write(buf[:m]); err != nil {
			t.Fatalf("write after %d bytes (%v virtual): %v; sender %+v", sent, time.Since(start), err, c.Info())
		}
		sent += m
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-got
	virtual := time.Since(start)
	var want [32]byte
	h.Sum(want[:0])
	if r.err != nil || r.n != int64(size) {
		t.Fatalf("server read %d of %d bytes in %v virtual: %v; sender %+v", r.n, size, virtual, r.err, c.Info())
	}
	if r.sum != want {
		t.Fatalf("SHA-256 differs: sent %x, received %x", want, r.sum)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatalf("client connection not closed by the end of the budget; %+v", c.Info())
	}
	return bulkResult{virtual: virtual, info: c.Info(), c2s: a.Stats()}
}
