package linkbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/tju"
)

func TestParseLinks(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // names, in order
	}{
		{"all", "abcd"},
		{"ALL", "abcd"},
		{"a", "a"},
		{"d,a", "da"},
		{" b , c ", "bc"},
		{"a,a,b", "ab"},
	} {
		ls, err := ParseLinks(tc.in)
		var got string
		for _, l := range ls {
			got += l.Name
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseLinks(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "e", "a,", "a;b", "allx"} {
		if _, err := ParseLinks(bad); err == nil || !strings.Contains(err.Error(), "want a, b, c, d or all") {
			t.Errorf("ParseLinks(%q): error %v, want one naming the links", bad, err)
		}
	}
}

// TestPresetsAreTheIssues pins the presets to issue 13's table: a
// 100 Mbit/s bottleneck with a queue of one BDP.
func TestPresetsAreTheIssues(t *testing.T) {
	want := map[string]Link{
		"a": {Rate: 100e6, QueueBytes: 500_000, Delay: 20 * time.Millisecond, Duration: 20 * time.Second},
		"b": {Rate: 100e6, QueueBytes: 500_000, Delay: 20 * time.Millisecond, Loss: 0.01, Duration: 20 * time.Second},
		"c": {Rate: 100e6, QueueBytes: 500_000, Delay: 20 * time.Millisecond, Loss: 0.05, Duration: 20 * time.Second},
		"d": {Rate: 100e6, QueueBytes: 7_500_000, Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, Loss: 0.10, Duration: 90 * time.Second},
	}
	if len(Links) != len(want) {
		t.Fatalf("%d presets, want %d", len(Links), len(want))
	}
	for _, l := range Links {
		w := want[l.Name]
		w.Name = l.Name
		if l != w {
			t.Errorf("link %s = %+v, want %+v", l.Name, l, w)
		}
		// One BDP: the rate times the round trip (without jitter), within 10%.
		bdp := float64(l.Rate) / 8 * (2 * l.Delay).Seconds()
		if q := float64(l.QueueBytes); math.Abs(q-bdp)/bdp > 0.30 {
			t.Errorf("link %s: queue %v bytes is not about one BDP (%v)", l.Name, q, bdp)
		}
	}
	if got := Links[3].String(); got != "d: 100 Mbit/s, 300 ± 50 ms one way, 10% loss each way, queue 7.5 MB, 90 s" {
		t.Errorf("link d reads %q", got)
	}
	if got := Links[0].String(); got != "a: 100 Mbit/s, 20 ms one way, no loss, queue 0.5 MB, 20 s" {
		t.Errorf("link a reads %q", got)
	}
}

func TestParseTransports(t *testing.T) {
	ts, err := ParseTransports("tju, tju-cubic,TCP-BBR,tcp-cubic,tju")
	if err != nil {
		t.Fatal(err)
	}
	want := []Transport{{Name: "tju"}, {Name: "tju-cubic", CC: "cubic"}, {Name: "tcp-bbr", Kernel: true, CC: "bbr"}, {Name: "tcp-cubic", Kernel: true, CC: "cubic"}}
	if len(ts) != len(want) {
		t.Fatalf("got %+v, want %+v", ts, want)
	}
	for i := range want {
		if ts[i] != want[i] {
			t.Errorf("transport %d = %+v, want %+v", i, ts[i], want[i])
		}
	}
	for _, bad := range []string{"", "quic", "tju-vegas", "tcp-", "tcp-a/b", "tju,"} {
		if _, err := ParseTransports(bad); err == nil {
			t.Errorf("ParseTransports(%q) accepted it", bad)
		}
	}
	if got := (Transport{Name: "tcp-bbr", Kernel: true, CC: "bbr"}).String(); got != "kernel TCP bbr" {
		t.Errorf("tcp-bbr reads %q", got)
	}
	if got := (Transport{Name: "tju"}).String(); !strings.HasPrefix(got, "tju (nil Config: ") {
		t.Errorf("tju reads %q", got)
	}
	if got := (Transport{Name: "tju-reno", CC: "reno"}).String(); got != "tju reno" {
		t.Errorf("tju-reno reads %q", got)
	}
	for _, d := range DefaultTransports {
		if p, err := ParseTransport(d.Name); err != nil || p != d {
			t.Errorf("default transport %+v parses as %+v, %v", d, p, err)
		}
	}
}

func TestJain(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{50, 50}, 1},
		{[]float64{100, 0}, 0.5},
		{[]float64{30, 10}, 0.8}, // 40^2 / (2 * 1000)
		{[]float64{1, 1, 1, 0}, 0.75},
		{nil, 0},
		{[]float64{0, 0}, 0},
	} {
		if got := Jain(tc.xs...); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Jain(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

// sample is a report as a bench of two links, two seeds and two
// transports, one run failed, and a fairness run would make it.
func sample() *Report {
	runs := []Run{
		{Link: "a", Transport: "tju", Seed: 1, Seconds: 20, Bytes: 237_500_000, GoodputMbps: 95, CeilingMbps: 95.5, Retransmits: 10, SegmentsSent: 1000, SRTTMs: 41, QueueDelayMs: 1, QueueDropPct: 0.1, Verified: true},
		{Link: "a", Transport: "tcp-bbr", Seed: 1, Seconds: 20, Bytes: 235_000_000, GoodputMbps: 94, Retransmits: 30, SegmentsSent: 1000, SRTTMs: 45, QueueDelayMs: 4, QueueDropPct: 0.5, Verified: true},
		{Link: "a", Transport: "tju", Seed: 2, Seconds: 20, Bytes: 232_500_000, GoodputMbps: 93, CeilingMbps: 95.7, Retransmits: 20, SegmentsSent: 1000, SRTTMs: 43, QueueDelayMs: 3, QueueDropPct: 0.3, Verified: true},
		{Link: "a", Transport: "tcp-bbr", Seed: 2, Error: "listening on the server: boom"},
		{Link: "d", Transport: "tju", Seed: 1, Seconds: 90, Bytes: 450_000_000, GoodputMbps: 40, Retransmits: 5000, SegmentsSent: 50000, SRTTMs: 700, QueueDelayMs: 90, QueueDropPct: 0.2, HostDrops: 7, LagMs: 0.05, MaxLagMs: 3, Verified: true},
	}
	return &Report{
		Start: time.Date(2026, 12, 2, 15, 45, 0, 0, time.UTC), Elapsed: 1500, Load: "0.10 0.20 0.30", Kernel: "6.18",
		Links: []LinkJSON{linkJSON(Links[0]), linkJSON(Links[3])},
		Runs:  runs,
		Fairness: []Fairness{{Name: "tju vs tcp-cubic", Link: "a", Seed: 1, DelayS: 2, WindowS: 10, Jain: Jain(60, 35),
			Flows: []FlowShare{{Transport: "tju", GoodputMbps: 60, Share: 60.0 / 95}, {Transport: "tcp-cubic", GoodputMbps: 35, Share: 35.0 / 95}}}},
		Summary: Summarize(runs),
	}
}

func TestSummarize(t *testing.T) {
	s := sample().Summary
	if len(s) != 3 {
		t.Fatalf("%d rows, want 3: %+v", len(s), s)
	}
	tju := s[0]
	if tju.Link != "a" || tju.Transport != "tju" || tju.Runs != 2 || tju.Failed != 0 ||
		tju.GoodputMbps != 94 || tju.GoodputMin != 93 || tju.GoodputMax != 95 ||
		tju.Retransmits != 15 || tju.RetransmitPct != 1.5 || tju.QueueDelayMs != 2 || math.Abs(tju.QueueDropPct-0.2) > 1e-9 || tju.SRTTMs != 42 {
		t.Errorf("link a, tju: %+v", tju)
	}
	bbr := s[1]
	if bbr.Transport != "tcp-bbr" || bbr.Runs != 1 || bbr.Failed != 1 || bbr.GoodputMbps != 94 || bbr.GoodputMin != 94 {
		t.Errorf("link a, tcp-bbr (one run failed): %+v", bbr)
	}
	if s[2].Link != "d" || s[2].Runs != 1 || s[2].RetransmitPct != 10 {
		t.Errorf("link d: %+v", s[2])
	}
}

var tjuDefault = tju.DefaultCongestionControl(false)

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"link a: 100 Mbit/s, 20 ms one way, no loss, queue 0.5 MB, 20 s; seeds 1, 2\n",
		"link d: 100 Mbit/s, 300 ± 50 ms one way, 10% loss each way, queue 7.5 MB, 90 s; seeds 1\n",
		"goodput Mbit/s",
		"kernel TCP bbr",
		"fairness on link a, seed 1: the second flow starts 2 s after the first; shares over the 10 s after that",
		"tju vs tcp-cubic: flow 1 tju 60.0 Mbit/s (63.2%), flow 2 tcp-cubic 35.0 Mbit/s (36.8%); Jain's index 0.935",
		"link a, tcp-bbr, seed 2: listening on the server: boom",
		"emulator lag (its own delay for a packet's due time): worst run's mean 0.050 ms, worst packet 3.0 ms\n",
		"dropped before the emulator (its TUN queue; the machine was too busy): link d tju seed 1: 7\n",
		"2026-12-02 15:45 UTC, kernel 6.18, load 0.10 0.20 0.30; 1500 s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the text lacks %q:\n%s", want, out)
		}
	}
	rows := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		rows[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, want := range []string{
		"transport goodput Mbit/s range ceiling retransmits queue drops srtt",
		"tju (nil Config: " + tjuDefault + ") 94.0 93.0-95.0 95.6 15 (1.50%) 2.0 ms 0.20% 42.0 ms",
		"kernel TCP bbr 94.0 - - 30 (3.00%) 4.0 ms 0.50% 45.0 ms",
		"tju (nil Config: " + tjuDefault + ") 40.0 - - 5000 (10.00%) 90.0 ms 0.20% 700.0 ms",
	} {
		if !rows[want] {
			t.Errorf("no row %q in\n%s", want, out)
		}
	}
	// The rows of a table line up: every row of link a's table is as
	// long as its header.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "link a:") {
			head := len([]rune(lines[i+1]))
			for _, row := range lines[i+2 : i+4] {
				if len([]rune(row)) != head {
					t.Errorf("row %q is %d wide, the header %d", row, len([]rune(row)), head)
				}
			}
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	checkJSONFields(t, b.Bytes())
	if !strings.Contains(b.String(), `"jain": 0.935`) || !strings.Contains(b.String(), `"error": "listening on the server: boom"`) {
		t.Errorf("the JSON lacks the fairness index or the failed run's error:\n%s", b.String())
	}
}

