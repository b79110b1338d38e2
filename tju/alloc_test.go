package tju

import (
	"testing"
	"time"
)

// TestBulkTransferAllocatesNothingPerSegment moves data over loopback and
// counts the heap allocations of the whole process (sender, receiver,
// their endpoints' goroutines) per MiB once the connection runs: the hot
// path (segments out, ACKs in, the controller's rate samples) allocates
// nothing per packet. A MiB is about 770 segments and as many ACKs, so a
// per-packet allocation anywhere shows as hundreds per MiB; the bound of
// 20 leaves room for the runtime's own rare allocations. (A rate sample
// passed to the controller by the address of a local escaped to the heap:
// 800 per MiB, before this test.)
func TestBulkTransferAllocatesNothingPerSegment(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; runs without -race")
	}
	cfg := &Config{MSL: 10 * time.Millisecond}
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := discardOne(l)
	c, err := Dial(l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	chunk := pattern(3, 1<<20)
	// Warm up: the buffers autotune and the rings reach their size.
	for range 64 {
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	perMiB := testing.AllocsPerRun(64, func() {
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	})
	c.Close()
	if r := <-done; r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("%.1f allocations per MiB moved", perMiB)
	if perMiB > 20 {
		t.Errorf("%.1f allocations per MiB moved; the hot path should allocate nothing per segment", perMiB)
	}
}
