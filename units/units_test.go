package units_test

import (
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/tjunet/tjunet/units"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1048576", 1 << 20}, {"64MiB", 64 << 20}, {"64mib", 64 << 20}, {"1GB", 1e9}, {"1GiB", 1 << 30},
		{"64KiB", 64 << 10}, {"64K", 64 << 10}, {"64k", 64 << 10}, {"64KB", 64e3}, {"16M", 16 << 20},
		{"1g", 1 << 30}, {"1.5MiB", 3 << 19}, {"2T", 2 << 40}, {"1TB", 1e12},
		{"100 bytes", 100}, {"1 byte", 1}, {"0", 0}, {" 2 MiB ", 2 << 20}, {"10B", 10},
	} {
		if got, err := units.ParseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "lots", "-1", "1.5", "12XB", "MiB", "1e30GiB", "NaN", "K"} {
		if got, err := units.ParseSize(bad); err == nil || !errors.Is(err, units.ErrSize) {
			t.Errorf("ParseSize(%q) = %d, %v; want an error wrapping ErrSize", bad, got, err)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"100Mbit", 100e6}, {"1Gbit", 1e9}, {"800kbit", 800e3}, {"100Mbit/s", 100e6}, {"100mbit", 100e6},
		{"100Mbps", 100e6}, {"100Mb/s", 100e6}, {"100M", 100e6}, {"100000000", 100e6}, {"1e8", 100e6},
		{"10MB/s", 80e6}, {"10MBps", 80e6}, {"10MB", 80e6}, {"1MiB/s", 8 << 20}, {"1.5Gbit", 1.5e9},
		{"2 Mbit/s", 2e6}, {"64kbits", 64e3}, {"1kB/s", 8000}, {"1Tbit", 1e12}, {"10Tbit/s", 10e12},
		{"1Tibit", 1 << 40}, {"1TB/s", 8e12},
	} {
		if got, err := units.ParseRate(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "fast", "0", "-5Mbit", "Mbit", "10XB/s", "0.1bit", "2000Tbit"} {
		if got, err := units.ParseRate(bad); err == nil || !errors.Is(err, units.ErrRate) {
			t.Errorf("ParseRate(%q) = %d, %v; want an error wrapping ErrRate", bad, got, err)
		}
	}
}

func TestParseProbability(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{{"10%", 0.1}, {"0.5%", 0.005}, {"0.1", 0.1}, {"0", 0}, {"100%", 1}, {"1", 1}, {" 2 % ", 0.02}} {
		if got, err := units.ParseProbability(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseProbability(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "lots", "150%", "-1%", "1.5", "NaN", "%"} {
		if got, err := units.ParseProbability(bad); err == nil || !errors.Is(err, units.ErrProbability) {
			t.Errorf("ParseProbability(%q) = %v, %v; want an error wrapping ErrProbability", bad, got, err)
		}
	}
}

// TestFormatsReadBack holds that what the flag values print (the defaults
// in help) is read back to the same value.
func TestFormatsReadBack(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 1500, 64 << 10, 32 << 20, 3 << 30, 5 << 40} {
		if got, err := units.ParseSize(units.FormatSize(n)); err != nil || got != n {
			t.Errorf("size %d printed as %q reads back as %d, %v", n, units.FormatSize(n), got, err)
		}
	}
	for _, r := range []int64{1, 1500, 800e3, 100e6, 1e9, 25e9, 1e12, 123456789} {
		if got, err := units.ParseRate(units.FormatRate(r)); err != nil || got != r {
			t.Errorf("rate %d printed as %q reads back as %d, %v", r, units.FormatRate(r), got, err)
		}
	}
}

func TestFlagValues(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var size units.Size
	var rate units.Rate
	var p units.Probability
	fs.Var(&size, "size", "")
	fs.Var(&rate, "rate", "")
	fs.Var(&p, "loss", "")
	if err := fs.Parse([]string{"--size", "64K", "--rate", "1Tbit", "--loss", "0.1%"}); err != nil {
		t.Fatal(err)
	}
	if size != 64<<10 || rate != 1e12 || p != 0.001 {
		t.Errorf("got %d, %d, %v", size, rate, p)
	}
	if err := size.Set("big"); err != units.ErrSize {
		t.Errorf("Set(big) = %v, want ErrSize alone (the flag package names the value)", err)
	}
}

func ExampleParseSize() {
	for _, s := range []string{"64K", "64KiB", "64KB", "1.5MiB"} {
		n, _ := units.ParseSize(s)
		fmt.Println(s, n)
	}
	// Output:
	// 64K 65536
	// 64KiB 65536
	// 64KB 64000
	// 1.5MiB 1572864
}

func ExampleParseRate() {
	for _, s := range []string{"100Mbit", "10MB/s", "1Tbit"} {
		bps, _ := units.ParseRate(s)
		fmt.Println(s, bps)
	}
	// Output:
	// 100Mbit 100000000
	// 10MB/s 80000000
	// 1Tbit 1000000000000
}
