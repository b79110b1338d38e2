package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/perf"
	"github.com/tjunet/tjunet/tjuprom"
)

// TestBenchJSONIsIperf3s runs "tju bench loopback -J" as iperf3 users
// would, with -P, -t and -i, and reads the output with iperf3's field
// names: start.connected and start.test_start, intervals[].streams and
// .sum, end.streams[].sender/.receiver, end.sum_sent and end.sum_received.
func TestBenchJSONIsIperf3s(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := runCmd(ctx, nil, "bench", "loopback", "-P", "2", "-t", "400ms", "-i", "100ms", "-J")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	var j map[string]any
	if err := json.Unmarshal(r.stdout.Bytes(), &j); err != nil {
		t.Fatalf("-J output does not parse: %v\n%s", err, r.stdout)
	}
	get := func(path string) any {
		var v any = j
		for _, k := range strings.Split(path, ".") {
			switch m := v.(type) {
			case map[string]any:
				v = m[k]
			case []any:
				i, _ := strconv.Atoi(k)
				if i >= len(m) {
					return nil
				}
				v = m[i]
			default:
				return nil
			}
		}
		return v
	}
	num := func(path string) float64 {
		f, ok := get(path).(float64)
		if !ok {
			t.Errorf("%s: %v, want a number", path, get(path))
		}
		return f
	}
	if n := num("start.test_start.num_streams"); n != 2 {
		t.Errorf("start.test_start.num_streams = %v", n)
	}
	if get("start.connected.1.remote_port") == nil || get("start.connected.0.local_host") == nil {
		t.Errorf("start.connected: %v", get("start.connected"))
	}
	ivs, _ := get("intervals").([]any)
	if len(ivs) < 2 {
		t.Fatalf("%d intervals in 400ms at 100ms each", len(ivs))
	}
	var sum float64
	for i := range ivs {
		p := "intervals." + strconv.Itoa(i)
		for _, f := range []string{"start", "end", "seconds", "bytes", "bits_per_second", "retransmits"} {
			num(p + ".sum." + f)
			num(p + ".streams.1." + f)
		}
		num(p + ".streams.0.snd_cwnd")
		num(p + ".streams.0.rtt")
		if s, _ := get(p + ".sum.sender").(bool); !s {
			t.Errorf("%s.sum.sender is not true for a client that sends", p)
		}
		sum += num(p + ".sum.bytes")
	}
	sent, received := num("end.sum_sent.bytes"), num("end.sum_received.bytes")
	if sent == 0 || sent != received || sum != sent {
		t.Errorf("end.sum_sent.bytes %v, end.sum_received.bytes %v, intervals add up to %v", sent, received, sum)
	}
	if num("end.sum_sent.bits_per_second") <= 0 || num("end.sum_sent.seconds") < 0.4 {
		t.Errorf("end.sum_sent: %v", get("end.sum_sent"))
	}
	num("end.sum_sent.retransmits")
	num("end.streams.1.sender.bytes")
	num("end.streams.1.receiver.bytes")
	if get("end.sender_tcp_congestion") != "bbr" || get("tju.mode") != "throughput" || get("tju.extensions") != true {
		t.Errorf("end.sender_tcp_congestion %v, tju %v", get("end.sender_tcp_congestion"), get("tju"))
	}
}

func TestBenchReverseAndBitrate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := runCmd(ctx, nil, "bench", "loopback", "-R", "-n", "1MiB", "-b", "40Mbit", "-J")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	var j perf.JSON
	if err := json.Unmarshal(r.stdout.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j.Start.TestStart.Reverse != 1 || j.End.SumReceived.Bytes != 1<<20 || j.End.SumSent.Bytes != 1<<20 || j.End.SumSent.Sender {
		t.Errorf("test_start %+v\nsum_sent %+v\nsum_received %+v", j.Start.TestStart, j.End.SumSent, j.End.SumReceived)
	}
	// 1 MiB at 40 Mbit/s takes at least 0.2 s: the limit held.
	if j.End.SumSent.Seconds < 0.2 {
		t.Errorf("1 MiB in %v s under a 40 Mbit/s limit", j.End.SumSent.Seconds)
	}
}

func TestBenchLoopbackLatencyJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := runCmd(ctx, nil, "bench", "loopback", "--mode", "latency", "--count", "300", "--msg-size", "100", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	var j perf.JSON
	if err := json.Unmarshal(r.stdout.Bytes(), &j); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	res := j.TJU.Latency
	if res == nil || j.TJU.Mode != "latency" {
		t.Fatalf("no tju.latency in:\n%s", r.stdout)
	}
	l := res.LatencyUS
	if res.Requests != 300 || res.MsgSize != 100 || res.RequestsPerSecond <= 0 {
		t.Errorf("requests %d of %d bytes, %v per second", res.Requests, res.MsgSize, res.RequestsPerSecond)
	}
	if !(0 < l.Min && l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max && l.Mean <= l.Max) {
		t.Errorf("latency percentiles out of order: %+v", l)
	}
}

func TestBenchServerAndClientWithMetrics(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	srvDone, srvErr := runAsync(sctx, "bench", "server", "--listen", "127.0.0.1:0",
		"--ready-file", ready, "--metrics", "127.0.0.1:0")
	addr := waitReadyFile(t, ready, srvDone)

	m := regexp.MustCompile(`metrics at .* and (http://\S+/debug/vars)`).FindStringSubmatch(srvErr.String())
	if m == nil {
		t.Fatalf("the server did not say where its metrics are:\n%s", srvErr)
	}
	vars := fetchVars(t, m[1])
	for _, k := range []string{"cmdline", "memstats", "tju.endpoint", "tju.conns"} {
		if _, ok := vars[k]; !ok {
			t.Errorf("/debug/vars lacks %q", k)
		}
	}

	c := runCmd(ctx, nil, "bench", "client", addr, "--size", "2MiB", "--stats", "50ms")
	if c.code != 0 {
		t.Fatalf("client exit %d:\n%s", c.code, c.stderr)
	}
	for _, w := range []string{"throughput to " + addr, "sender (bytes acknowledged)", "2.1 MB", "receiver", "retransmitted"} {
		if !strings.Contains(c.stdout.String(), w) {
			t.Errorf("client output lacks %q:\n%s", w, c.stdout)
		}
	}
	var ep tjuprom.EndpointJSON
	if err := json.Unmarshal(fetchVars(t, m[1])["tju.endpoint"], &ep); err != nil {
		t.Fatal(err)
	}
	if ep.DatagramsIn < 1000 || ep.ConnsOpened != 1 {
		t.Errorf("server endpoint after a 2 MiB test: %+v", ep)
	}
	stopServer() // Ctrl-C
	s := <-srvDone
	if s.code != 0 {
		t.Fatalf("server exit %d after Ctrl-C:\n%s", s.code, s.stderr)
	}
	if !strings.Contains(s.stdout.String(), "throughput test: received 2.1 MB") {
		t.Errorf("server output:\n%s", s.stdout)
	}
}

func TestBenchServerOnceLatency(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srvDone, _ := runAsync(ctx, "bench", "server", "--listen", "127.0.0.1:0", "--once", "--ready-file", ready)
	addr := waitReadyFile(t, ready, srvDone)
	c := runCmd(ctx, nil, "bench", "client", "--mode", "latency", "--time", "300ms", "--interval", "100ms", addr)
	if c.code != 0 {
		t.Fatalf("client exit %d:\n%s", c.code, c.stderr)
	}
	for _, w := range []string{"latency to " + addr, "64-byte requests", "req/s", "p99", "round trip: min"} {
		if !strings.Contains(c.stdout.String(), w) {
			t.Errorf("client output lacks %q:\n%s", w, c.stdout)
		}
	}
	s := <-srvDone // --once: the server ends by itself
	if s.code != 0 || !strings.Contains(s.stdout.String(), "latency test: echoed") {
		t.Fatalf("server exit %d:\n%s\n%s", s.code, s.stdout, s.stderr)
	}
}

