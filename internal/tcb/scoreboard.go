package tcb

import (
	"fmt"
	"time"
)

// rec is one transmitted segment awaiting acknowledgement: the
// retransmission queue and the SACK scoreboard are the same list.
type rec struct {
	seq    seqnum
	n      uint32        // sequence space: payload bytes, or 1 for a FIN
	sent   time.Duration // time of the latest (re)transmission
	retx   uint16        // number of retransmissions
	fin    bool
	sacked bool       // the receiver holds it (SACK); not in the pipe
	lost   bool       // deemed lost and not yet retransmitted; not in the pipe
	tx     txSnapshot // the rate sampler's state at the latest transmission
}

func (r *rec) end() seqnum { return r.seq + seqnum(r.n) }

// scoreboard is the retransmission queue and the SACK scoreboard (RFC 6675
// section 3) in one list: a record per segment sent and not yet
// cumulatively acknowledged, in sequence order. Every record is in exactly
// one class: in the pipe (sent and not known to have left the network),
// lost (deemed lost, awaiting retransmission) or SACKed (the receiver holds
// it). The scoreboard counts the bytes of each class and keeps
//
//	pipe + lost + sacked = the sequence space the records cover
//
// after every method. Only its methods change a record's class, sequence
// range or transmission time; callers read records through at and must not
// write them.
type scoreboard struct {
	q        recQueue
	pipe     int    // bytes in flight (RFC 6675 "pipe")
	lost     int    // bytes marked lost, awaiting retransmission
	sacked   int    // bytes the receiver reported holding
	highSack seqnum // highest SACKed sequence number (valid when sacked > 0)
}

// len returns the number of records.
func (b *scoreboard) len() int { return b.q.len() }

// at returns record i (0 is the oldest) for reading.
func (b *scoreboard) at(i int) *rec { return b.q.at(i) }

// search returns the index of the first record that ends after seq.
func (b *scoreboard) search(seq seqnum) int { return b.q.search(seq) }

// send appends a segment just transmitted; it starts in the pipe. Its
// sequence range must follow the last record's.
func (b *scoreboard) send(r rec) {
	r.sacked, r.lost = false, false
	b.q.push(r)
	b.pipe += int(r.n)
}

// markLost moves record i from the pipe to lost; a record already lost or
// SACKed stays as it is. It reports whether the record changed class.
func (b *scoreboard) markLost(i int) bool {
	r := b.q.at(i)
	if r.sacked || r.lost {
		return false
	}
	r.lost = true
	b.pipe -= int(r.n)
	b.lost += int(r.n)
	return true
}

// firstLost returns the index of the oldest lost record, or -1.
func (b *scoreboard) firstLost() int {
	if b.lost == 0 {
		return -1
	}
	for i := range b.q.len() {
		if b.q.at(i).lost {
			return i
		}
	}
	return -1
}

// resend records that record i was transmitted again at now: a lost record
// goes back into the pipe, one in the pipe stays there (a tail loss probe).
// A SACKed record is never resent; resend leaves it alone. tx is the rate
// sampler's state at this transmission.
func (b *scoreboard) resend(i int, now time.Duration, tx txSnapshot) {
	r := b.q.at(i)
	if r.sacked {
		return
	}
	if r.lost {
		r.lost = false
		b.lost -= int(r.n)
		b.pipe += int(r.n)
	}
	r.retx++
	r.sent = now
	r.tx = tx
}

// sack moves record i to SACKed (from the pipe or from lost) and reports
// whether it was not SACKed before.
func (b *scoreboard) sack(i int) bool {
	r := b.q.at(i)
	if r.sacked {
		return false
	}
	b.take(r, r.n)
	r.sacked, r.lost = true, false
	b.sacked += int(r.n)
	if b.sacked == int(r.n) || r.end().gt(b.highSack) {
		b.highSack = r.end()
	}
	return true
}

// popFront removes the oldest record (cumulatively acknowledged) and
// returns it as it was.
func (b *scoreboard) popFront() rec {
	r := *b.q.at(0)
	b.take(&r, r.n)
	b.q.popFront()
	return r
}

// trimFront drops the sequence space before ack from the oldest record,
// which starts before ack and ends after it (a partial acknowledgement),
// and returns the number of bytes dropped.
func (b *scoreboard) trimFront(ack seqnum) uint32 {
	r := b.q.at(0)
	d := uint32(ack - r.seq)
	b.take(r, d)
	r.seq, r.n = ack, r.n-d
	return d
}

// take subtracts n bytes of record r from the count of r's class.
func (b *scoreboard) take(r *rec, n uint32) {
	switch {
	case r.sacked:
		b.sacked -= int(n)
	case r.lost:
		b.lost -= int(n)
	default:
		b.pipe -= int(n)
	}
}

// check verifies the scoreboard's invariants: records in order without
// overlap, no record both lost and SACKed, non-negative class counts that
// add up to the bytes the records hold, highSack at or above every SACKed
// record. Tests call it after each step.
func (b *scoreboard) check() error {
	var pipe, lost, sacked int
	for i := range b.q.len() {
		r := b.q.at(i)
		if i > 0 && r.seq.lt(b.q.at(i-1).end()) {
			return fmt.Errorf("record %d [%d,%d) overlaps the one before, ending at %d", i, r.seq, r.end(), b.q.at(i-1).end())
		}
		switch {
		case r.sacked && r.lost:
			return fmt.Errorf("record %d [%d,%d) is both SACKed and lost", i, r.seq, r.end())
		case r.sacked:
			sacked += int(r.n)
			if r.end().gt(b.highSack) {
				return fmt.Errorf("record %d [%d,%d) is SACKed above highSack %d", i, r.seq, r.end(), b.highSack)
			}
		case r.lost:
			lost += int(r.n)
		default:
			pipe += int(r.n)
		}
	}
	if b.pipe < 0 || b.lost < 0 || b.sacked < 0 {
		return fmt.Errorf("negative count: pipe %d, lost %d, sacked %d", b.pipe, b.lost, b.sacked)
	}
	if pipe != b.pipe || lost != b.lost || sacked != b.sacked {
		return fmt.Errorf("records hold pipe %d, lost %d, sacked %d; counted pipe %d, lost %d, sacked %d",
			pipe, lost, sacked, b.pipe, b.lost, b.sacked)
	}
	return nil
}

// recQueue is a growable ring of records ordered by sequence number.
type recQueue struct {
	a    []rec // len zero or a power of two
	head int
	n    int
}

func (q *recQueue) len() int { return q.n }

func (q *recQueue) at(i int) *rec { return &q.a[(q.head+i)&(len(q.a)-1)] }

func (q *recQueue) push(r rec) {
	if q.n == len(q.a) {
		na := make([]rec, max(64, 2*len(q.a)))
		for i := range q.n {
			na[i] = *q.at(i)
		}
		q.a, q.head = na, 0
	}
	q.a[(q.head+q.n)&(len(q.a)-1)] = r
	q.n++
}

func (q *recQueue) popFront() {
	q.head = (q.head + 1) & (len(q.a) - 1)
	q.n--
}

// search returns the index of the first record that ends after seq.
func (q *recQueue) search(seq seqnum) int {
	lo, hi := 0, q.n
	for lo < hi {
		m := (lo + hi) / 2
		if q.at(m).end().leq(seq) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
