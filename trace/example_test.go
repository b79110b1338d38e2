package trace_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/tjunet/tjunet/trace"
)

func ExampleParseLine() {
	e, err := trace.ParseLine("[1663745643123456] [CWND] [type:0 size:2750]\r\n")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Kind, trace.CwndTypeName(e.Type), e.Size)

	_, err = trace.ParseLine("[1663745643123457] [LOSS] [seq:1]")
	fmt.Println(errors.Is(err, trace.ErrUnknownEvent))
	// Output:
	// CWND slow start 2750
	// true
}

func ExampleRead() {
	in := `[1663745643123456] [SEND] [seq:0 ack:0 flag:8 length:0]
[1663745643125012] [RECV] [seq:646 ack:1 flag:12 length:0]
[1663745643125100] [SEND seq:1]
[1663745643125200] [CWND] [type:0 size:1375]
`
	events, bad, err := trace.Read(strings.NewReader(in))
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range events {
		fmt.Println(e.String())
	}
	for _, le := range bad {
		fmt.Println("skipped", le)
	}
	// Output:
	// [1663745643123456] [SEND] [seq:0 ack:0 flag:8 length:0]
	// [1663745643125012] [RECV] [seq:646 ack:1 flag:12 length:0]
	// [1663745643125200] [CWND] [type:0 size:1375]
	// skipped line 3: malformed trace line: "SEND seq:1" is not an event name
}

func ExampleScanner() {
	sc := trace.NewScanner(strings.NewReader("[1] [DELV] [seq:1 size:1375]\n[2] [DELV] [seq:1376 size:1375]\n"))
	sc.File = "server.event.trace"
	total := 0
	for sc.Scan() {
		if e := sc.Event(); e.Kind == trace.KindDelv {
			total += e.Size
		}
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(total, "bytes delivered")
	// Output: 2750 bytes delivered
}

func ExampleWriter() {
	w := trace.NewWriter(os.Stdout)
	w.Trace(&trace.Event{Time: 1663745643123456, Kind: trace.KindSend, Seq: 1, Length: 1375})
	w.Trace(&trace.Event{Time: 1663745643146010, Kind: trace.KindRtts,
		SampleRTT: 20.7, EstimatedRTT: 20.7, DeviationRTT: 10.35, TimeoutInterval: 62.1})
	if err := w.Close(); err != nil { // flushes; does not close os.Stdout
		log.Fatal(err)
	}
	// Output:
	// [1663745643123456] [SEND] [seq:1 ack:0 flag:0 length:1375]
	// [1663745643146010] [RTTS] [SampleRTT:20.700000 EstimatedRTT:20.700000 DeviationRTT:10.350000 TimeoutInterval:62.100000]
}

func ExampleCreate() {
	dir, err := os.MkdirTemp("", "trace")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	w, err := trace.Create(dir, trace.RoleClient) // dir/client.event.trace
	if err != nil {
		log.Fatal(err)
	}
	w.Trace(&trace.Event{Time: 1663745643123456, Kind: trace.KindCwnd, Type: trace.CwndSlowStart, Size: 1375})
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	events, _, err := trace.ReadFile(filepath.Join(dir, trace.FileName(trace.RoleClient)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(events), events[0].Kind, events[0].Size)
	// Output: 1 CWND 1375
}

func ExampleRecorder() {
	var rec trace.Recorder
	w := trace.NewWriter(os.Stdout)
	tr := trace.Multi(&rec, w) // keep the events and write them out

	tr.Trace(&trace.Event{Time: 1663745643123456, Kind: trace.KindSsth, Size: 88000})
	tr.Trace(&trace.Event{Time: 1663745643123457, Kind: trace.KindRwnd, Size: 44000})
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(rec.Events()), "events recorded")
	// Output:
	// [1663745643123456] [SSTH] [size:88000]
	// [1663745643123457] [RWND] [size:44000]
	// 2 events recorded
}
