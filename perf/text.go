package perf

import (
	"fmt"
	"io"
	"time"

	"github.com/tjunet/tjunet/units"
)

// This file words tests and results for people, as tju bench prints them:
// sizes and rates in SI units (package units), one line per interval.

// String is what a server says about a test it served: "PEER: throughput
// test: received 1.2 GB in 10.0s: 960 Mbit/s".
func (r ServerReport) String() string {
	bps := float64(r.Bytes) * 8 / max(r.Elapsed.Seconds(), 1e-9)
	switch {
	case r.Mode == Latency:
		return fmt.Sprintf("%s: latency test: echoed %d requests of %d bytes in %s", r.Peer, r.Requests, r.MsgSize, units.FormatDuration(r.Elapsed))
	case r.Reverse:
		return fmt.Sprintf("%s: throughput test (reverse): sent %s in %s: %s", r.Peer, units.FormatBytes(r.Bytes),
			units.FormatDuration(r.Elapsed), units.FormatBitRate(bps))
	}
	return fmt.Sprintf("%s: throughput test: received %s in %s: %s", r.Peer, units.FormatBytes(r.Bytes),
		units.FormatDuration(r.Elapsed), units.FormatBitRate(bps))
}

// span formats an interval of a test: "  1.00-  2.00 s".
func span(from, to time.Duration) string {
	return fmt.Sprintf("%6.2f-%6.2f s", from.Seconds(), to.Seconds())
}

// WriteHead writes what a client prints once connected: what test runs
// against peer (its address, as the user gave it) with transport (such as
// "bbr"), and the column heads of the intervals that follow.
func WriteHead(w io.Writer, t Test, peer, transport string) {
	if t.Mode == Latency {
		what := "for " + t.Duration.String()
		if t.Duration == 0 {
			what = fmt.Sprintf("%d requests", t.Count)
		}
		fmt.Fprintf(w, "tju bench: latency to %s, %d-byte requests, %s\n", peer, t.MsgSize, what)
		fmt.Fprint(w, "         interval   requests     req/s       p50       p99\n")
		return
	}
	what := "for " + t.Duration.String()
	if t.Duration == 0 {
		what = units.FormatBytes(t.Bytes)
		if t.Streams > 1 {
			what += " a stream"
		}
	}
	dir := "to"
	if t.Reverse {
		dir = "from"
	}
	extra := ""
	if t.Streams > 1 {
		extra += fmt.Sprintf(", %d streams", t.Streams)
	}
	if t.Rate > 0 {
		extra += ", at most " + units.FormatBitRate(float64(t.Rate))
		if t.Streams > 1 {
			extra += " each"
		}
	}
	fmt.Fprintf(w, "tju bench: throughput %s %s, %s (%s%s)\n", dir, peer, what, transport, extra)
	fmt.Fprint(w, "        interval     transfer        bitrate    retr        cwnd       rtt\n")
}

// WriteInterval writes a throughput interval: a line per stream, and their
// sum when there are several.
func WriteInterval(w io.Writer, iv Interval) {
	line := func(tag string, s IntervalStream) {
		if !s.Sender { // the server sends: its window and RTT are not seen here
			fmt.Fprintf(w, "%s%s  %11s  %13s  %6s  %10s  %8s\n", tag, span(s.Start, s.End), units.FormatBytes(int64(s.Bytes)),
				units.FormatBitRate(s.BitsPerSecond()), "-", "-", "-")
			return
		}
		fmt.Fprintf(w, "%s%s  %11s  %13s  %6d  %10s  %8s\n", tag, span(s.Start, s.End), units.FormatBytes(int64(s.Bytes)),
			units.FormatBitRate(s.BitsPerSecond()), s.Retransmits, units.FormatBytes(int64(s.Cwnd)), units.FormatDuration(s.RTT))
	}
	if len(iv.Streams) == 1 {
		line("  ", iv.Streams[0])
		return
	}
	for i, s := range iv.Streams {
		line(fmt.Sprintf("%2d", i+1), s)
	}
	fmt.Fprintf(w, "SUM%s  %11s  %13s  %6d\n", span(iv.Sum.Start, iv.Sum.End)[1:], units.FormatBytes(int64(iv.Sum.Bytes)),
		units.FormatBitRate(iv.Sum.BitsPerSecond()), iv.Sum.Retransmits)
}

// WriteLatencyInterval writes a latency interval.
func WriteLatencyInterval(w io.Writer, iv LatencyInterval) {
	fmt.Fprintf(w, "  %s  %9d  %8.0f  %8s  %8s\n", span(iv.Start, iv.End), iv.Requests,
		float64(iv.Requests)/(iv.End-iv.Start).Seconds(), units.FormatDuration(iv.P50), units.FormatDuration(iv.P99))
}

// WriteText writes a finished test's totals, as a client prints them after
// its intervals.
func (r *Result) WriteText(w io.Writer) {
	if l := r.Latency; l != nil {
		s := l.Summary
		segments := "segments"
		if l.Retransmits == 1 {
			segments = "segment"
		}
		fmt.Fprintln(w, "  - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -")
		fmt.Fprintf(w, "  %d requests in %s: %.0f per second; %d %s retransmitted\n", l.Requests,
			units.FormatDuration(l.Elapsed), l.PerSecond(), l.Retransmits, segments)
		fmt.Fprintf(w, "  round trip: min %s, mean %s, p50 %s, p90 %s, p99 %s, max %s\n",
			units.FormatDuration(s.Min), units.FormatDuration(s.Mean), units.FormatDuration(s.P50),
			units.FormatDuration(s.P90), units.FormatDuration(s.P99), units.FormatDuration(s.Max))
		return
	}
	snd, rcv := r.Sent, r.Received
	fmt.Fprintln(w, "  - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -")
	fmt.Fprintf(w, "  %s  %11s  %13s  %6d  sender (bytes acknowledged)\n", span(0, snd.Elapsed),
		units.FormatBytes(int64(snd.Bytes)), units.FormatBitRate(snd.BitsPerSecond()), snd.Retransmits)
	fmt.Fprintf(w, "  %s  %11s  %13s          receiver (first byte to last)\n", span(0, rcv.Elapsed),
		units.FormatBytes(int64(rcv.Bytes)), units.FormatBitRate(rcv.BitsPerSecond()))
	fmt.Fprintf(w, "  %d segments sent, %d retransmitted; RTT smoothed %s, min %s\n",
		snd.Segments, snd.Retransmits, units.FormatDuration(snd.SRTT), units.FormatDuration(snd.MinRTT))
}
