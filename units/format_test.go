package units_test

import (
	"testing"
	"time"

	"github.com/tjunet/tjunet/units"
)

func TestFormatForPeople(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{units.FormatBytes(512), "512 B"},
		{units.FormatBytes(32 << 20), "33.6 MB"},
		{units.FormatBytes(1536), "1.5 kB"}, {units.FormatBytes(999999), "1.0 MB"}, {units.FormatBytes(999900), "999.9 kB"}, {units.FormatBytes(1e9), "1.0 GB"},
		{units.FormatBitRate(94.34e6), "94.3 Mbit/s"},
		{units.FormatBitRate(2.5e9), "2.50 Gbit/s"},
		{units.FormatBitRate(999), "999 bit/s"},
		{units.FormatGoodput(10e6, time.Second), "10.00 MB/s (80.0 Mbit/s)"},
		{units.FormatGoodput(10e6, 0), "n/a"},
		{units.FormatDuration(20412 * time.Microsecond), "20.4ms"},
		{units.FormatDuration(1234567 * time.Microsecond), "1.23s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
