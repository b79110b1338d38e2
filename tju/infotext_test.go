package tju_test

import (
	"testing"
	"time"

	"github.com/tjunet/tjunet/tju"
)

func TestInfoText(t *testing.T) {
	i := tju.Info{State: tju.StateEstablished, SRTT: 20412 * time.Microsecond, RTTVar: 1200 * time.Microsecond,
		MinRTT: 20 * time.Millisecond, RTO: 221 * time.Millisecond, MSS: 1372, Cwnd: 1372 * 145, Ssthresh: 1 << 30,
		SegmentsSent: 1000, Retransmits: 10, Timeouts: 1, FastRecoveries: 2, SegmentsRecv: 500, DuplicateSegs: 1}
	for _, tc := range []struct{ got, want string }{
		{i.Summary(), "ESTABLISHED rtt:20.4ms/1.2ms minrtt:20ms rto:221ms mss:1372 cwnd:145(198.9 kB) snd_wnd:0 B rcv_wnd:0 B" +
			" bytes_sent:0 bytes_acked:0 bytes_received:0 segs_out:1000 segs_in:500 retrans:10 timeouts:1 recoveries:2 dup_in:1"},
		{i.SegmentsText(true), "1000 sent, 10 retransmitted (1.00%), 1 timeout, 2 fast recoveries"},
		{i.SegmentsText(false), "500 received, 1 duplicate; 1000 sent (ACKs)"},
		{i.RTTText(), "smoothed 20.4ms, variation 1.2ms, min 20ms; rto 221ms"},
		{tju.Info{}.RTTText(), "no sample"},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %q\nwant %q", tc.got, tc.want)
		}
	}
}
