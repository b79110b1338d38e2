package netem_test

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/netem"
)

// impairmentFlagSet declares every impairment flag, with -up and -down.
func impairmentFlagSet(f *netem.Flags) *flag.FlagSet {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	for _, imp := range netem.Impairments {
		for _, suffix := range []string{"", "-up", "-down"} {
			fs.Var(f.Value(imp.Name+suffix), imp.Name+suffix, imp.Usage)
		}
	}
	return fs
}

func TestFlagsOneDirectionWinsWhateverTheOrder(t *testing.T) {
	for _, args := range [][]string{
		{"--loss-up", "2%", "--loss", "1%", "--delay", "20ms", "--rate", "1Tbit", "--queue", "100p"},
		{"--loss", "1%", "--loss-up", "2%", "--rate", "1Tbit", "--delay", "20ms", "--queue", "100p"},
	} {
		var f netem.Flags
		if err := impairmentFlagSet(&f).Parse(args); err != nil {
			t.Fatal(err)
		}
		up, down, err := f.Configs()
		if err != nil {
			t.Fatal(err)
		}
		if up.Loss != 0.02 || down.Loss != 0.01 || up.Delay != 20*time.Millisecond || down.Rate != 1e12 || up.QueuePackets != 100 {
			t.Errorf("%q: up %+v, down %+v", args, up, down)
		}
	}
}

func TestFlagsBurstBecomesGilbert(t *testing.T) {
	f := netem.Flags{Defaults: netem.Config{Loss: 0.001, Rate: 100e6}}
	if err := impairmentFlagSet(&f).Parse([]string{"--loss", "2%", "--burst-down", "4"}); err != nil {
		t.Fatal(err)
	}
	up, down, err := f.Configs()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := netem.BurstLoss(0.02, 4)
	if up.Loss != 0.02 || up.Burst != (netem.GilbertElliott{}) || down.Loss != 0 || down.Burst != want || down.Rate != 100e6 {
		t.Errorf("up %+v\ndown %+v", up, down)
	}
}

func TestFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error of Parse or Configs
	}{
		{[]string{"--loss", "150%"}, "want a probability"},
		{[]string{"--delay", "300"}, "want a duration"},
		{[]string{"--delay-up", "-5ms"}, "not negative"},
		{[]string{"--rate", "fast"}, "want a rate"},
		{[]string{"--queue", "-3"}, "want a size"},
		{[]string{"--burst", "0.5"}, "at least 1 datagram"},
		{[]string{"--burst", "3"}, "give a loss rate too"},
		{[]string{"--loss", "90%", "--burst", "1"}, "needs bursts longer"},
		{[]string{"--queue", "64KiB"}, "--queue needs --rate"},
		{[]string{"--mtu", "big"}, "want a whole number"},
	} {
		var f netem.Flags
		err := impairmentFlagSet(&f).Parse(tc.args)
		if err == nil {
			_, _, err = f.Configs()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

func TestFlagsShowDefaults(t *testing.T) {
	f := netem.Flags{Defaults: netem.Config{Loss: 0.001, Rate: 100e6, Delay: 20 * time.Millisecond}}
	for name, want := range map[string]string{"loss": "0.1%", "rate": "100Mbit", "delay": "20ms", "jitter": "0", "loss-up": ""} {
		if got := f.Value(name).String(); got != want {
			t.Errorf("%s shows %q, want %q", name, got, want)
		}
	}
	if f.Value("bandwidth") != nil {
		t.Error("a flag value for an impairment that does not exist")
	}
}

func TestFlagsQueue(t *testing.T) {
	for _, tc := range []struct {
		in             string
		bytes, packets int
	}{{"100p", 0, 100}, {"50pkts", 0, 50}, {"1500", 1500, 0}, {"64kb", 64000, 0}, {"64KiB", 65536, 0}, {"64k", 65536, 0}, {"1mib", 1 << 20, 0}} {
		f := netem.Flags{Defaults: netem.Config{Rate: 1e6}}
		if err := f.Value("queue").Set(tc.in); err != nil {
			t.Errorf("--queue %q: %v", tc.in, err)
			continue
		}
		up, _, err := f.Configs()
		if err != nil || up.QueueBytes != tc.bytes || up.QueuePackets != tc.packets {
			t.Errorf("--queue %q = %d bytes, %d packets, %v; want %d, %d", tc.in, up.QueueBytes, up.QueuePackets, err, tc.bytes, tc.packets)
		}
	}
	for _, bad := range []string{"", "x", "0p", "-1", "1e20"} {
		var f netem.Flags
		if err := f.Value("queue").Set(bad); err == nil {
			t.Errorf("--queue %q accepted", bad)
		}
	}
}
