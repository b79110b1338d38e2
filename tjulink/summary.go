package tjulink

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/units"
)

// Link is one direction of an emulated link in the terms people use for
// it: what "tju demo" prints and explains a transfer by.
type Link struct {
	Rate   int64 // bits per second
	Delay  time.Duration
	Jitter time.Duration
	// Loss is the mean loss probability, burst loss included; Burst the
	// mean length of a loss burst in datagrams (0: independent losses).
	Loss, Burst                 float64
	Reorder, Duplicate, Corrupt float64
	// QueueBytes or QueuePackets is the bottleneck's queue.
	QueueBytes, QueuePackets int
}

// LinkOf describes c.
func LinkOf(c netem.Config) Link {
	l := Link{Rate: c.Rate, Delay: c.Delay, Jitter: c.Jitter, Loss: c.Loss,
		Reorder: c.Reorder, Duplicate: c.Duplicate, Corrupt: c.Corrupt,
		QueueBytes: c.QueueBytes, QueuePackets: c.QueuePackets}
	if g := c.Burst; g.BadToGood > 0 {
		l.Burst, l.Loss = 1/g.BadToGood, g.GoodToBad/(g.GoodToBad+g.BadToGood)
	}
	return l
}

// QueueOneBDP gives c, if its queue is unset, a queue of one
// bandwidth-delay product of its rate and round trip (twice its delay),
// at least 64 KiB: the demo's bottleneck.
func QueueOneBDP(c *netem.Config) {
	if c.QueueBytes == 0 && c.QueuePackets == 0 {
		bdp := int64(float64(c.Rate) / 8 * (2 * c.Delay).Seconds())
		c.QueueBytes = int(min(max(bdp, 64<<10), math.MaxInt32))
	}
}

// String says what the link is, in words: "100 Mbit/s, 20ms each way
// (RTT 40ms), 0.1% loss, queue 500.0 kB".
func (l Link) String() string {
	parts := []string{units.FormatBitRate(float64(l.Rate)), fmt.Sprintf("%v each way (RTT %v)", l.Delay, 2*l.Delay)}
	if l.Jitter > 0 {
		parts = append(parts, fmt.Sprintf("jitter ±%v", l.Jitter))
	}
	switch {
	case l.Loss > 0 && l.Burst > 0:
		parts = append(parts, fmt.Sprintf("%s loss in bursts of %.3g datagrams", units.FormatPercent(l.Loss), l.Burst))
	case l.Loss > 0:
		parts = append(parts, units.FormatPercent(l.Loss)+" loss")
	default:
		parts = append(parts, "no loss")
	}
	for _, p := range []struct {
		v    float64
		what string
	}{{l.Reorder, " reordered"}, {l.Duplicate, " duplicated"}, {l.Corrupt, " corrupted"}} {
		if p.v > 0 {
			parts = append(parts, units.FormatPercent(p.v)+p.what)
		}
	}
	queue := units.FormatBytes(int64(l.QueueBytes))
	if l.QueuePackets > 0 {
		queue = fmt.Sprintf("%d datagrams", l.QueuePackets)
	}
	parts = append(parts, "queue "+queue)
	return strings.Join(parts, ", ")
}

// WriteSummary explains t to a student: the time, goodput and data check;
// the sender's segments, recoveries, RTT and what its congestion control
// (named cc) did; the receiver's segments; what each direction of the
// link did (up, the data's, and down, the ACKs'); and, for Reno on a
// lossy link, why it went no faster (Mathis et al.). link is the data's
// direction.
func (t *Transfer) WriteSummary(w io.Writer, link Link, cc string, up, down netem.Stats) {
	sent, got, elapsed := t.Sent, t.Received, t.Elapsed
	si, ri := sent.Conn.Info(), got.Conn.Info()
	bps := float64(got.Bytes) * 8 / elapsed.Seconds()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Result\n")
	fmt.Fprintf(tw, "  time\t%s, from the first SYN to the receiver's FIN\n", units.FormatDuration(elapsed))
	fmt.Fprintf(tw, "  goodput\t%s: %.1f%% of the link's %s\n", units.FormatGoodput(got.Bytes, elapsed), bps/float64(link.Rate)*100, units.FormatBitRate(float64(link.Rate)))
	if t.Intact() {
		fmt.Fprintf(tw, "  data\tintact: %d bytes, the same SHA-256 at both ends:\n\t%x\n", got.Bytes, got.Sum)
	} else {
		fmt.Fprintf(tw, "  data\tDAMAGED: the SHA-256 differs\n\tsent     %d bytes, %x\n\treceived %d bytes, %x\n", sent.Bytes, sent.Sum, got.Bytes, got.Sum)
	}
	fmt.Fprintf(tw, "\nThe sender (client)\n")
	pct := 0.0
	if si.SegmentsSent > 0 {
		pct = float64(si.Retransmits) / float64(si.SegmentsSent) * 100
	}
	timeouts := "timeouts"
	if si.Timeouts == 1 {
		timeouts = "timeout"
	}
	fmt.Fprintf(tw, "  segments\t%d sent, %d of them retransmissions (%.2f%%)\n", si.SegmentsSent, si.Retransmits, pct)
	fmt.Fprintf(tw, "  recoveries\t%d fast (on duplicate ACKs or SACK), %d %s (RTO expired)\n", si.FastRecoveries, si.Timeouts, timeouts)
	fmt.Fprintf(tw, "  rtt\tsmoothed %s, min %s (the link's own is %s; the rest is queueing)\n", units.FormatDuration(si.SRTT), units.FormatDuration(si.MinRTT), 2*link.Delay)
	mss := max(si.MSS, 1)
	if m := si.Model; m.Mode != "" {
		writeModelSummary(tw, link, si, mss)
	} else {
		fmt.Fprintf(tw, "  cwnd\t%d segments of %d bytes at the end (%s); ssthresh %s\n", si.Cwnd/mss, si.MSS, units.FormatBytes(int64(si.Cwnd)), ssthreshText(si.Ssthresh, mss))
	}
	fmt.Fprintf(tw, "\nThe receiver (server)\n")
	fmt.Fprintf(tw, "  segments\t%d received, %d duplicates (already had those bytes)\n", ri.SegmentsRecv, ri.DuplicateSegs)
	fmt.Fprintf(tw, "\nThe link\n")
	fmt.Fprintf(tw, "  data\t%s\n", StatsText(up))
	fmt.Fprintf(tw, "  acks\t%s\n", StatsText(down))
	if up.QueueDropped > 0 {
		fmt.Fprintf(tw, "  \tThe queue overflows when the sender goes faster than the link for longer than the\n")
		fmt.Fprintf(tw, "  \tqueue can absorb: above all at the end of slow start, when cwnd doubles past it.\n")
	}
	if cc == "reno" && link.Loss > 0 && link.Delay > 0 && si.MSS > 0 {
		// Mathis et al. 1997: Reno's rate is about MSS/RTT * sqrt(3/2)/sqrt(p).
		rtt := (2 * link.Delay).Seconds()
		limit := float64(si.MSS) * 8 / rtt * math.Sqrt(1.5) / math.Sqrt(link.Loss)
		if limit < float64(link.Rate) && bps < float64(link.Rate)/2 {
			fmt.Fprintf(tw, "\nWhy not faster? With %s loss and an RTT of %v, Reno halves its window so often that\n", units.FormatPercent(link.Loss), 2*link.Delay)
			fmt.Fprintf(tw, "in the long run it averages about MSS/RTT x 1.22/sqrt(p) = %s (Mathis et al.);\n", units.FormatBitRate(limit))
			fmt.Fprintf(tw, "only the first second, before the first loss, goes faster. Try --loss 0.01%%.\n")
		}
	}
	tw.Flush()
}

