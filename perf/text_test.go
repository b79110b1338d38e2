package perf

import (
	"strings"
	"testing"
	"time"
)

func TestServerReportString(t *testing.T) {
	for _, tc := range []struct {
		r    ServerReport
		want string
	}{
		{ServerReport{Peer: "p", Mode: Throughput, Bytes: 125_000_000, Elapsed: 10 * time.Second},
			"p: throughput test: received 125.0 MB in 10s: 100 Mbit/s"},
		{ServerReport{Peer: "p", Mode: Throughput, Reverse: true, Bytes: 1_250_000, Elapsed: time.Second},
			"p: throughput test (reverse): sent 1.2 MB in 1s: 10.0 Mbit/s"},
		{ServerReport{Peer: "p", Mode: Latency, Requests: 7, MsgSize: 64, Elapsed: 2 * time.Second},
			"p: latency test: echoed 7 requests of 64 bytes in 2s"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestWriteHeadAndIntervals(t *testing.T) {
	var b strings.Builder
	WriteHead(&b, Test{Mode: Throughput, Duration: 10 * time.Second, Streams: 2, Rate: 5e6}, "h/1234", "bbr")
	one := IntervalStream{Start: 0, End: time.Second, Bytes: 1_000_000, Retransmits: 3, Cwnd: 64_000, RTT: 20 * time.Millisecond, Sender: true}
	WriteInterval(&b, Interval{Streams: []IntervalStream{one, one}, Sum: IntervalStream{End: time.Second, Bytes: 2_000_000, Retransmits: 6}})
	WriteInterval(&b, Interval{Streams: []IntervalStream{{Start: time.Second, End: 2 * time.Second, Bytes: 500}}})
	WriteLatencyInterval(&b, LatencyInterval{End: time.Second, Requests: 100, P50: time.Millisecond, P99: 3 * time.Millisecond})
	want := []string{
		"tju bench: throughput to h/1234, for 10s (bbr, 2 streams, at most 5.00 Mbit/s each)",
		"        interval     transfer        bitrate    retr        cwnd       rtt",
		" 1  0.00-  1.00 s       1.0 MB    8.00 Mbit/s       3     64.0 kB      20ms",
		" 2  0.00-  1.00 s       1.0 MB    8.00 Mbit/s       3     64.0 kB      20ms",
		"SUM 0.00-  1.00 s       2.0 MB    16.0 Mbit/s       6",
		"    1.00-  2.00 s        500 B    4.00 kbit/s       -           -         -", // the client receives
		"    0.00-  1.00 s        100       100       1ms       3ms",
	}
	if got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b.Reset()
	WriteHead(&b, Test{Mode: Latency, Count: 5, MsgSize: 64}, "h", "reno")
	if !strings.HasPrefix(b.String(), "tju bench: latency to h, 64-byte requests, 5 requests\n") {
		t.Errorf("latency head: %q", b.String())
	}
}

func TestResultWriteText(t *testing.T) {
	var b strings.Builder
	r := &Result{Sent: Totals{Elapsed: 2 * time.Second, Bytes: 25_000_000, Retransmits: 4, Segments: 18_000, SRTT: 21 * time.Millisecond, MinRTT: 20 * time.Millisecond},
		Received: Totals{Elapsed: 1990 * time.Millisecond, Bytes: 25_000_000}}
	r.WriteText(&b)
	for _, want := range []string{
		"    0.00-  2.00 s      25.0 MB     100 Mbit/s       4  sender (bytes acknowledged)",
		"    0.00-  1.99 s      25.0 MB     101 Mbit/s          receiver (first byte to last)",
		"  18000 segments sent, 4 retransmitted; RTT smoothed 21ms, min 20ms",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("no line %q in\n%s", want, b.String())
		}
	}
	b.Reset()
	l := &Result{Latency: &LatencyResult{Requests: 10, Elapsed: time.Second, Retransmits: 1,
		Summary: LatencySummary{Min: time.Millisecond, Mean: 2 * time.Millisecond, P50: 2 * time.Millisecond, P90: 3 * time.Millisecond, P99: 4 * time.Millisecond, Max: 5 * time.Millisecond}}}
	l.WriteText(&b)
	for _, want := range []string{
		"  10 requests in 1s: 10 per second; 1 segment retransmitted",
		"  round trip: min 1ms, mean 2ms, p50 2ms, p90 3ms, p99 4ms, max 5ms",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("no line %q in\n%s", want, b.String())
		}
	}
}
