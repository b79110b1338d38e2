package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Sizes and rates on the command line.
//
// A size is a byte count: 1048576, 64KiB, 64MiB, 1GiB (powers of 1024),
// 64KB, 1MB, 1GB (powers of 1000); K, M, G alone and k, m, g mean KiB,
// MiB, GiB, as dd and iperf read them. Case does not matter.
//
// A rate is bits per second unless it says bytes: 100Mbit, 1Gbit, 800kbit,
// 100Mbps, 100Mb/s, 100M and 100000000 are bits per second; 10MB/s, 10MBps
// and 10MiB/s (a capital B) are bytes per second. Prefixes are decimal
// (k = 1000) except Ki, Mi, Gi.

// sizeUnits maps a size suffix, lower-cased, to its multiplier.
var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1}, {"", 1},
}

// parseSize reads a size in bytes such as "64MiB", "1GB" or "1048576".
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "ytes")
	t = strings.TrimSuffix(t, "yte")
	for _, u := range sizeUnits {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil {
			break
		}
		n := v * u.mult
		if math.IsNaN(n) || n < 0 || n > math.MaxInt64/2 {
			return 0, fmt.Errorf("size %q is out of range", s)
		}
		if n != math.Trunc(n) {
			return 0, fmt.Errorf("size %q is not a whole number of bytes", s)
		}
		return int64(n), nil
	}
	return 0, fmt.Errorf("cannot read %q as a size: want bytes like 1048576, 64KiB, 64MiB, 1GiB or 1GB", s)
}

// parseBitRate reads a rate and returns it in bits per second: "100Mbit",
// "1Gbit", "100M" and "1e8" are 100 million bits per second, "10MB/s" is
// ten million bytes per second (80 Mbit/s). See the comment at the top.
func parseBitRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	bad := fmt.Errorf("cannot read %q as a rate: want bits per second like 100Mbit, 1Gbit, 800kbit, or bytes per second like 10MB/s", s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "/sec")
	perByte := 1.0 // bits per unit
	switch {
	case strings.HasSuffix(strings.ToLower(t), "bit"):
		t = t[:len(t)-3]
	case strings.HasSuffix(strings.ToLower(t), "bits"):
		t = t[:len(t)-4]
	case strings.HasSuffix(t, "Bps"), strings.HasSuffix(t, "Byte"), strings.HasSuffix(t, "byte"):
		perByte = 8
		t = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(t, "Bps"), "Byte"), "byte")
	case strings.HasSuffix(t, "bps"):
		t = t[:len(t)-3]
	case strings.HasSuffix(t, "B"):
		perByte = 8
		t = t[:len(t)-1]
	case strings.HasSuffix(t, "b"):
		t = t[:len(t)-1]
	}
	mult := 1.0
	lt := strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"ki", 1 << 10}, {"mi", 1 << 20}, {"gi", 1 << 30}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12}} {
		if strings.HasSuffix(lt, u.suffix) {
			t, mult = t[:len(t)-len(u.suffix)], u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil {
		return 0, bad
	}
	bps := v * mult * perByte
	if math.IsNaN(bps) || bps < 1 || bps > 1e15 {
		return 0, fmt.Errorf("rate %q is out of range (1 bit/s to 1 Pbit/s)", s)
	}
	return int64(math.Round(bps)), nil
}

// sizeValue is a flag.Value holding a size in bytes.
type sizeValue int64

func (v *sizeValue) String() string { return formatSizeFlag(int64(*v)) }
func (v *sizeValue) Type() string   { return "SIZE" }
func (v *sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return errors.New("want a size in bytes like 1048576, 64KiB, 64MiB, 1GiB or 1GB")
	}
	*v = sizeValue(n)
	return nil
}

// rateValue is a flag.Value holding a rate in bits per second.
type rateValue int64

func (v *rateValue) String() string {
	if *v == 0 {
		return "0" // unset: no default to show in the help
	}
	return formatBitRate(float64(*v))
}
func (v *rateValue) Type() string { return "RATE" }
func (v *rateValue) Set(s string) error {
	n, err := parseBitRate(s)
	if err != nil {
		return errors.New("want a rate in bits/s like 100Mbit, 1Gbit, 800kbit, or bytes/s like 10MB/s, up to 1Pbit")
	}
	*v = rateValue(n)
	return nil
}

// probValue is a flag.Value holding a probability, written 0.5% or 0.005.
type probValue float64

func (v *probValue) String() string {
	if *v == 0 {
		return "0"
	}
	return formatPercent(float64(*v))
}
func (v *probValue) Type() string { return "PROBABILITY" }
func (v *probValue) Set(s string) error {
	p, err := parseProbability(s) // shared with tju netem
	if err != nil {
		return err
	}
	*v = probValue(p)
	return nil
}

// formatSizeFlag prints a size the way a user would type it: "32MiB".
func formatSizeFlag(n int64) string {
	for _, u := range []struct {
		name string
		div  int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.div && n%u.div == 0 {
			return strconv.FormatInt(n/u.div, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// formatBytes prints a byte count for people: "1.5 KiB", "32.0 MiB".
func formatBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 || unit == "TiB" {
			return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
		}
	}
	panic("unreachable")
}

// formatBitRate prints bits per second: "94.3 Mbit/s".
func formatBitRate(bps float64) string {
	for _, u := range []struct {
		div  float64
		name string
	}{{1e9, "Gbit/s"}, {1e6, "Mbit/s"}, {1e3, "kbit/s"}} {
		if bps >= u.div {
			return strconv.FormatFloat(bps/u.div, 'f', prec(bps/u.div), 64) + " " + u.name
		}
	}
	return strconv.FormatFloat(bps, 'f', 0, 64) + " bit/s"
}

// formatGoodput prints bytes over a duration as MB/s and Mbit/s, with
// MB = 10^6 bytes: "11.72 MB/s (93.8 Mbit/s)".
func formatGoodput(bytes int64, d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	bps := float64(bytes) / d.Seconds()
	return fmt.Sprintf("%.2f MB/s (%s)", bps/1e6, formatBitRate(bps*8))
}

// prec returns how many decimals to show of v so it keeps about three
// significant digits.
func prec(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	default:
		return 2
	}
}

// formatPercent prints a fraction as a percentage: "0.1%".
func formatPercent(p float64) string {
	return strconv.FormatFloat(p*100, 'g', 4, 64) + "%"
}

// formatDuration prints a duration rounded for people: "1.23s", "20.4ms",
// "350µs".
func formatDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
