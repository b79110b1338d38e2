package traceio

import (
	"bytes"
	"errors"
	"github.com/tjunet/tjunet/trace"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadLabTrace(t *testing.T) {
	name := filepath.Join("testdata", "lab_client.event.trace")
	events, errs, err := ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 0 {
		t.Fatalf("bad lines in a lab trace: %v", errs)
	}
	if len(events) != 33 {
		t.Fatalf("read %d events, want 33", len(events))
	}
	first := trace.Event{Time: 1663745643123456, Kind: trace.KindSend, Seq: 0, Ack: 0, Flags: trace.FlagSYN}
	if events[0] != first {
		t.Errorf("first event %+v, want %+v", events[0], first)
	}
	counts := map[trace.Kind]int{}
	for _, e := range events {
		counts[e.Kind]++
	}
	want := map[trace.Kind]int{trace.KindSend: 12, trace.KindRecv: 9, trace.KindCwnd: 6, trace.KindRwnd: 2, trace.KindSwnd: 2, trace.KindRtts: 2}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%d %v events, want %d", counts[k], k, n)
		}
	}
	// The file is written back byte for byte.
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for i := range events {
		out = events[i].Append(out)
	}
	if string(out) != string(raw) {
		t.Errorf("re-encoded trace differs from the lab file:\n%s", out)
	}
}

func TestReadReportsBadLinesAndGoesOn(t *testing.T) {
	in := "[1] [SEND] [seq:0 ack:0 flag:8 length:0]\r\n" + // 1
		"\r\n" + // 2: blank, ignored
		"garbage\r\n" + // 3
		"[2] [CWND] [type:0 size:1375]\n" + // 4
		"[3] [SPURIOUS] [x:1]\n" + // 5: unknown event
		"[4] [RWND] [size:]\n" + // 6
		"[5] [DELV] [seq:1 size:1375]" // 7: no final newline
	events, errs, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Errorf("read %d events, want 3: %+v", len(events), events)
	}
	wantLines := []int{3, 5, 6}
	if len(errs) != len(wantLines) {
		t.Fatalf("got %d line errors, want %d: %v", len(errs), len(wantLines), errs)
	}
	for i, le := range errs {
		if le.Line != wantLines[i] {
			t.Errorf("error %d on line %d, want %d: %v", i, le.Line, wantLines[i], le)
		}
		if !strings.HasPrefix(le.Error(), "line ") {
			t.Errorf("error without a file name: %q", le.Error())
		}
	}
	if !errs[1].Unknown() || errs[0].Unknown() || errs[2].Unknown() {
		t.Errorf("Unknown() wrong: %v %v %v", errs[0].Unknown(), errs[1].Unknown(), errs[2].Unknown())
	}
	if !errors.Is(errs[1], trace.ErrUnknownEvent) || !errors.Is(errs[0], trace.ErrSyntax) {
		t.Errorf("line errors do not unwrap: %v, %v", errs[0], errs[1])
	}
	if errs[0].Text != "garbage" {
		t.Errorf("Text = %q, want %q", errs[0].Text, "garbage")
	}
}

func TestReadFileNamesFileInErrors(t *testing.T) {
	name := filepath.Join(t.TempDir(), "server.event.trace")
	if err := os.WriteFile(name, []byte("[1] [RWND] [size:1]\n[2] [RWND] size\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, err := ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), name+":2: ") {
		t.Fatalf("errors %v, want one on %s:2", errs, name)
	}
	if _, _, err := ReadFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
}

func TestScannerLongLineAndSmallReads(t *testing.T) {
	long := "[1] [SEND] [seq:0 ack:0 flag:8 length:0 " + strings.Repeat("x", 200000) + "]\n"
	in := long + "[2] [SWND] [size:10]\n"
	sc := NewScanner(iotest.HalfReader(strings.NewReader(in)))
	var got []trace.Event
	var bad []*LineError
	sc.OnLineError = func(le *LineError) { bad = append(bad, le) }
	for sc.Scan() {
		got = append(got, sc.Event())
	}
	if sc.Err() != nil {
		t.Fatal(sc.Err())
	}
	if len(got) != 1 || got[0].Size != 10 || sc.Line() != 2 {
		t.Errorf("events %+v after %d lines", got, sc.Line())
	}
	if len(bad) != 1 || bad[0].Line != 1 || !strings.Contains(bad[0].Error(), "longer") || len(bad[0].Text) > 80 {
		t.Errorf("bad lines %v", bad)
	}
	if len(sc.LineErrors()) != 0 {
		t.Errorf("LineErrors kept with OnLineError set")
	}
}

func TestScannerReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("[1] [SWND] [size:10]\n[2] [SW"), iotest.ErrReader(boom))
	sc := NewScanner(r)
	sc.File = "x.trace"
	n := 0
	for sc.Scan() {
		n++
	}
	if n != 1 {
		t.Errorf("%d events before the error, want 1", n)
	}
	if !errors.Is(sc.Err(), boom) || !strings.Contains(sc.Err().Error(), "x.trace") {
		t.Errorf("Err() = %v", sc.Err())
	}
}

func FuzzRead(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "lab_client.event.trace"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte("[1] [SEND] [seq:0 ack:0 flag:8 length:0]\r\n\r\n[2] [FOO]\n[3"))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		events, errs, err := Read(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("Read of a byte slice failed: %v", err)
		}
		lines := bytes.Count(in, []byte("\n")) + 1
		if len(events)+len(errs) > lines {
			t.Fatalf("%d events and %d bad lines from %d lines", len(events), len(errs), lines)
		}
		prev := 0
		for _, le := range errs {
			if le.Line <= prev || le.Line > lines {
				t.Fatalf("bad line numbers: %v", errs)
			}
			prev = le.Line
		}
	})
}
