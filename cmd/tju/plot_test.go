package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tjunet/tjunet/trace"
	"github.com/tjunet/tjunet/trace/traceio"
)

// labClientTrace is written as the lab's C framework prints a client's trace:
// handshake, slow start, three duplicate ACKs and a fast retransmit,
// congestion avoidance, a timeout, and the close.
const labClientTrace = `[1663745643123456] [SEND] [seq:0 ack:0 flag:8 length:0]
[1663745643125012] [RECV] [seq:646 ack:1 flag:12 length:0]
[1663745643125100] [SEND] [seq:1 ack:647 flag:4 length:0]
[1663745643125200] [CWND] [type:0 size:1375]
[1663745643125210] [SWND] [size:1375]
[1663745643125300] [SEND] [seq:1 ack:0 flag:0 length:1375]
[1663745643146000] [RECV] [seq:647 ack:1376 flag:4 length:0]
[1663745643146010] [RTTS] [SampleRTT:20.700000 EstimatedRTT:20.700000 DeviationRTT:10.350000 TimeoutInterval:62.100000]
[1663745643146020] [RWND] [size:44000]
[1663745643146030] [CWND] [type:0 size:2750]
[1663745643146040] [SWND] [size:2750]
[1663745643146100] [SEND] [seq:1376 ack:0 flag:0 length:1375]
[1663745643146200] [SEND] [seq:2751 ack:0 flag:0 length:1375]
[1663745643167000] [RECV] [seq:647 ack:2751 flag:4 length:0]
[1663745643167010] [RTTS] [SampleRTT:21.000000 EstimatedRTT:20.737500 DeviationRTT:7.837500 TimeoutInterval:52.087500]
[1663745643167020] [CWND] [type:0 size:4125]
[1663745643167100] [SEND] [seq:4126 ack:0 flag:0 length:1375]
[1663745643167200] [SEND] [seq:5501 ack:0 flag:0 length:1375]
[1663745643168000] [RECV] [seq:647 ack:2751 flag:4 length:0]
[1663745643169000] [RECV] [seq:647 ack:2751 flag:4 length:0]
[1663745643170000] [RECV] [seq:647 ack:2751 flag:4 length:0]
[1663745643170010] [CWND] [type:2 size:6187]
[1663745643170100] [SEND] [seq:2751 ack:0 flag:0 length:1375]
[1663745643191000] [RECV] [seq:647 ack:6876 flag:4 length:0]
[1663745643191010] [CWND] [type:1 size:2062]
[1663745643191100] [SEND] [seq:6876 ack:0 flag:0 length:1375]
[1663745644300000] [CWND] [type:3 size:1375]
[1663745644300100] [SEND] [seq:6876 ack:0 flag:0 length:1375]
[1663745644321000] [RECV] [seq:647 ack:8251 flag:4 length:0]
[1663745644321100] [SEND] [seq:8251 ack:0 flag:2 length:0]
[1663745644342000] [RECV] [seq:647 ack:8252 flag:6 length:0]
[1663745644342100] [SEND] [seq:8252 ack:648 flag:4 length:0]
`

