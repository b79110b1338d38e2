package plot_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/tjunet/tjunet/plot"
	"github.com/tjunet/tjunet/trace/traceio"
)

// A few seconds of a lab client's trace: slow start, then a timeout.
const labTrace = `[1663745643123456] [SEND] [seq:0 ack:0 flag:8 length:0]
[1663745643125012] [RECV] [seq:646 ack:1 flag:12 length:0]
[1663745643125200] [CWND] [type:0 size:1375]
[1663745643125300] [SEND] [seq:1 ack:0 flag:0 length:1375]
[1663745643146000] [RECV] [seq:647 ack:1376 flag:4 length:0]
[1663745643146010] [RTTS] [SampleRTT:20.700000 EstimatedRTT:20.700000 DeviationRTT:10.350000 TimeoutInterval:62.100000]
[1663745643146030] [CWND] [type:0 size:2750]
[1663745643146100] [SEND] [seq:1376 ack:0 flag:0 length:1375]
[1663745643146200] [SEND] [seq:2751 ack:0 flag:0 length:1375]
[1663745644300000] [CWND] [type:3 size:1375]
[1663745644300100] [SEND] [seq:1376 ack:0 flag:0 length:1375]
[1663745644321000] [RECV] [seq:647 ack:4126 flag:4 length:0]
`

func ExampleWriteAll() {
	events, _, err := traceio.Read(strings.NewReader(labTrace))
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "plots")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	rep, err := plot.WriteAll(events, dir, "client", plot.Options{Title: "client", Formats: []string{"svg"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range rep.Files {
		fmt.Println("wrote", filepath.Base(f))
	}
	for _, s := range rep.Skipped {
		fmt.Println("skipped", s.Chart)
	}
	// Output:
	// wrote client-cwnd.svg
	// wrote client-windows.svg
	// wrote client-rtt.svg
	// wrote client-sequence.svg
	// skipped rwnd
	// skipped swnd
	// skipped throughput
}

func ExampleCwnd() {
	events, _, err := traceio.Read(strings.NewReader(labTrace))
	if err != nil {
		log.Fatal(err)
	}
	p, err := plot.Cwnd(events, plot.Options{})
	if err != nil {
		log.Fatal(err)
	}
	p.Title.Text = "my congestion window" // a gonum.org/v1/plot Plot: change at will

	dir, err := os.MkdirTemp("", "plots")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := plot.Save(p, filepath.Join(dir, "cwnd.svg"), plot.Options{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("saved")
	// Output: saved
}

func ExampleCharts() {
	for _, c := range plot.Charts() {
		fmt.Println(c.Name)
	}
	// Output:
	// cwnd
	// rwnd
	// swnd
	// windows
	// rtt
	// throughput
	// sequence
}
