package main

import (
	"testing"
	"time"
)

func TestFormatting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{formatBytes(512), "512 B"},
		{formatBytes(32 << 20), "33.6 MB"},
		{formatBytes(1536), "1.5 kB"}, {formatBytes(999999), "1.0 MB"}, {formatBytes(999900), "999.9 kB"}, {formatBytes(1e9), "1.0 GB"},
		{formatBitRate(94.34e6), "94.3 Mbit/s"},
		{formatBitRate(2.5e9), "2.50 Gbit/s"},
		{formatBitRate(999), "999 bit/s"},
		{formatGoodput(10e6, time.Second), "10.00 MB/s (80.0 Mbit/s)"},
		{formatDuration(20412 * time.Microsecond), "20.4ms"},
		{formatDuration(1234567 * time.Microsecond), "1.23s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
