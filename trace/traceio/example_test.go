package traceio_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/tjunet/tjunet/trace"
	"github.com/tjunet/tjunet/trace/traceio"
)

func ExampleRead() {
	in := `[1663745643123456] [SEND] [seq:0 ack:0 flag:8 length:0]
[1663745643125012] [RECV] [seq:646 ack:1 flag:12 length:0]
[1663745643125100] [SEND seq:1]
[1663745643125200] [CWND] [type:0 size:1375]
`
	events, bad, err := traceio.Read(strings.NewReader(in))
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
	sc := traceio.NewScanner(strings.NewReader("[1] [DELV] [seq:1 size:1375]\n[2] [DELV] [seq:1376 size:1375]\n"))
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
	w := traceio.NewWriter(os.Stdout)
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

	w, err := traceio.Create(dir, trace.RoleClient) // dir/client.event.trace
	if err != nil {
		log.Fatal(err)
	}
	w.Trace(&trace.Event{Time: 1663745643123456, Kind: trace.KindCwnd, Type: trace.CwndSlowStart, Size: 1375})
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	events, _, err := traceio.ReadFile(filepath.Join(dir, trace.FileName(trace.RoleClient)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(events), events[0].Kind, events[0].Size)
	// Output: 1 CWND 1375
}