// writeModelSummary says what a model-based controller (BBR) did: when
// startup ended and at what bandwidth, the model it holds, and the pacing
// rate and window it derives from it.
func writeModelSummary(w io.Writer, link Link, si tju.Info, mss int) {
	m := si.Model
	if m.StartupDone {
		fmt.Fprintf(w, "  startup\tpacing at 2.77 x the bandwidth found so far, the rate doubled every round trip;\n")
		fmt.Fprintf(w, "  \tit ended %s after the handshake at %s, when three round trips in a row\n", units.FormatDuration(m.StartupEnd), units.FormatBitRate(m.StartupBandwidth*8))
		fmt.Fprintf(w, "  \tbrought less than 25%% more (the link was full), and drained the queue it built\n")
	} else {
		fmt.Fprintf(w, "  startup\tstill in startup at the end: the transfer was too short to fill the link\n")
	}
	bdp := m.Bandwidth * m.MinRTT.Seconds()
	fmt.Fprintf(w, "  model\tbottleneck bandwidth %s of payload (the link: %s), min RTT %s;\n", units.FormatBitRate(m.Bandwidth*8), units.FormatBitRate(float64(link.Rate)), units.FormatDuration(m.MinRTT))
	fmt.Fprintf(w, "  \ttheir product, the bandwidth-delay product, is %s\n", units.FormatBytes(int64(bdp)))
	fmt.Fprintf(w, "  pacing\t%s at the end (phase %s: it cycles 1.25, 0.75 and 1 x the bandwidth\n", units.FormatBitRate(si.PacingRate*8), m.Mode)
	fmt.Fprintf(w, "  \tto probe for more and drain what probing queued), one quantum per wakeup\n")
	fmt.Fprintf(w, "  cwnd\t%d segments of %d bytes (%s) at the end; the model's target is 2 x that product\n", si.Cwnd/mss, si.MSS, units.FormatBytes(int64(si.Cwnd)))
	if m.CongestedRounds > 0 {
		fmt.Fprintf(w, "  loss\t%d of %d round trips lost more than usual while the RTT showed a queue:\n", m.CongestedRounds, m.Rounds)
		fmt.Fprintf(w, "  \tthose, and only those, lowered the window; random loss does not\n")
	} else {
		fmt.Fprintf(w, "  loss\tnone of %d round trips showed loss with a queue: random loss never lowered the window\n", m.Rounds)
	}
}

func ssthreshText(ss, mss int) string {
	if ss <= 0 || ss >= 1<<30 {
		return "not set yet (no loss seen: still in slow start)"
	}
	return fmt.Sprintf("%d segments (%s)", ss/mss, units.FormatBytes(int64(ss)))
}

// StatsText describes what one direction of an emulated link did:
// "4000 datagrams, 4 lost (0.10%), 2 dropped by the full queue".
func StatsText(st netem.Stats) string {
	lost := st.Lost + st.BurstLost
	s := fmt.Sprintf("%d datagrams, %d lost", st.Offered, lost)
	if st.Offered > 0 {
		s += fmt.Sprintf(" (%.2f%%)", float64(lost)/float64(st.Offered)*100)
	}
	for _, p := range []struct {
		n    uint64
		what string
	}{{st.QueueDropped, " dropped by the full queue"}, {st.Duplicated, " duplicated"}, {st.Reordered, " reordered"}, {st.Corrupted, " corrupted"}} {
		if p.n > 0 {
			s += fmt.Sprintf(", %d%s", p.n, p.what)
		}
	}
	return s
}
