package plot

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tjunet/tjunet/trace"
)

// Events a broken or hostile trace can hold must not panic, exhaust memory
// or fail a chart.
func TestExtremeValuesDoNotBreakCharts(t *testing.T) {
	sets := [][]trace.Event{
		{
			{Time: math.MinInt64, Kind: trace.KindCwnd, Size: math.MaxInt},
			{Time: math.MaxInt64, Kind: trace.KindCwnd, Size: math.MinInt},
			{Time: 0, Kind: trace.KindRwnd, Size: math.MaxInt},
			{Time: 0, Kind: trace.KindSwnd, Size: math.MinInt},
			{Time: 5, Kind: trace.KindRtts, SampleRTT: math.MaxFloat64, EstimatedRTT: -math.MaxFloat64, TimeoutInterval: 1e300},
			{Time: 5, Kind: trace.KindDelv, Size: math.MaxInt},
			{Time: 6, Kind: trace.KindSend, Seq: 0, Length: math.MaxInt},
			{Time: 7, Kind: trace.KindSend, Seq: 1 << 31, Length: -5, Flags: 255},
			{Time: 7, Kind: trace.KindRecv, Seq: 1 << 31, Ack: 5, Length: 1, Flags: 255},
			{Time: 9, Kind: trace.KindSsth, Size: -1},
		},
		{ // everything at one instant
			{Time: 1, Kind: trace.KindCwnd, Size: 5},
			{Time: 1, Kind: trace.KindCwnd, Size: 5},
			{Time: 1, Kind: trace.KindDelv, Size: 5},
			{Time: 1, Kind: trace.KindSend, Length: 5},
		},
	}
	for i, events := range sets {
		for _, c := range Charts() {
			p, err := c.Plot(events, Options{})
			if err != nil {
				if !strings.Contains(err.Error(), "no events") {
					t.Errorf("set %d, %s: %v", i, c.Name, err)
				}
				continue
			}
			for _, f := range []string{"png", "svg"} {
				if err := Save(p, filepath.Join(t.TempDir(), c.Name+"."+f), Options{DPI: 20}); err != nil {
					t.Errorf("set %d, %s: %v", i, c.Name, err)
				}
			}
		}
	}
}

// A stray line stamped 0 before a real trace spans 53 years: the throughput
// bins widen instead of filling memory.
func TestThroughputBinsAreBounded(t *testing.T) {
	events := []trace.Event{
		{Time: 0, Kind: trace.KindDelv, Size: 5},
		{Time: 1663745643123456, Kind: trace.KindDelv, Size: 5},
	}
	_, width, bins, total, _ := prepare(events).throughputBins()
	if len(bins) > maxBins || width <= 1 || total != 10 {
		t.Errorf("%d bins of %v s, total %v", len(bins), width, total)
	}
	p, err := Throughput(events, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Title.Text, "s bins") || strings.Contains(p.Title.Text, " 1 s bins") {
		t.Errorf("title %q does not give the wider bins", p.Title.Text)
	}
}
