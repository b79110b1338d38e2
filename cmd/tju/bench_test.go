package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestBenchLoopbackThroughputJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := runCmd(ctx, nil, "bench", "loopback", "--time", "400ms", "--interval", "100ms", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	var res throughputResult
	if err := json.Unmarshal(r.stdout.Bytes(), &res); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	if res.Mode != "throughput" || res.CC != "reno" || !res.Extensions {
		t.Errorf("mode %q, cc %q, extensions %v", res.Mode, res.CC, res.Extensions)
	}
	e := res.End
	if e.Bytes == 0 || e.ReceiverBytes != e.Bytes || e.BitsPerSec <= 0 || e.Seconds < 0.4 {
		t.Errorf("end: %+v", e)
	}
	if len(res.Intervals) < 2 {
		t.Fatalf("%d intervals in 400ms at 100ms each", len(res.Intervals))
	}
	var sum uint64
	for i, iv := range res.Intervals {
		sum += iv.Bytes
		if iv.End <= iv.Start || (i > 0 && iv.Start != res.Intervals[i-1].End) {
			t.Errorf("interval %d: %v-%v does not follow the one before", i, iv.Start, iv.End)
		}
	}
	if sum != e.Bytes+benchHeaderLen {
		t.Errorf("intervals add up to %d bytes, the total is %d (+%d of header)", sum, e.Bytes, benchHeaderLen)
	}
}

func TestBenchLoopbackLatencyJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := runCmd(ctx, nil, "bench", "loopback", "--mode", "latency", "--count", "300", "--msg-size", "100", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	var res latencyResult
	if err := json.Unmarshal(r.stdout.Bytes(), &res); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	l := res.LatencyUS
	if res.Requests != 300 || res.MsgSize != 100 || res.PerSecond <= 0 {
		t.Errorf("requests %d of %d bytes, %v per second", res.Requests, res.MsgSize, res.PerSecond)
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

	m := regexp.MustCompile(`metrics at (http://\S+/debug/vars)`).FindStringSubmatch(srvErr.String())
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
	for _, w := range []string{"throughput to " + addr, "sender (bytes acknowledged)", "2.0 MiB", "receiver", "retransmitted"} {
		if !strings.Contains(c.stdout.String(), w) {
			t.Errorf("client output lacks %q:\n%s", w, c.stdout)
		}
	}
	var ep endpointStatsJSON
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
	if !strings.Contains(s.stdout.String(), "throughput test: received 2.0 MiB") {
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
	for _, w := range []string{"ESTABLISHED rtt:", "cwnd:", "retrans:", "bytes_acked:", `msg="tju: state"`, "to=ESTABLISHED"} {
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
