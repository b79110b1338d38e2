package perf_test

import (
	"context"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/perf"
	"github.com/tjunet/tjunet/tjulink"
)

// serve runs a bench server (perf.Serve) on p's listener until the test
// ends.
func serve(t *testing.T, p *tjulink.Pair) (reports func() []perf.ServerReport) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []perf.ServerReport
	done := make(chan error, 1)
	go func() {
		accept := func(ctx context.Context) (net.Conn, error) { return p.Listener.AcceptTJU(ctx) }
		done <- perf.Serve(ctx, accept, func(c net.Conn, r perf.ServerReport, err error) {
			if err != nil && ctx.Err() == nil {
				t.Errorf("server: %v", err)
			}
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err == nil {
			t.Error("perf.Serve returned no error when its accept failed")
		}
	})
	return func() []perf.ServerReport {
		mu.Lock()
		defer mu.Unlock()
		return append([]perf.ServerReport(nil), got...)
	}
}

func pair(t *testing.T, link netem.Config) *tjulink.Pair {
	p, err := tjulink.New(link, link, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dialer(p *tjulink.Pair) perf.Dialer {
	return func(ctx context.Context) (net.Conn, error) { return p.Dial(ctx) }
}

var lab = netem.Config{Delay: 20 * time.Millisecond, Rate: 100e6, QueueBytes: 512 << 10, Loss: 0.001, Seed: 1}

func TestThroughputParallelStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pair(t, lab)
		serve(t, p)
		var lines []perf.Interval
		res, err := perf.Run(context.Background(), dialer(p), perf.Test{Mode: perf.Throughput, Bytes: 1 << 20, Streams: 3,
			Interval: 100 * time.Millisecond, OnInterval: func(iv perf.Interval) { lines = append(lines, iv) }})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent.Bytes != 3<<20 || res.Received.Bytes != 3<<20 || len(res.Streams) != 3 {
			t.Fatalf("sent %d, received %d over %d streams; want 3 MiB over 3", res.Sent.Bytes, res.Received.Bytes, len(res.Streams))
		}
		var inIntervals uint64
		for _, iv := range res.Intervals {
			if len(iv.Streams) != 3 {
				t.Fatalf("an interval with %d streams", len(iv.Streams))
			}
			inIntervals += iv.Sum.Bytes
		}
		if inIntervals != res.Sent.Bytes {
			t.Errorf("the intervals add up to %d bytes, the total is %d", inIntervals, res.Sent.Bytes)
		}
		if len(lines) == 0 || len(lines) > len(res.Intervals) {
			t.Errorf("%d intervals reported as they ended, %d in the result", len(lines), len(res.Intervals))
		}
	})
}

// TestNoSliverInterval: a test that ends just after a tick has no interval
// of a millisecond at the end (the old tju bench printed one). On this
// link, in virtual time, the 200 ms test ends 1.1 ms after a 20 ms tick.
func TestNoSliverInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pair(t, netem.Config{Delay: 20 * time.Millisecond, Rate: 100e6, QueueBytes: 512 << 10})
		serve(t, p)
		const every = 20 * time.Millisecond
		res, err := perf.Run(context.Background(), dialer(p), perf.Test{Mode: perf.Throughput, Duration: 200 * time.Millisecond, Interval: every})
		if err != nil {
			t.Fatal(err)
		}
		var sum uint64
		for i, iv := range res.Intervals {
			if iv.Sum.End-iv.Sum.Start < every/10 {
				t.Errorf("interval %d of %d lasts %v", i, len(res.Intervals), iv.Sum.End-iv.Sum.Start)
			}
			sum += iv.Sum.Bytes
		}
		if sum != res.Sent.Bytes {
			t.Errorf("the intervals add up to %d bytes, the total is %d", sum, res.Sent.Bytes)
		}
	})
}

func TestReverse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pair(t, lab)
		reports := serve(t, p)
		res, err := perf.Run(context.Background(), dialer(p), perf.Test{Mode: perf.Throughput, Bytes: 700 << 10, Reverse: true, Interval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Received.Bytes != 700<<10 || res.Sent.Bytes != 700<<10 || res.Sent.Segments == 0 {
			t.Fatalf("received %d, the server sent %d in %d segments", res.Received.Bytes, res.Sent.Bytes, res.Sent.Segments)
		}
		for _, iv := range res.Intervals {
			if iv.Sum.Sender {
				t.Fatal("a reverse test's intervals say the client sent")
			}
		}
		synctest.Wait()
		if r := reports(); len(r) != 1 || !r[0].Reverse || r[0].Bytes != 700<<10 {
			t.Errorf("server reports %+v", r)
		}
	})
}

// TestRateLimit: -b 8Mbit holds a 200 KB transfer to at least 0.2 s (in
// virtual time, so the figure is exact, not a wall-clock guess).
func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pair(t, lab)
		serve(t, p)
		for _, reverse := range []bool{false, true} {
			res, err := perf.Run(context.Background(), dialer(p), perf.Test{Mode: perf.Throughput, Bytes: 200e3, Rate: 8e6, Reverse: reverse})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent.Elapsed < 190*time.Millisecond || res.Sent.BitsPerSecond() > 8.5e6 {
				t.Errorf("reverse %v: %d bytes in %v (%.0f bit/s) under an 8 Mbit/s limit", reverse, res.Sent.Bytes, res.Sent.Elapsed, res.Sent.BitsPerSecond())
			}
		}
	})
}