// TestBenchServerBindsWithB: a server takes iperf3's -B for its address,
// HOST:PORT as given and a bare HOST on the lab's port 20218.
func TestBenchServerBindsWithB(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:0": "127.0.0.1:0", "10.0.0.1": "10.0.0.1:20218", "::1": "[::1]:20218", "[::1]": "[::1]:20218",
	} {
		if got := serverBindAddr(in); got != want {
			t.Errorf("serverBindAddr(%q) = %q, want %q", in, got, want)
		}
	}
	ready := filepath.Join(t.TempDir(), "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srvDone, _ := runAsync(ctx, "bench", "-s", "-B", "127.0.0.1:0", "--once", "--ready-file", ready)
	addr := waitReadyFile(t, ready, srvDone)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("the server listens at %s, want 127.0.0.1 as -B said", addr)
	}
	c := runCmd(ctx, nil, "bench", "-c", addr, "--size", "256KiB")
	if c.code != 0 {
		t.Fatalf("client exit %d:\n%s", c.code, c.stderr)
	}
	if s := <-srvDone; s.code != 0 {
		t.Fatalf("server exit %d:\n%s", s.code, s.stderr)
	}
}

func fetchVars(t *testing.T, url string) map[string]json.RawMessage {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var vars map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		t.Fatalf("/debug/vars is not JSON: %v", err)
	}
	return vars
}

func TestBenchStatsAndVerboseLogging(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := runCmd(ctx, nil, "bench", "loopback", "--time", "300ms", "--stats", "50ms", "-v", "--interval", "0")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	errOut := r.stderr.String()
	// Any state: on a loaded machine a lost SYN-ACK can leave the test's
	// 300 ms with no tick while ESTABLISHED.
	for _, w := range []string{"/1234 ", " rtt:", "cwnd:", "retrans:", "bytes_acked:", `msg="tju: state"`, "to=ESTABLISHED"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if n := strings.Count(r.stdout.String(), "0.00-"); n != 2 {
		t.Errorf("--interval 0: want only the two total lines, got %d lines of intervals:\n%s", n, r.stdout)
	}
}

func TestBenchClientAgainstRecvFailsClearly(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recvDone, _ := runAsync(ctx, "recv", "--listen", "127.0.0.1:0", "--ready-file", ready, "-o", filepath.Join(dir, "out"))
	addr := waitReadyFile(t, ready, recvDone)
	c := runCmd(ctx, nil, "bench", "client", addr, "--size", "64KiB")
	if c.code != 1 || !strings.Contains(c.stderr.String(), "is it a tju bench server?") {
		t.Fatalf("exit %d, want 1 and a clear message:\n%s", c.code, c.stderr)
	}
	<-recvDone
}

func TestBenchRejectsBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "say what to run"},
		{[]string{"sideways"}, `unknown bench role "sideways"`},
		{[]string{"client"}, "takes the server's address"},
		{[]string{"loopback", "--time", "1s", "--size", "1MiB"}, "not both"},
		{[]string{"loopback", "--mode", "jitter"}, `--mode "jitter"`},
		{[]string{"loopback", "--count", "5"}, "--count is for --mode latency"},
		{[]string{"loopback", "--mode", "latency", "--size", "1MiB"}, "--size is for --mode throughput"},
		{[]string{"loopback", "--mode", "latency", "--msg-size", "0"}, "--msg-size"},
		{[]string{"loopback", "--interval", "1ms"}, "--interval"},
		{[]string{"loopback", "--size", "lots"}, `tju bench: --size "lots": want`},
		{[]string{"server", "extra"}, "unexpected arguments"},
		{[]string{"-s", "-B", "127.0.0.1", "--listen", ":9"}, "want one address for the server"},
		{[]string{"client", "h:1/x"}, "the TJU port after the slash"},
	} {
		r := runCmd(context.Background(), nil, append([]string{"bench"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr.String(), tc.want) {
			t.Errorf("tju bench %q: exit %d, want 2 and %q in:\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
	h := runCmd(context.Background(), nil, "bench", "--help")
	for _, w := range []string{"tju bench server", "tju bench loopback", "Examples:", "-json", "-mode"} {
		if h.code != 0 || !strings.Contains(h.stdout.String(), w) {
			t.Errorf("bench --help (exit %d) lacks %q", h.code, w)
		}
	}
}