func TestFailed(t *testing.T) {
	r := sample()
	if err := r.Failed(); err == nil || !strings.Contains(err.Error(), "1 of 6 runs") {
		t.Errorf("Failed() = %v, want 1 of 6 runs", err)
	}
	r.Runs = r.Runs[:3]
	if err := r.Failed(); err != nil {
		t.Errorf("Failed() = %v, want nil", err)
	}
	r.Fairness[0].Error = "flow 2: " + errors.New("reset").Error()
	if err := r.Failed(); err == nil {
		t.Error("a failed fairness run is no failure")
	}
}

// checkJSONFields checks that a report's JSON has the fields the command
// documents, with values of the right kind.
func checkJSONFields(t *testing.T, b []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the JSON does not parse: %v\n%s", err, b)
	}
	for _, k := range []string{"start", "load", "kernel", "links", "runs", "summary"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON: no %q", k)
		}
	}
	runs, _ := doc["runs"].([]any)
	if len(runs) == 0 {
		t.Fatal("JSON: no runs")
	}
	for _, r := range runs {
		m, _ := r.(map[string]any)
		for _, k := range []string{"link", "transport", "seed", "seconds", "bytes", "goodput_mbps", "retransmits",
			"segments_sent", "srtt_ms", "min_rtt_ms", "queue_delay_ms", "queue_drop_pct", "host_drops", "verified", "total_bytes", "elapsed_s", "drain_s", "mss", "packet_bytes", "ceiling_mbps", "emulator_lag_ms", "emulator_max_lag_ms"} {
			if _, ok := m[k]; !ok {
				t.Errorf("JSON run: no %q in %v", k, m)
			}
		}
		if _, ok := m["goodput_mbps"].(float64); !ok {
			t.Errorf("JSON run: goodput_mbps is %T", m["goodput_mbps"])
		}
	}
	sum, _ := doc["summary"].([]any)
	for _, r := range sum {
		m, _ := r.(map[string]any)
		for _, k := range []string{"link", "transport", "runs", "goodput_mbps", "goodput_min_mbps", "goodput_max_mbps",
			"retransmits", "retransmit_pct", "queue_delay_ms", "queue_drop_pct", "srtt_ms", "ceiling_mbps"} {
			if _, ok := m[k]; !ok {
				t.Errorf("JSON summary: no %q in %v", k, m)
			}
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| link | transport | goodput Mbit/s | range | ceiling | retransmits | mean queue | queue drops | srtt |\n|---|",
		"| a | tju (nil Config: " + tjuDefault + ") | 94.0 | 93.0-95.0 | 95.6 | 15 (1.50%) | 2.0 ms | 0.20% | 42.0 ms |\n",
		"| a | kernel TCP bbr | 94.0 | - | - | 30 (3.00%) | 4.0 ms | 0.50% | 45.0 ms |\n",
		"| d | tju (nil Config: " + tjuDefault + ") | 40.0 | - | - | 5000 (10.00%) | 90.0 ms | 0.20% | 700.0 ms |\n",
		"Link a, seed 1; the second flow starts 2 s after the first; goodput over the 10 s after that:",
		"| tju vs tcp-cubic | tju 60.0 Mbit/s (63.2%) | tcp-cubic 35.0 Mbit/s (36.8%) | 0.935 | 0.0 ms | 0.00% |\n",
		"1 of 6 runs failed or were not verified (see above): link a tcp-bbr seed 2: listening on the server: boom;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestReadReport(t *testing.T) {
	dir := t.TempDir()
	name := dir + "/r.json"
	var b bytes.Buffer
	want := sample()
	want.WriteJSON(&b)
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReport(name)
	if err != nil {
		t.Fatal(err)
	}
	var w1, w2 bytes.Buffer
	want.WriteMarkdown(&w1)
	got.WriteMarkdown(&w2)
	if w1.String() != w2.String() {
		t.Errorf("read back, the report prints\n%s\nnot\n%s", w2.String(), w1.String())
	}
	os.WriteFile(dir+"/bad.json", []byte(`{"runs": []}`), 0o644)
	if _, err := ReadReport(dir + "/bad.json"); err == nil {
		t.Error("a JSON document with no links read as a report")
	}
	if _, err := ReadReport(dir + "/none.json"); err == nil {
		t.Error("a missing file read as a report")
	}
}
