// Package linkbench runs TJU TCP against the kernel's TCP on the same
// emulated link, in one process: it builds a lab of two network
// namespaces (package labnet), puts the netem emulator in the path between
// them (a 100 Mbit/s bottleneck with a drop-tail queue, delay, jitter and
// loss, the same seed for every transport), and runs one bulk test of the
// perf protocol per transport from the client host to the server host, so
// that goodput is measured the same way for all of them.
//
// The figures of a run, all taken over its window (from the receiver's
// first byte to Duration later):
//
//   - goodput: the bytes the receiving application read in the window,
//     over the window, in Mbit/s (10^6 bit/s);
//   - retransmissions: segments the sender retransmitted, and their share
//     of the segments it sent (tju: Info; kernel TCP: TCP_INFO's
//     tcpi_total_retrans and tcpi_segs_out);
//   - queueing delay: the mean time a packet of the data direction waited
//     in the emulator's bottleneck queue before its serialization began;
//   - drops: the packets the full bottleneck queue dropped, as a share of
//     those that reached it (random loss comes before the queue and is not
//     counted there);
//   - srtt: the sender's smoothed RTT, averaged over samples taken every
//     100 ms in the window (kernel TCP: tcpi_rtt).
//
// A run ends when the perf test has ended and the receiver's count has
// been checked against what the sender sent (Run.Verified); the sender
// keeps writing for a second and a one-way delay past the window so
// that the window never runs dry.
//
// Fairness runs put two flows on one bottleneck: the second starts 2 s
// after the first, and each flow's share is its goodput over the 10 s
// after the second started; Jain's index sums them up.
//
// Everything needs Linux and root (network namespaces, TUN devices).
package linkbench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tjunet/tjunet/tju"
)

// Link is a named emulated path. Both directions get the same
// impairments (each with its own random stream).
type Link struct {
	Name       string        // "a" to "d"
	Rate       int64         // bottleneck, bits per second
	QueueBytes int           // drop-tail queue of the bottleneck, bytes
	Delay      time.Duration // one way
	Jitter     time.Duration // the one-way delay is drawn from Delay ± Jitter (order kept)
	Loss       float64       // random loss in each direction, in [0, 1]
	Duration   time.Duration // the measurement window
}

// String describes the link on one line: "a: 100 Mbit/s, 20 ms one way,
// no loss, queue 0.5 MB, 20 s".
func (l Link) String() string { return linkLine(linkJSON(l)) }

// Links are the presets of issue 13: a 100 Mbit/s bottleneck with a
// drop-tail queue of one bandwidth-delay product. a to c: 20 ms one way
// (a queue of 500 kB), no loss, 1% and 5% loss in each direction, 20 s;
// d: the lab's 300 ms ± 50 ms one way and 10% loss each way, a queue of
// 7.5 MB, 90 s.
var Links = []Link{
	{Name: "a", Rate: 100e6, QueueBytes: 500_000, Delay: 20 * time.Millisecond, Duration: 20 * time.Second},
	{Name: "b", Rate: 100e6, QueueBytes: 500_000, Delay: 20 * time.Millisecond, Loss: 0.01, Duration: 20 * time.Second},
	{Name: "c", Rate: 100e6, QueueBytes: 500_000, Delay: 20 * time.Millisecond, Loss: 0.05, Duration: 20 * time.Second},
	{Name: "d", Rate: 100e6, QueueBytes: 7_500_000, Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, Loss: 0.10, Duration: 90 * time.Second},
}

// ParseLinks reads a comma-separated list of preset names ("a", "b,c")
// or "all", in the order given, without repeats.
func ParseLinks(s string) ([]Link, error) {
	if strings.EqualFold(strings.TrimSpace(s), "all") {
		return slices.Clone(Links), nil
	}
	var out []Link
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		i := slices.IndexFunc(Links, func(l Link) bool { return l.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown link %q (want %s or all)", name, linkNames())
		}
		if !slices.ContainsFunc(out, func(l Link) bool { return l.Name == name }) {
			out = append(out, Links[i])
		}
	}
	return out, nil
}

func linkNames() string {
	var n []string
	for _, l := range Links {
		n = append(n, l.Name)
	}
	return strings.Join(n, ", ")
}

// Transport is what runs over the link: TJU TCP with a controller, or the
// kernel's TCP with one (set per socket with TCP_CONGESTION).
type Transport struct {
	// Name is how flags and reports name it: "tju" (a nil Config, so
	// tju's default controller), "tju-NAME" (Config.CongestionControl
	// NAME), or "tcp-NAME" (the kernel's TCP with congestion control
	// NAME, such as cubic or bbr).
	Name string
	// Kernel is true for the kernel's TCP.
	Kernel bool
	// CC is the congestion control: "" for tju's default.
	CC string
}

// String describes the transport for a table: "tju (nil Config: bbr)",
// "tju cubic", "kernel TCP cubic".
func (t Transport) String() string {
	switch {
	case t.Kernel:
		return "kernel TCP " + t.CC
	case t.CC == "":
		return "tju (nil Config: " + tju.DefaultCongestionControl(false) + ")"
	}
	return "tju " + t.CC
}

