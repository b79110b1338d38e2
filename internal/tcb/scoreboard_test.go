package tcb

import (
	"math/rand/v2"
	"testing"
	"time"
)

// board returns a scoreboard holding n segments of size bytes from seq 1000.
func board(t *testing.T, n int, size uint32) *scoreboard {
	t.Helper()
	b := &scoreboard{}
	for i := range n {
		b.send(rec{seq: 1000 + seqnum(uint32(i)*size), n: size, sent: time.Duration(i) * time.Millisecond})
	}
	mustHold(t, b)
	return b
}

func mustHold(t *testing.T, b *scoreboard) {
	t.Helper()
	if err := b.check(); err != nil {
		t.Fatal(err)
	}
}

func counts(b *scoreboard) [3]int { return [3]int{b.pipe, b.lost, b.sacked} }

func TestScoreboardSentSegmentsAreInThePipe(t *testing.T) {
	b := board(t, 3, 100)
	if got := counts(b); got != [3]int{300, 0, 0} {
		t.Fatalf("pipe, lost, sacked = %v, want [300 0 0]", got)
	}
}

func TestScoreboardMarkLostLeavesLostAndSackedRecordsAlone(t *testing.T) {
	b := board(t, 3, 100)
	if !b.markLost(0) || b.markLost(0) {
		t.Fatal("markLost should change record 0 once")
	}
	b.sack(1)
	if b.markLost(1) {
		t.Fatal("a SACKed record was marked lost")
	}
	mustHold(t, b)
	if got := counts(b); got != [3]int{100, 100, 100} {
		t.Fatalf("pipe, lost, sacked = %v, want [100 100 100]", got)
	}
	if b.firstLost() != 0 {
		t.Fatalf("firstLost = %d, want 0", b.firstLost())
	}
}

func TestScoreboardSackTakesFromLostOrPipe(t *testing.T) {
	b := board(t, 2, 100)
	b.markLost(0)
	if !b.sack(0) || !b.sack(1) || b.sack(1) {
		t.Fatal("sack should report each record newly SACKed once")
	}
	mustHold(t, b)
	if got := counts(b); got != [3]int{0, 0, 200} {
		t.Fatalf("pipe, lost, sacked = %v, want [0 0 200]", got)
	}
	if b.highSack != 1200 {
		t.Fatalf("highSack = %d, want 1200", b.highSack)
	}
	if b.firstLost() != -1 {
		t.Fatalf("firstLost = %d after every record was SACKed", b.firstLost())
	}
}

func TestScoreboardHighSackFollowsTheOnlySackedRecord(t *testing.T) {
	b := board(t, 4, 100)
	b.sack(3)
	for range 4 {
		b.popFront() // everything acknowledged: highSack is stale
	}
	for i := range 2 {
		b.send(rec{seq: 1400 + seqnum(i*100), n: 100})
	}
	b.sack(0)
	if b.highSack != 1500 {
		t.Fatalf("highSack = %d, want 1500 (the only SACKed record's end)", b.highSack)
	}
	mustHold(t, b)
}

func TestScoreboardResendMovesLostIntoThePipe(t *testing.T) {
	b := board(t, 3, 100)
	b.markLost(1)
	b.resend(1, time.Second, txSnapshot{})
	if r := b.at(1); r.lost || r.retx != 1 || r.sent != time.Second {
		t.Fatalf("record after resend: %+v", *r)
	}
	b.resend(2, 2*time.Second, txSnapshot{}) // a tail loss probe: stays in the pipe
	b.sack(0)
	b.resend(0, 3*time.Second, txSnapshot{}) // SACKed: never resent
	if r := b.at(0); r.retx != 0 || !r.sacked {
		t.Fatalf("SACKed record changed by resend: %+v", *r)
	}
	mustHold(t, b)
	if got := counts(b); got != [3]int{200, 0, 100} {
		t.Fatalf("pipe, lost, sacked = %v, want [200 0 100]", got)
	}
}

func TestScoreboardPartialAckTrimsTheRecordsClass(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(b *scoreboard)
		want [3]int
	}{
		{"in the pipe", func(*scoreboard) {}, [3]int{60, 0, 0}},
		{"lost", func(b *scoreboard) { b.markLost(0) }, [3]int{0, 60, 0}},
		{"sacked", func(b *scoreboard) { b.sack(0) }, [3]int{0, 0, 60}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := board(t, 1, 100)
			tc.set(b)
			if d := b.trimFront(1040); d != 40 {
				t.Fatalf("trimFront dropped %d bytes, want 40", d)
			}
			mustHold(t, b)
			if got := counts(b); got != tc.want {
				t.Fatalf("pipe, lost, sacked = %v, want %v", got, tc.want)
			}
			if r := b.at(0); r.seq != 1040 || r.n != 60 {
				t.Fatalf("record [%d,%d), want [1040,1100)", r.seq, r.end())
			}
		})
	}
}

func TestScoreboardPopFrontReturnsTheRecordAndDropsItsBytes(t *testing.T) {
	b := board(t, 3, 100)
	b.markLost(0)
	b.sack(1)
	for _, want := range [][3]int{{100, 0, 100}, {100, 0, 0}, {0, 0, 0}} {
		before := *b.at(0)
		if r := b.popFront(); r != before {
			t.Fatalf("popFront returned %+v, want %+v", r, before)
		}
		mustHold(t, b)
		if got := counts(b); got != want {
			t.Fatalf("pipe, lost, sacked = %v, want %v", got, want)
		}
	}
}

func TestScoreboardCheckCatchesABrokenCount(t *testing.T) {
	b := board(t, 2, 100)
	b.at(1).lost = true // written behind the scoreboard's back
	if b.check() == nil {
		t.Fatal("check accepted a record marked lost without moving its bytes")
	}
}

// TestScoreboardRandomOperationsKeepTheInvariant drives the scoreboard the
// way the engine does, in random order, and checks pipe + lost + sacked
// against the records after every step.
func TestScoreboardRandomOperationsKeepTheInvariant(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 14))
		b := &scoreboard{}
		next := seqnum(0xffff_f000) // wraps around 2^32 on the way
		for step := range 2000 {
			switch op := rng.IntN(6); {
			case op == 0 || b.len() == 0:
				n := 1 + rng.Uint32N(1400)
				b.send(rec{seq: next, n: n})
				next = next.add(int(n))
			case op == 1:
				b.markLost(rng.IntN(b.len()))
			case op == 2:
				b.sack(rng.IntN(b.len()))
			case op == 3:
				b.resend(rng.IntN(b.len()), time.Duration(step), txSnapshot{})
			case op == 4:
				b.popFront()
			default:
				if r := b.at(0); r.n > 1 {
					b.trimFront(r.seq.add(1 + rng.IntN(int(r.n)-1)))
				}
			}
			if err := b.check(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		}
	}
}
