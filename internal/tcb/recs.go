package tcb

import "time"

// rec is one transmitted segment awaiting acknowledgement: the
// retransmission queue and the SACK scoreboard are the same list.
type rec struct {
	seq    uint32
	n      uint32        // sequence space: payload bytes, or 1 for a FIN
	sent   time.Duration // time of the latest (re)transmission
	retx   uint16        // number of retransmissions
	fin    bool
	sacked bool // the receiver holds it (SACK); not in the pipe
	lost   bool // deemed lost and not yet retransmitted; not in the pipe
}

func (r *rec) end() uint32 { return r.seq + r.n }

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
func (q *recQueue) search(seq uint32) int {
	lo, hi := 0, q.n
	for lo < hi {
		m := (lo + hi) / 2
		if seqLEQ(q.at(m).end(), seq) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
