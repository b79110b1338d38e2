package trace_test

import (
	"errors"
	"fmt"
	"log"

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

func ExampleRecorder() {
	var rec trace.Recorder
	tr := trace.Multi(&rec, printer{}) // keep the events and print them

	tr.Trace(&trace.Event{Time: 1663745643123456, Kind: trace.KindSsth, Size: 88000})
	tr.Trace(&trace.Event{Time: 1663745643123457, Kind: trace.KindRwnd, Size: 44000})
	fmt.Println(len(rec.Events()), "events recorded")
	// Output:
	// [1663745643123456] [SSTH] [size:88000]
	// [1663745643123457] [RWND] [size:44000]
	// 2 events recorded
}

// printer is a Tracer that prints each event as its trace line.
type printer struct{}

func (printer) Trace(e *trace.Event) { fmt.Println(e.String()) }
