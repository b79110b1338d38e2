package main

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1048576", 1 << 20}, {"64MiB", 64 << 20}, {"64mib", 64 << 20}, {"1GB", 1e9}, {"1GiB", 1 << 30},
		{"64KiB", 64 << 10}, {"64KB", 64e3}, {"16M", 16 << 20}, {"1g", 1 << 30}, {"1.5MiB", 3 << 19},
		{"100 bytes", 100}, {"0", 0}, {" 2 MiB ", 2 << 20}, {"10B", 10},
	} {
		if got, err := parseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "lots", "-1", "1.5", "12XB", "MiB", "1e30GiB", "NaN"} {
		if got, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestParseBitRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"100Mbit", 100e6}, {"1Gbit", 1e9}, {"800kbit", 800e3}, {"100Mbit/s", 100e6}, {"100mbit", 100e6},
		{"100Mbps", 100e6}, {"100Mb/s", 100e6}, {"100M", 100e6}, {"100000000", 100e6}, {"1e8", 100e6},
		{"10MB/s", 80e6}, {"10MBps", 80e6}, {"10MB", 80e6}, {"1MiB/s", 8 << 20}, {"1.5Gbit", 1.5e9},
		{"2 Mbit/s", 2e6}, {"64kbits", 64e3}, {"1kB/s", 8000},
	} {
		if got, err := parseBitRate(tc.in); err != nil || got != tc.want {
			t.Errorf("parseBitRate(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "fast", "0", "-5Mbit", "Mbit", "10XB/s", "0.1bit"} {
		if got, err := parseBitRate(bad); err == nil {
			t.Errorf("parseBitRate(%q) = %d, want an error", bad, got)
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{formatBytes(512), "512 B"},
		{formatBytes(32 << 20), "32.0 MiB"},
		{formatBytes(1536), "1.5 KiB"},
		{formatBitRate(94.34e6), "94.3 Mbit/s"},
		{formatBitRate(2.5e9), "2.50 Gbit/s"},
		{formatBitRate(999), "999 bit/s"},
		{formatGoodput(10e6, time.Second), "10.00 MB/s (80.0 Mbit/s)"},
		{formatSizeFlag(32 << 20), "32MiB"},
		{formatSizeFlag(1000), "1000"},
		{formatDuration(20412 * time.Microsecond), "20.4ms"},
		{formatDuration(1234567 * time.Microsecond), "1.23s"},
		{formatPercent(0.001), "0.1%"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
