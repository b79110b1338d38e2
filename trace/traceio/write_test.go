package traceio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tjunet/tjunet/trace"
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
			e := trace.Event{Kind: trace.KindDelv, Seq: uint32(g)}
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
	e := trace.Event{Kind: trace.KindRwnd, Size: 1}
	for range 20000 { // several buffers' worth
		w.Trace(&e)
	}
	if err := w.Flush(); err == nil {
		t.Fatal("Flush returned nil after a failed write")
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
	for _, role := range []string{trace.RoleClient, trace.RoleServer} {
		w, err := Create(dir, role)
		if err != nil {
			t.Fatal(err)
		}
		w.Trace(&trace.Event{Time: 7, Kind: trace.KindSwnd, Size: 1375})
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

func TestWriterTraceDoesNotAllocate(t *testing.T) {
	w := NewWriter(io.Discard)
	defer w.Close()
	e := trace.Event{Time: 1663745643146010, Kind: trace.KindRtts, SampleRTT: 20.7, EstimatedRTT: 20.7, DeviationRTT: 10.35, TimeoutInterval: 62.1}
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
	defer w.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := trace.Event{Time: 1663745643125300, Kind: trace.KindSend, Seq: 123456, Flags: trace.FlagACK, Length: 1375}
		for pb.Next() {
			w.Trace(&e)
		}
	})
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

// oneOfEachKind is an event of every kind, as in package trace's tests.
func oneOfEachKind() []trace.Event {
	return []trace.Event{
		{Time: 1663745643123456, Kind: trace.KindSend, Seq: 4294967295, Ack: 17, Flags: trace.FlagSYN | trace.FlagACK, Length: 1375},
		{Time: 1663745643123457, Kind: trace.KindRecv, Seq: 646, Ack: 1, Flags: trace.FlagACK, Length: 0},
		{Time: 1663745643123458, Kind: trace.KindCwnd, Type: trace.CwndFastRetransmit, Size: 6187},
		{Time: 1663745643123459, Kind: trace.KindRwnd, Size: 44000},
		{Time: 1663745643123460, Kind: trace.KindSwnd, Size: 2750},
		{Time: 1663745643123461, Kind: trace.KindRtts, SampleRTT: 20.5, EstimatedRTT: 20.0625, DeviationRTT: 3.25, TimeoutInterval: 1000},
		{Time: 1663745643123462, Kind: trace.KindDelv, Seq: 2147483648, Size: 10000},
		{Time: 1663745643123463, Kind: trace.KindSsth, Size: 65535},
	}
}

// blockedWriter blocks every Write until release is closed.
type blockedWriter struct {
	entered chan struct{} // receives once per Write
	release chan struct{}
	buf     bytes.Buffer
}

func (b *blockedWriter) Write(p []byte) (int, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.buf.Write(p)
}

// TestWriterTraceDoesNotWaitForTheWriter holds the io.Writer blocked while
// many blocks' worth of events are traced: Trace must keep returning (were
// it writing synchronously, the test would hang), and every line must come
// out, in order, once the writer moves again.
func TestWriterTraceDoesNotWaitForTheWriter(t *testing.T) {
	bw := &blockedWriter{entered: make(chan struct{}, 1000), release: make(chan struct{})}
	w := NewWriter(bw)
	const n = 50000 // about 20 blocks
	for i := range n {
		w.Trace(&trace.Event{Time: int64(i), Kind: trace.KindRwnd, Size: i})
	}
	<-bw.entered // the goroutine is inside Write, blocked
	close(bw.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	events, errs, err := Read(&bw.buf)
	if err != nil || len(errs) != 0 {
		t.Fatalf("Read: %v %v", errs, err)
	}
	if len(events) != n {
		t.Fatalf("%d events written, want %d", len(events), n)
	}
	for i, e := range events {
		if e.Size != i {
			t.Fatalf("event %d has size %d: out of order", i, e.Size)
		}
	}
}

// TestWriterDropsAndCountsWhenFarBehind fills the memory bound while the
// io.Writer is blocked: the excess is counted, not kept, and what is kept
// is whole lines.
func TestWriterDropsAndCountsWhenFarBehind(t *testing.T) {
	bw := &blockedWriter{entered: make(chan struct{}, 1000), release: make(chan struct{})}
	w := NewWriter(bw)
	w.limit = 1 << 20
	e := trace.Event{Time: 1663745643123456, Kind: trace.KindSend, Seq: 123456, Ack: 654321, Flags: trace.FlagACK, Length: 1375}
	line := len(e.Append(nil))
	n := 2*w.limit/line + 1000
	for range n {
		w.Trace(&e)
	}
	close(bw.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Dropped() == 0 {
		t.Fatalf("nothing dropped after %d bytes of events against a blocked writer", n*line)
	}
	events, errs, err := Read(&bw.buf)
	if err != nil || len(errs) != 0 {
		t.Fatalf("Read: %v %v", len(errs), err)
	}
	if got := uint64(len(events)) + w.Dropped(); got != uint64(n) {
		t.Fatalf("%d written + %d dropped = %d, want %d", len(events), w.Dropped(), got, n)
	}
}