// DefaultTransports is what a bench runs unless told: tju with a nil
// Config, kernel CUBIC and kernel BBR.
var DefaultTransports = []Transport{{Name: "tju"}, {Name: "tcp-cubic", Kernel: true, CC: "cubic"}, {Name: "tcp-bbr", Kernel: true, CC: "bbr"}}

// ParseTransport reads one transport name: "tju", "tju-cubic" (any name
// in tju.CongestionControls), "tcp-cubic" (any kernel algorithm name;
// whether the kernel has it is checked when the bench starts).
func ParseTransport(s string) (Transport, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "tju" {
		return Transport{Name: s}, nil
	}
	if cc, ok := strings.CutPrefix(s, "tju-"); ok {
		if !tju.IsCongestionControl(cc) {
			return Transport{}, fmt.Errorf("unknown tju congestion control %q in %q (want tju-%s)", cc, s,
				strings.Join(tju.CongestionControlNames(), ", tju-"))
		}
		return Transport{Name: s, CC: cc}, nil
	}
	if cc, ok := strings.CutPrefix(s, "tcp-"); ok && cc != "" && !strings.ContainsAny(cc, " /.") {
		return Transport{Name: s, Kernel: true, CC: cc}, nil
	}
	return Transport{}, fmt.Errorf("unknown transport %q (want tju, tju-NAME or tcp-NAME, like tju-cubic or tcp-bbr)", s)
}

