package linkbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/labnet"
)

// TestBenchInNamespaces runs a short bench (links a and b, 3 s each, the
// default transports, and the fairness runs) through the real emulator
// between two namespaces, and checks that it measured what it says:
// every transport moved bytes the receiver verified, the RTT is at least
// the emulated one, the lossy link made every sender retransmit, and the
// JSON has the documented fields. It asserts no speed: the machine may be
// busy.
func TestBenchInNamespaces(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("skipping: the bench needs root, network namespaces and TUN devices: %v", err)
	}
	if testing.Short() {
		t.Skip("skipping in -short: a dozen seconds of traffic")
	}
	links, _ := ParseLinks("a,b")
	id := fmt.Sprintf("lt%d", os.Getpid()%100000)
	o := Options{Links: links, Duration: 3 * time.Second, Fairness: true,
		FairnessDelay: time.Second, FairnessWindow: 2 * time.Second, ID: id,
		Progress: func(r Run) { t.Logf("%+v", r) }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Bench(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if left := labnet.Leftovers(id); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
	if len(rep.Runs) != 2*len(DefaultTransports) {
		t.Fatalf("%d runs, want %d", len(rep.Runs), 2*len(DefaultTransports))
	}
	for _, r := range rep.Runs {
		name := r.Link + "/" + r.Transport
		if !r.Verified || r.Error != "" || r.Bytes <= 0 || r.TotalBytes < r.Bytes || r.GoodputMbps <= 0 {
			t.Errorf("%s: verified %v, %d bytes in the window of %d, %.1f Mbit/s, error %q", name, r.Verified, r.Bytes, r.TotalBytes, r.GoodputMbps, r.Error)
		}
		if r.MSS < 1000 || r.MSS > 1500 || r.PacketBytes > 0 && (r.PacketBytes <= float64(r.MSS) || r.CeilingMbps <= 90 || r.CeilingMbps >= 100) {
			t.Errorf("%s: MSS %d, packets of %.0f bytes, ceiling %.1f Mbit/s", name, r.MSS, r.PacketBytes, r.CeilingMbps)
		}
		if r.GoodputMbps > 100 {
			t.Errorf("%s: %.1f Mbit/s through a 100 Mbit/s bottleneck", name, r.GoodputMbps)
		}
		if r.SRTTMs < 40 || r.MinRTTMs < 40 {
			t.Errorf("%s: srtt %.1f ms, min RTT %.1f ms; the link alone takes 40 ms", name, r.SRTTMs, r.MinRTTMs)
		}
		if r.SegmentsSent < uint64(r.Bytes/1500) {
			t.Errorf("%s: %d segments sent for %d bytes", name, r.SegmentsSent, r.Bytes)
		}
		if r.Link == "b" && r.Retransmits == 0 {
			t.Errorf("%s: no retransmission on a link that loses 1%% each way", name)
		}
		if r.MaxLagMs < r.LagMs || r.LagMs < 0 {
			t.Errorf("%s: emulator lag %.3f ms, max %.3f ms", name, r.LagMs, r.MaxLagMs)
		}
		if r.HostDrops > uint64(r.SegmentsSent) {
			t.Errorf("%s: %d host drops of %d segments", name, r.HostDrops, r.SegmentsSent)
		}
		if r.QueueDelayMs < 0 || r.QueueDropPct < 0 || r.QueueDropPct > 100 {
			t.Errorf("%s: queue %.2f ms, drops %.2f%%", name, r.QueueDelayMs, r.QueueDropPct)
		}
	}
	if len(rep.Fairness) != 3 {
		t.Fatalf("%d fairness runs, want 3", len(rep.Fairness))
	}
	for i, want := range []string{"tju vs tju", "tju vs tcp-cubic", "tcp-cubic vs tju"} {
		if rep.Fairness[i].Name != want {
			t.Errorf("fairness run %d is %q, want %q", i, rep.Fairness[i].Name, want)
		}
	}
	for _, f := range rep.Fairness {
		var share float64
		for _, fl := range f.Flows {
			share += fl.Share
			if fl.Bytes <= 0 || !fl.Verified {
				t.Errorf("fairness %s: a flow moved %d bytes in the window, verified %v", f.Name, fl.Bytes, fl.Verified)
			}
		}
		if len(f.Flows) != 2 || f.Error != "" || share < 0.999 || share > 1.001 || f.Jain < 0.5 || f.Jain > 1 {
			t.Errorf("fairness %s: %+v", f.Name, f)
		}
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text.String())
	for _, want := range []string{"link a: 100 Mbit/s", "link b: 100 Mbit/s", "kernel TCP cubic", "kernel TCP bbr", "tju (nil Config", "Jain's index"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q", want)
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	checkJSONFields(t, js.Bytes())
}
