package tju

import (
	"fmt"
	"strings"

	"github.com/tjunet/tjunet/units"
)

// Summary formats the snapshot on one line, in the spirit of "ss -ti",
// with units as package units prints them for people (SI):
//
//	ESTABLISHED rtt:20.4ms/1.2ms minrtt:20.1ms rto:221ms mss:1372 cwnd:145(198.9 kB) ssthresh:...
func (i Info) Summary() string {
	var b strings.Builder
	b.WriteString(i.State.String())
	mss := max(i.MSS, 1)
	fmt.Fprintf(&b, " rtt:%s/%s minrtt:%s rto:%s mss:%d", units.FormatDuration(i.SRTT), units.FormatDuration(i.RTTVar),
		units.FormatDuration(i.MinRTT), units.FormatDuration(i.RTO), i.MSS)
	fmt.Fprintf(&b, " cwnd:%d(%s)", i.Cwnd/mss, units.FormatBytes(int64(i.Cwnd)))
	if i.Ssthresh > 0 && i.Ssthresh < 1<<30 {
		fmt.Fprintf(&b, " ssthresh:%d(%s)", i.Ssthresh/mss, units.FormatBytes(int64(i.Ssthresh)))
	}
	fmt.Fprintf(&b, " snd_wnd:%s rcv_wnd:%s", units.FormatBytes(int64(i.SendWindow)), units.FormatBytes(int64(i.RecvWindow)))
	fmt.Fprintf(&b, " bytes_sent:%d bytes_acked:%d bytes_received:%d", i.BytesSent, i.BytesAcked, i.BytesReceived)
	fmt.Fprintf(&b, " segs_out:%d segs_in:%d retrans:%d timeouts:%d recoveries:%d dup_in:%d",
		i.SegmentsSent, i.SegmentsRecv, i.Retransmits, i.Timeouts, i.FastRecoveries, i.DuplicateSegs)
	return b.String()
}

// SegmentsText describes the segment counters of one end of a transfer:
// a sender's retransmissions, timeouts and recoveries ("48913 sent, 12
// retransmitted (0.02%), 0 timeouts, 2 fast recoveries"), or a
// receiver's duplicates and ACKs.
func (i Info) SegmentsText(sender bool) string {
	if !sender {
		return fmt.Sprintf("%d received, %d %s; %d sent (ACKs)", i.SegmentsRecv, i.DuplicateSegs,
			plural(int(i.DuplicateSegs), "duplicate", "duplicates"), i.SegmentsSent)
	}
	pct := 0.0
	if i.SegmentsSent > 0 {
		pct = float64(i.Retransmits) / float64(i.SegmentsSent) * 100
	}
	return fmt.Sprintf("%d sent, %d retransmitted (%.2f%%), %d %s, %d fast %s",
		i.SegmentsSent, i.Retransmits, pct, i.Timeouts, plural(int(i.Timeouts), "timeout", "timeouts"),
		i.FastRecoveries, plural(int(i.FastRecoveries), "recovery", "recoveries"))
}

// RTTText describes the RTT estimator: "smoothed 0.31ms, variation
// 0.1ms, min 0.05ms; rto 200ms", or "no sample".
func (i Info) RTTText() string {
	if i.SRTT == 0 {
		return "no sample"
	}
	return fmt.Sprintf("smoothed %s, variation %s, min %s; rto %s",
		units.FormatDuration(i.SRTT), units.FormatDuration(i.RTTVar), units.FormatDuration(i.MinRTT), units.FormatDuration(i.RTO))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
