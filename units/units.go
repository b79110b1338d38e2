// Package units reads the sizes, rates and probabilities people write on
// tjunet's command lines, one way for every command and tool.
//
// # Sizes
//
// A size is a count of bytes. K, M, G and T, alone or as KiB, MiB, GiB and
// TiB, are powers of 1024, as dd, iperf3 and most Unix tools read them;
// KB, MB, GB and TB are powers of 1000, as disk makers write them. Case
// does not matter, and "B", "byte" or "bytes" may follow a plain number:
//
//	1048576  64K = 64KiB = 65,536   1MB = 1,000,000   1.5MiB   2GiB   100 bytes
//
// # Rates
//
// A rate is bits per second unless it says bytes. The prefixes k, M, G, T
// are decimal (k = 1000, as networks count) and Ki, Mi, Gi, Ti binary; a
// capital B means bytes: "100Mbit", "100Mbps", "100Mb/s", "100M" and
// "100000000" are 10^8 bit/s, "10MB/s" and "10MBps" are 8*10^7 bit/s, up
// to 1 Pbit/s.
//
// # Probabilities
//
// A probability is a percentage, "0.5%", or a fraction, "0.005", from 0 to
// 1 (100%).
//
// Size, Rate and Probability are flag values for package flag and for
// github.com/spf13/pflag (they have String, Set and Type).
package units

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxRate is the largest rate ParseRate accepts: 1 Pbit/s.
const MaxRate = 1e15

// sizeUnits maps a size suffix, lower-cased, to its multiplier; longer
// suffixes first, so that "kib" is not read as "b".
var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1}, {"", 1},
}

// ErrSize, ErrRate and ErrProbability say what the parsers want; their
// errors wrap one of them.
var (
	ErrSize        = errors.New("want a size in bytes like 1048576, 64KiB (or 64K), 64MiB, 1GiB or 1GB")
	ErrRate        = errors.New("want a rate in bits/s like 100Mbit, 1Gbit, 800kbit, or bytes/s like 10MB/s, up to 1Pbit")
	ErrProbability = errors.New("want a probability from 0% to 100%, like 10% or 0.1")
)

// ParseSize reads a size in bytes: "64MiB", "64K", "1GB", "1048576".
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "ytes")
	t = strings.TrimSuffix(t, "yte")
	for _, u := range sizeUnits {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		num = strings.TrimSpace(num)
		if num == "" {
			break
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			break
		}
		n := v * u.mult
		if math.IsNaN(n) || n < 0 || n > math.MaxInt64/2 {
			return 0, fmt.Errorf("size %q is out of range: %w", s, ErrSize)
		}
		if n != math.Trunc(n) {
			return 0, fmt.Errorf("size %q is not a whole number of bytes: %w", s, ErrSize)
		}
		return int64(n), nil
	}
	return 0, fmt.Errorf("cannot read %q as a size: %w", s, ErrSize)
}

