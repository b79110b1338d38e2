package trace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	events := oneOfEachKind()
	for i := range events {
		w.Trace(&events[i])
	}
	if buf.Len() != 0 {
		t.Errorf("Writer wrote %d bytes before Flush", buf.Len())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, errs, err := Read(&buf)
	if err != nil || len(errs) != 0 {
		t.Fatalf("Read: %v %v", errs, err)
	}
	if len(got) != len(events) {
		t.Fatalf("read %d events, want %d", len(got), len(events))
	}
	for i := range got {
		if got[i] != events[i] {
			t.Errorf("event %d: got %+v, want %+v", i, got[i], events[i])
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	w.Trace(&events[0]) // dropped, no panic
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}

func TestWriterConcurrentWholeLines(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	const goroutines, each = 8, 5000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := Event{Kind: KindDelv, Seq: uint32(g)}
			for i := range each {
				e.Time = int64(i)
				e.Size = i
				w.Trace(&e)
				if i%1000 == 0 {
					if err := w.Flush(); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	events, errs, err := Read(&buf)
	if err != nil || len(errs) != 0 {
		t.Fatalf("interleaved lines: %v %v", errs, err)
	}
	if len(events) != goroutines*each {
		t.Fatalf("%d events, want %d", len(events), goroutines*each)
	}
	next := make([]int, goroutines)
	for _, e := range events {
		if e.Size != next[e.Seq] {
			t.Fatalf("goroutine %d: event %d after %d", e.Seq, e.Size, next[e.Seq]-1)
		}
		next[e.Seq]++
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, fmt.Errorf("disk full")
}

func TestWriterKeepsFirstError(t *testing.T) {
	fw := &failWriter{}
	w := NewWriter(fw)
	e := Event{Kind: KindRwnd, Size: 1}
	for range 20000 { // several buffers' worth
		w.Trace(&e)
	}
	if err := w.Err(); err == nil {
		t.Fatal("no error after a failed write")
	}
	if fw.n != 1 {
		t.Errorf("%d writes after the first failure, want none", fw.n-1)
	}
	if err := w.Close(); err == nil {
		t.Error("Close returned nil after a write error")
	}
}

func TestCreateUsesLabFileNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run1")
	for _, role := range []string{RoleClient, RoleServer} {
		w, err := Create(dir, role)
		if err != nil {
			t.Fatal(err)
		}
		w.Trace(&Event{Time: 7, Kind: KindSwnd, Size: 1375})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, role+".event.trace"))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != "[7] [SWND] [size:1375]\n" {
			t.Errorf("%s trace = %q", role, b)
		}
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if _, err := Create(dir, bad); err == nil {
			t.Errorf("Create(%q) succeeded", bad)
		}
	}
}

func TestRecorderAndMulti(t *testing.T) {
	var r1, r2 Recorder
	tr := Multi(&r1, nil, &r2)
	e := Event{Kind: KindCwnd, Size: 1}
	tr.Trace(&e)
	e.Size = 2 // the recorder copied the first
	tr.Trace(&e)
	for _, r := range []*Recorder{&r1, &r2} {
		got := r.Events()
		if len(got) != 2 || got[0].Size != 1 || got[1].Size != 2 {
			t.Errorf("recorded %+v", got)
		}
	}
}

func TestWriterTraceDoesNotAllocate(t *testing.T) {
	w := NewWriter(io.Discard)
	e := Event{Time: 1663745643146010, Kind: KindRtts, SampleRTT: 20.7, EstimatedRTT: 20.7, DeviationRTT: 10.35, TimeoutInterval: 62.1}
	if n := testing.AllocsPerRun(10000, func() { w.Trace(&e) }); n != 0 {
		t.Errorf("Trace allocates %v times per event", n)
	}
}

func BenchmarkWriterTrace(b *testing.B) {
	events := oneOfEachKind()
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.Trace(&events[i%len(events)])
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkWriterTraceParallel(b *testing.B) {
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := Event{Time: 1663745643125300, Kind: KindSend, Seq: 123456, Flags: FlagACK, Length: 1375}
		for pb.Next() {
			w.Trace(&e)
		}
	})
}

func BenchmarkParseLine(b *testing.B) {
	var lines []string
	for _, e := range oneOfEachKind() {
		lines = append(lines, e.String())
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ParseLine(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	var buf []byte
	events := oneOfEachKind()
	for i := range 10000 {
		buf = events[i%len(events)].Append(buf)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, errs, err := Read(bytes.NewReader(buf)); err != nil || len(errs) != 0 {
			b.Fatal(errs, err)
		}
	}
}