// labServerTrace is the other side, with CRLF line endings as a trace
// copied through Windows has them.
const labServerTrace = "[1663745643124000] [RECV] [seq:0 ack:0 flag:8 length:0]\r\n" +
	"[1663745643124100] [SEND] [seq:646 ack:1 flag:12 length:0]\r\n" +
	"[1663745643135300] [RECV] [seq:1 ack:0 flag:0 length:1375]\r\n" +
	"[1663745643135310] [DELV] [seq:1 size:1375]\r\n" +
	"[1663745643135320] [RWND] [size:44000]\r\n" +
	"[1663745643135330] [SEND] [seq:647 ack:1376 flag:4 length:0]\r\n" +
	"[1663745644135300] [RECV] [seq:1376 ack:0 flag:0 length:1375]\r\n" +
	"[1663745644135310] [DELV] [seq:1376 size:1375]\r\n" +
	"[1663745644135330] [SEND] [seq:647 ack:2751 flag:4 length:0]\r\n"

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runTju(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

func TestPlotLabTraces(t *testing.T) {
	dir := t.TempDir()
	client := writeFile(t, dir, "client.event.trace", labClientTrace)
	server := writeFile(t, dir, "server.event.trace", labServerTrace)
	out := filepath.Join(dir, "charts")
	code, stdout, stderr := runTju(t, "", "plot", "-o", out, client, server)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	files := strings.Fields(stdout)
	want := []string{}
	for _, c := range []string{"cwnd", "rwnd", "swnd", "windows", "rtt", "sequence"} {
		want = append(want, "client-"+c+".png", "client-"+c+".svg")
	}
	for _, c := range []string{"rwnd", "windows", "throughput", "sequence"} {
		want = append(want, "server-"+c+".png", "server-"+c+".svg")
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("printed %s, which does not exist: %v", f, err)
		}
		if fi.Size() == 0 || filepath.Dir(f) != out {
			t.Errorf("%s: %d bytes, in %s", f, fi.Size(), filepath.Dir(f))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("wrote %v\nwant %v", got, want)
	}
	f, err := os.Open(filepath.Join(out, "client-cwnd.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 960 || b.Dy() != 480 {
		t.Errorf("cwnd chart is %v, want 960x480", b)
	}
	// The skipped charts are named, and nothing else is complained of.
	for _, s := range []string{"client.event.trace: no throughput chart", "server.event.trace: no cwnd chart"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
	if strings.Contains(stderr, "malformed") {
		t.Errorf("lab traces reported as malformed:\n%s", stderr)
	}
}

func TestPlotReportsBadLinesAndPlotsTheRest(t *testing.T) {
	dir := t.TempDir()
	lines := strings.SplitAfter(labClientTrace, "\n")
	lines = slices.Insert(lines, 2, "[1663745643125050] [SEND] [seq:zero ack:0 flag:4 length:0]\n") // line 3
	lines = slices.Insert(lines, 5, "[1663745643125060] [LOSS] [seq:1]\n")                          // line 6: unknown event
	name := writeFile(t, dir, "client.event.trace", strings.Join(lines, ""))
	code, stdout, stderr := runTju(t, "", "plot", "-o", dir, "--format", "svg", name)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if want := name + ":3: malformed trace line: SEND seq \"zero\" is not an integer"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if !strings.Contains(stderr, "skipped 1 line with events unknown to the lab's format (LOSS)") {
		t.Errorf("unknown event not summarised:\n%s", stderr)
	}
	if strings.Contains(stderr, ":6:") {
		t.Errorf("unknown event reported as a bad line:\n%s", stderr)
	}
	if !strings.Contains(stdout, filepath.Join(dir, "client-cwnd.svg")) {
		t.Errorf("cwnd chart not written:\n%s", stdout)
	}
}

func TestPlotLimitsReportedBadLines(t *testing.T) {
	dir := t.TempDir()
	name := writeFile(t, dir, "x.trace", strings.Repeat("junk\n", 30)+"[1] [RWND] [size:5]\n")
	code, _, stderr := runTju(t, "", "plot", "-o", dir, "--format", "svg", "--max-errors", "3", name)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if n := strings.Count(stderr, "malformed"); n != 3 {
		t.Errorf("%d bad lines reported, want 3:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "27 more bad lines not shown (30 in all)") {
		t.Errorf("no count of the rest:\n%s", stderr)
	}
}

func TestPlotFailures(t *testing.T) {
	dir := t.TempDir()
	garbage := writeFile(t, dir, "garbage.trace", "not a trace\nat all\n")
	missing := filepath.Join(dir, "missing.event.trace")
	tests := []struct {
		name    string
		args    []string
		code    int
		mention string
	}{
		{"missing file", []string{"plot", "-o", dir, missing}, 1, "missing.event.trace: no such file"},
		{"nothing plottable", []string{"plot", "-o", dir, garbage}, 1, "no events to plot"},
		{"no arguments", []string{"plot"}, 2, "no trace file"},
		{"bad flag", []string{"plot", "--bogus", garbage}, 2, "bogus"},
		{"bad flag after the file", []string{"plot", garbage, "--bogus"}, 2, "bogus"},
		{"bad format", []string{"plot", "--format", "gif", garbage}, 2, "gif"},
		{"bad size", []string{"plot", "--width", "0", garbage}, 2, "--width"},
		{"too many pixels", []string{"plot", "--width", "90", "--dpi", "1000", garbage}, 2, "16384 pixels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runTju(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.mention) {
				t.Errorf("stderr lacks %q:\n%s", tt.mention, stderr)
			}
		})
	}
}

func TestPlotStdinFlagsAfterNamesAndDefaultDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, stdout, stderr := runTju(t, labServerTrace, "plot", "-", "--format", "png", "--title", "run 1")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	want := filepath.Join("tju-plots", "stdin-throughput.png")
	if !strings.Contains(stdout, want+"\n") || strings.Contains(stdout, ".svg") {
		t.Errorf("stdout:\n%s\nwant %s and no SVG", stdout, want)
	}
	if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
		t.Error(err)
	}
}

func TestPlotSameNamesDoNotOverwrite(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, t.TempDir(), "client.event.trace", labClientTrace)
	b := writeFile(t, t.TempDir(), "client.event.trace", labClientTrace)
	code, stdout, stderr := runTju(t, "", "plot", "-o", dir, "--format", "svg", a, b)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, f := range []string{"client-cwnd.svg", "client-2-cwnd.svg"} {
		if !strings.Contains(stdout, filepath.Join(dir, f)) {
			t.Errorf("%s not written:\n%s", f, stdout)
		}
	}
}

func TestPlotHelp(t *testing.T) {
	code, stdout, _ := runTju(t, "", "plot", "--help")
	if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "-format") {
		t.Errorf("exit %d, help:\n%s", code, stdout)
	}
}

// A trace written through traceio.Writer, as the transport writes it, plots
// like a lab one.
func TestPlotTraceWrittenByWriter(t *testing.T) {
	dir := t.TempDir()
	w, err := traceio.Create(dir, trace.RoleServer)
	if err != nil {
		t.Fatal(err)
	}
	now := int64(1663745643000000)
	for i := range 3000 {
		now += 700 // about 15 Mbit/s of 1375-byte segments
		seq := uint32(1 + i*1375)
		w.Trace(&trace.Event{Time: now, Kind: trace.KindRecv, Seq: seq, Length: 1375})
		w.Trace(&trace.Event{Time: now, Kind: trace.KindDelv, Seq: seq, Size: 1375})
		w.Trace(&trace.Event{Time: now, Kind: trace.KindRwnd, Size: 44000 - (i%8)*1375})
		w.Trace(&trace.Event{Time: now, Kind: trace.KindSend, Seq: 647, Ack: seq + 1375, Flags: trace.FlagACK})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, trace.FileName(trace.RoleServer))
	code, stdout, stderr := runTju(t, "", "plot", "-o", dir, "--format", "svg", name)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, c := range []string{"rwnd", "windows", "throughput", "sequence"} {
		if !strings.Contains(stdout, filepath.Join(dir, "server-"+c+".svg")) {
			t.Errorf("no %s chart:\n%s", c, stdout)
		}
	}
	if strings.Contains(stderr, "malformed") {
		t.Errorf("Writer's lines reported as malformed:\n%s", stderr)
	}
}