// ParseRate reads a rate and returns it in bits per second: "100Mbit",
// "1Gbit", "1Tbit", "100M" and "1e8" are bits per second, "10MB/s" is ten
// million bytes per second (80 Mbit/s).
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	bad := fmt.Errorf("cannot read %q as a rate: %w", s, ErrRate)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "/sec")
	perUnit := 1.0 // bits per unit
	lower := strings.ToLower(t)
	switch {
	case strings.HasSuffix(lower, "bits"):
		t = t[:len(t)-4]
	case strings.HasSuffix(lower, "bit"):
		t = t[:len(t)-3]
	case strings.HasSuffix(t, "Bps"), strings.HasSuffix(t, "Byte"), strings.HasSuffix(t, "byte"):
		perUnit = 8
		t = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(t, "Bps"), "Byte"), "byte")
	case strings.HasSuffix(t, "bps"):
		t = t[:len(t)-3]
	case strings.HasSuffix(t, "B"):
		perUnit = 8
		t = t[:len(t)-1]
	case strings.HasSuffix(t, "b"):
		t = t[:len(t)-1]
	}
	mult := 1.0
	lower = strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"ki", 1 << 10}, {"mi", 1 << 20}, {"gi", 1 << 30}, {"ti", 1 << 40}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12}} {
		if strings.HasSuffix(lower, u.suffix) {
			t, mult = t[:len(t)-len(u.suffix)], u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil {
		return 0, bad
	}
	bps := v * mult * perUnit
	if math.IsNaN(bps) || bps < 1 || bps > MaxRate {
		return 0, fmt.Errorf("rate %q is out of range (1 bit/s to 1 Pbit/s): %w", s, ErrRate)
	}
	return int64(math.Round(bps)), nil
}

// ParseProbability reads "10%", "0.5%" or a fraction "0.1", from 0 to 1.
func ParseProbability(s string) (float64, error) {
	t := strings.TrimSpace(s)
	scale := 1.0
	if u, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = strings.TrimSpace(u), 0.01
	}
	v, err := strconv.ParseFloat(t, 64)
	v *= scale
	if err != nil || !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("cannot read %q as a probability: %w", s, ErrProbability)
	}
	return v, nil
}

// Size is a flag value holding a size in bytes.
type Size int64

// Set reads s with ParseSize. Its error says only what is wanted: flag
// packages name the flag and the value themselves.
func (v *Size) Set(s string) error {
	n, err := ParseSize(s)
	if err != nil {
		return ErrSize
	}
	*v = Size(n)
	return nil
}

// String prints the size as a user would type it: "32MiB", "1000"; "0"
// when unset.
func (v *Size) String() string { return FormatSize(int64(*v)) }

// Type names the value in help: SIZE.
func (v *Size) Type() string { return "SIZE" }

// Rate is a flag value holding a rate in bits per second.
type Rate int64

// Set reads s with ParseRate.
func (v *Rate) Set(s string) error {
	n, err := ParseRate(s)
	if err != nil {
		return ErrRate
	}
	*v = Rate(n)
	return nil
}

// String prints the rate as a user would type it: "100Mbit"; "0" when
// unset.
func (v *Rate) String() string { return FormatRate(int64(*v)) }

// Type names the value in help: RATE.
func (v *Rate) Type() string { return "RATE" }

// Probability is a flag value holding a probability from 0 to 1.
type Probability float64

// Set reads s with ParseProbability.
func (v *Probability) Set(s string) error {
	p, err := ParseProbability(s)
	if err != nil {
		return ErrProbability
	}
	*v = Probability(p)
	return nil
}

// String prints the probability as a percentage: "0.1%"; "0" when unset.
func (v *Probability) String() string {
	if *v == 0 {
		return "0"
	}
	return FormatPercent(float64(*v))
}

// Type names the value in help: PROBABILITY.
func (v *Probability) Type() string { return "PROBABILITY" }

// FormatSize prints a size in bytes as ParseSize reads it back exactly:
// "32MiB", "1GiB", "1500".
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		div  int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.div && n%u.div == 0 {
			return strconv.FormatInt(n/u.div, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// FormatRate prints bits per second as ParseRate reads it back exactly:
// "100Mbit", "1Tbit", "1500bit".
func FormatRate(bps int64) string {
	for _, u := range []struct {
		name string
		div  int64
	}{{"Tbit", 1e12}, {"Gbit", 1e9}, {"Mbit", 1e6}, {"kbit", 1e3}} {
		if bps >= u.div && bps%u.div == 0 {
			return strconv.FormatInt(bps/u.div, 10) + u.name
		}
	}
	if bps == 0 {
		return "0"
	}
	return strconv.FormatInt(bps, 10) + "bit"
}

// FormatPercent prints a fraction as a percentage: "0.1%".
func FormatPercent(p float64) string {
	return strconv.FormatFloat(p*100, 'g', 4, 64) + "%"
}
