package units

import (
	"fmt"
	"strconv"
	"time"
)

// The formatters below print figures for people, in the one convention
// every tjunet command's output follows (progress bar, summaries, --stats,
// charts): SI units, 1 kB = 1000 bytes and 1 MB = 10^6 bytes, rates in
// bits per second with decimal prefixes, about three significant digits.
// FormatSize and FormatRate, above, print exact values for command lines
// instead.

// FormatBytes prints a byte count for people: "512 B", "1.5 kB",
// "33.6 MB" (1 MB = 10^6 bytes).
func FormatBytes(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"kB", "MB", "GB", "TB"} {
		v /= 1000
		if v < 999.95 || unit == "TB" {
			return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
		}
	}
	panic("unreachable")
}

// FormatBitRate prints bits per second for people: "94.3 Mbit/s".
func FormatBitRate(bps float64) string {
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

// FormatGoodput prints bytes over a duration as MB/s and Mbit/s, with
// MB = 10^6 bytes: "11.72 MB/s (93.8 Mbit/s)"; "n/a" for a duration
// that is not positive.
func FormatGoodput(bytes int64, d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	bps := float64(bytes) / d.Seconds()
	return fmt.Sprintf("%.2f MB/s (%s)", bps/1e6, FormatBitRate(bps*8))
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

// FormatDuration prints a duration rounded for people: "1.23s", "20.4ms",
// "350µs".
func FormatDuration(d time.Duration) string {
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