// ParseTransports reads a comma-separated list of transport names, in
// the order given, without repeats.
func ParseTransports(s string) ([]Transport, error) {
	var out []Transport
	for _, name := range strings.Split(s, ",") {
		t, err := ParseTransport(name)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(o Transport) bool { return o.Name == t.Name }) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Options say what a bench runs.
type Options struct {
	// Links to run, in order; nil means all of Links.
	Links []Link
	// Transports to run on each link and seed, one after another; nil
	// means DefaultTransports.
	Transports []Transport
	// Seeds of the emulator's random decisions: every transport runs once
	// per seed, through the same seed. nil means {1}.
	Seeds []uint64
	// Duration, if positive, replaces every link's measurement window
	// (for quick runs).
	Duration time.Duration
	// Fairness adds the fairness runs on link a (seed Seeds[0]): two flows
	// of the first tju transport, then that one against kernel CUBIC,
	// first with tju starting first, then with CUBIC starting first.
	Fairness bool
	// FairnessDelay is how long after the first flow the second starts
	// (0: 2 s); FairnessWindow how long the shares are measured from then
	// (0: 10 s).
	FairnessDelay, FairnessWindow time.Duration
	// ID is the lab's ID (see labnet.Config.ID); "" picks one from the
	// process ID. A lab of that ID must not exist.
	ID string
	// Progress, if set, is called after each run with its result.
	Progress func(Run)
	// FairnessProgress, if set, is called after each fairness run.
	FairnessProgress func(Fairness)
}

func (o Options) withDefaults() Options {
	if o.Links == nil {
		o.Links = slices.Clone(Links)
	}
	if o.Transports == nil {
		o.Transports = slices.Clone(DefaultTransports)
	}
	if o.Seeds == nil {
		o.Seeds = []uint64{1}
	}
	if o.FairnessDelay <= 0 {
		o.FairnessDelay = 2 * time.Second
	}
	if o.FairnessWindow <= 0 {
		o.FairnessWindow = 10 * time.Second
	}
	return o
}

// Report is what a bench measured.
type Report struct {
	Start    time.Time    `json:"start"`     // when the bench began
	Elapsed  float64      `json:"elapsed_s"` // how long it took, seconds
	Load     string       `json:"load"`      // /proc/loadavg when it began
	Kernel   string       `json:"kernel"`    // the kernel's release
	Links    []LinkJSON   `json:"links"`     // the links run
	Runs     []Run        `json:"runs"`      // one per link, seed and transport, in the order run
	Fairness []Fairness   `json:"fairness,omitempty"`
	Summary  []SummaryRow `json:"summary"` // one per link and transport: the runs over the seeds
}

// LinkJSON describes a link in a report.
type LinkJSON struct {
	Name       string  `json:"name"`
	RateMbps   float64 `json:"rate_mbps"`
	QueueBytes int     `json:"queue_bytes"`
	DelayMs    float64 `json:"delay_ms"`  // one way
	JitterMs   float64 `json:"jitter_ms"` // ± around the delay
	LossPct    float64 `json:"loss_pct"`  // each direction
	Seconds    float64 `json:"seconds"`   // the measurement window as run
}

// Run is one transport over one link with one seed.
type Run struct {
	Link      string `json:"link"`
	Transport string `json:"transport"`
	Seed      uint64 `json:"seed"`
	// Seconds is the measurement window; Bytes what the receiver read in
	// it; GoodputMbps their rate.
	Seconds     float64 `json:"seconds"`
	Bytes       int64   `json:"bytes"`
	GoodputMbps float64 `json:"goodput_mbps"`
	// Retransmits and SegmentsSent are the sender's, at the window's end.
	Retransmits  uint64 `json:"retransmits"`
	SegmentsSent uint64 `json:"segments_sent"`
	// SRTTMs is the sender's smoothed RTT averaged over the window;
	// MinRTTMs its minimum RTT at the window's end.
	SRTTMs   float64 `json:"srtt_ms"`
	MinRTTMs float64 `json:"min_rtt_ms"`
	// QueueDelayMs is the mean wait in the bottleneck queue of the data
	// direction, QueueDropPct the share of its packets the full queue
	// dropped, both up to the window's end.
	QueueDelayMs float64 `json:"queue_delay_ms"`
	QueueDropPct float64 `json:"queue_drop_pct"`
	// MSS is the sender's payload bytes per segment; PacketBytes the mean
	// size of the data direction's IP packets at the emulator; CeilingMbps
	// the goodput the link's rate allows with them (rate x MSS /
	// PacketBytes). PacketBytes and CeilingMbps are 0 (unknown) for a run
	// of less than 1000 packets, whose few small ones weigh too much.
	MSS         int     `json:"mss"`
	PacketBytes float64 `json:"packet_bytes"`
	CeilingMbps float64 `json:"ceiling_mbps"`
	// LagMs is how late, on average, the emulator handed on the data
	// direction's packets for their due time, MaxLagMs the worst: its own
	// delay (timers, a busy machine), which neither the link nor the
	// transport made. Well under a millisecond on a quiet machine.
	LagMs    float64 `json:"emulator_lag_ms"`
	MaxLagMs float64 `json:"emulator_max_lag_ms"`
	// HostDrops counts the data packets the client host itself dropped
	// before the emulator (its TUN device's queue and qdisc), up to the
	// window's end: losses no link setting made, which a machine too busy
	// for the emulator causes. 0 on a sound run.
	HostDrops uint64 `json:"host_drops"`
	// Verified says the test ended and the receiver counted every byte
	// the sender sent; TotalBytes is that count.
	Verified   bool  `json:"verified"`
	TotalBytes int64 `json:"total_bytes"`
	// ElapsedS is how long the run took, setup included; DrainS how long
	// the test went on after the window (the sender's tail and what its
	// buffers still held).
	ElapsedS float64 `json:"elapsed_s"`
	DrainS   float64 `json:"drain_s"`
	// Error says why the run failed or was not verified.
	Error string `json:"error,omitempty"`
}

// RetransmitPct is the share of the segments sent that were
// retransmissions, in percent.
func (r Run) RetransmitPct() float64 {
	if r.SegmentsSent == 0 {
		return 0
	}
	return 100 * float64(r.Retransmits) / float64(r.SegmentsSent)
}

// Fairness is two flows sharing a bottleneck.
type Fairness struct {
	Name string `json:"name"` // "tju vs tju", "tju vs tcp-cubic"
	Link string `json:"link"`
	Seed uint64 `json:"seed"`
	// DelayS is how long after the first flow the second started;
	// WindowS how long the shares were measured from then.
	DelayS  float64     `json:"delay_s"`
	WindowS float64     `json:"window_s"`
	Flows   []FlowShare `json:"flows"`
	// Jain is Jain's fairness index of the flows' goodputs over the
	// window: 1 for equal shares, 1/n for one flow taking everything.
	Jain         float64 `json:"jain"`
	QueueDelayMs float64 `json:"queue_delay_ms"`
	QueueDropPct float64 `json:"queue_drop_pct"`
	Error        string  `json:"error,omitempty"`
}

// FlowShare is one flow of a fairness run.
type FlowShare struct {
	Transport   string  `json:"transport"`
	Bytes       int64   `json:"bytes"` // read by its receiver in the window
	GoodputMbps float64 `json:"goodput_mbps"`
	Share       float64 `json:"share"` // of the flows' total, in [0, 1]
	Retransmits uint64  `json:"retransmits"`
	SRTTMs      float64 `json:"srtt_ms"`
	Verified    bool    `json:"verified"`
}

// Jain returns Jain's fairness index of xs: (sum x)^2 / (n * sum x^2);
// 0 for no flow or no traffic.
func Jain(xs ...float64) float64 {
	var s, s2 float64
	for _, x := range xs {
		s += x
		s2 += x * x
	}
	if len(xs) == 0 || s2 == 0 {
		return 0
	}
	return s * s / (float64(len(xs)) * s2)
}

func linkJSON(l Link) LinkJSON {
	return LinkJSON{Name: l.Name, RateMbps: float64(l.Rate) / 1e6, QueueBytes: l.QueueBytes,
		DelayMs: ms(l.Delay), JitterMs: ms(l.Jitter), LossPct: l.Loss * 100, Seconds: l.Duration.Seconds()}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