func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pair(t, lab)
		serve(t, p)
		res, err := perf.Run(context.Background(), dialer(p), perf.Test{Mode: perf.Latency, Count: 20, MsgSize: 64, Interval: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		l := res.Latency
		if l == nil || l.Requests != 20 || l.Summary.Min < 40*time.Millisecond || l.Summary.P50 > l.Summary.Max {
			t.Fatalf("latency %+v; want 20 requests, none faster than the 40 ms RTT", l)
		}
	})
}

func TestCheckRejects(t *testing.T) {
	for _, tc := range []perf.Test{
		{Mode: perf.Throughput},
		{Mode: perf.Latency, Count: 1, MsgSize: 0},
		{Mode: perf.Latency, Count: 1, MsgSize: 64, Reverse: true},
		{Mode: perf.Latency, Count: 1, MsgSize: 64, Streams: 2},
		{Mode: perf.Throughput, Duration: time.Second, Count: 3},
		{Mode: 'X', Duration: time.Second},
	} {
		if tc.Check() == nil {
			t.Errorf("%+v accepted", tc)
		}
	}
}

// TestJSONHasIperf3Fields decodes -J output the way an iperf3 parser does
// and finds iperf3's fields where iperf3 puts them.
func TestJSONHasIperf3Fields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pair(t, lab)
		serve(t, p)
		res, err := perf.Run(context.Background(), dialer(p), perf.Test{Mode: perf.Throughput, Duration: 500 * time.Millisecond, Streams: 2, Interval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(res.JSON("tju test", "reno"))
		if err != nil {
			t.Fatal(err)
		}
		checkIperf3JSON(t, b, 2)
	})
}

// checkIperf3JSON holds b to iperf3 -J's schema for a TCP test with n
// streams.
func checkIperf3JSON(t *testing.T, b []byte, n int) {
	t.Helper()
	var j struct {
		Start struct {
			Connected []struct {
				Socket     int    `json:"socket"`
				LocalHost  string `json:"local_host"`
				LocalPort  int    `json:"local_port"`
				RemoteHost string `json:"remote_host"`
				RemotePort int    `json:"remote_port"`
			} `json:"connected"`
			Version   string `json:"version"`
			Timestamp struct {
				TimeSecs int64 `json:"timesecs"`
			} `json:"timestamp"`
			TestStart struct {
				Protocol   string  `json:"protocol"`
				NumStreams int     `json:"num_streams"`
				Duration   float64 `json:"duration"`
				Reverse    int     `json:"reverse"`
			} `json:"test_start"`
		} `json:"start"`
		Intervals []struct {
			Streams []map[string]any `json:"streams"`
			Sum     map[string]any   `json:"sum"`
		} `json:"intervals"`
		End struct {
			Streams []struct {
				Sender   map[string]any `json:"sender"`
				Receiver map[string]any `json:"receiver"`
			} `json:"streams"`
			SumSent     map[string]any `json:"sum_sent"`
			SumReceived map[string]any `json:"sum_received"`
			SenderCC    string         `json:"sender_tcp_congestion"`
		} `json:"end"`
		TJU map[string]any `json:"tju"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(j.Start.Connected) != n || j.Start.Connected[0].RemotePort == 0 || j.Start.Connected[0].LocalHost == "" ||
		j.Start.TestStart.NumStreams != n || j.Start.TestStart.Protocol == "" || j.Start.Timestamp.TimeSecs == 0 {
		t.Errorf("start: %+v", j.Start)
	}
	if len(j.Intervals) == 0 {
		t.Fatal("no intervals")
	}
	for _, iv := range j.Intervals {
		if len(iv.Streams) != n {
			t.Fatalf("interval with %d streams", len(iv.Streams))
		}
		for _, m := range append(iv.Streams, iv.Sum) {
			for _, k := range []string{"start", "end", "seconds", "bytes", "bits_per_second", "retransmits", "omitted", "sender"} {
				if _, ok := m[k]; !ok {
					t.Errorf("interval stream lacks %q: %v", k, m)
				}
			}
		}
		if _, ok := iv.Streams[0]["snd_cwnd"]; !ok {
			t.Errorf("interval stream lacks snd_cwnd: %v", iv.Streams[0])
		}
	}
	if len(j.End.Streams) != n {
		t.Errorf("end.streams has %d", len(j.End.Streams))
	}
	for name, m := range map[string]map[string]any{"sum_sent": j.End.SumSent, "sum_received": j.End.SumReceived} {
		for _, k := range []string{"start", "end", "seconds", "bytes", "bits_per_second", "sender"} {
			if _, ok := m[k]; !ok {
				t.Errorf("end.%s lacks %q: %v", name, k, m)
			}
		}
		if bps, _ := m["bits_per_second"].(float64); bps <= 0 {
			t.Errorf("end.%s.bits_per_second = %v", name, m["bits_per_second"])
		}
	}
	if _, ok := j.End.SumSent["retransmits"]; !ok {
		t.Errorf("end.sum_sent lacks retransmits: %v", j.End.SumSent)
	}
	if j.End.SenderCC == "" || j.TJU["mode"] != "throughput" {
		t.Errorf("end.sender_tcp_congestion %q, tju %v", j.End.SenderCC, j.TJU)
	}
}
