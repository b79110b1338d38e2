package xfer

import (
	"encoding/hex"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tjunet/tjunet/units"
)

// Report is what one end of a transfer prints when it ends.
type Report struct {
	Result  *Result
	Sender  bool   // the sending end ("sent ..."), else the receiving one
	Peer    string // "to 127.0.0.1:20218/1234", "from ..."
	Elapsed time.Duration
	// Segments and RTT put the connection's counters in words, as
	// tju.Info's SegmentsText and RTTText do.
	Segments, RTT string
}

// Write prints the report as a short table:
//
//	sent 67.1 MB (67108864 bytes) to 127.0.0.1:20218/1234 in 1.52s
//	  goodput     44.15 MB/s (353 Mbit/s)
//	  segments    48913 sent, 12 retransmitted (0.02%), 0 timeouts, 2 fast recoveries
//	  rtt         smoothed 0.31ms, variation 0.1ms, min 0.05ms, rto 200ms
//	  check       SHA-256 matched at both ends
//	  sha256      9f86d081884c7d65...
//
// Every unit is SI (1 MB = 10^6 bytes), as package units prints them.
func (r *Report) Write(w io.Writer) {
	res, verb := r.Result, "received"
	if r.Sender {
		verb = "sent"
	}
	fmt.Fprintf(w, "%s %s (%d bytes) %s in %s\n", verb, units.FormatBytes(res.Bytes), res.Bytes, r.Peer, units.FormatDuration(r.Elapsed))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if res.Offset > 0 {
		fmt.Fprintf(tw, "  resumed\tat byte %d: %s in all (%d bytes)\n", res.Offset, units.FormatBytes(res.Total()), res.Total())
	}
	fmt.Fprintf(tw, "  goodput\t%s\n", units.FormatGoodput(res.Bytes, r.Elapsed))
	fmt.Fprintf(tw, "  segments\t%s\n", r.Segments)
	fmt.Fprintf(tw, "  rtt\t%s\n", r.RTT)
	switch {
	case res.Verified:
		fmt.Fprintf(tw, "  check\tSHA-256 matched at both ends\n")
	case !r.Sender:
		fmt.Fprintf(tw, "  check\tnone: the sender is not tju send with tjunet's extensions (a lab peer, --plain or --lab): compare the SHA-256 below\n")
	default:
		fmt.Fprintf(tw, "  check\tnone: the receiver is not tju recv with tjunet's extensions (a lab peer, --plain or --lab)\n")
	}
	if res.Encrypted {
		fmt.Fprintf(tw, "  security\tTLS 1.3, both ends authenticated by the code phrase\n")
	}
	if res.Sum != nil {
		fmt.Fprintf(tw, "  sha256\t%s\n", hex.EncodeToString(res.Sum))
	}
	tw.Flush()
}
