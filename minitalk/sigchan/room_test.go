package sigchan

import "testing"

func TestRoomToSpinOnlyWhenNoMoreRunnableThanTwiceTheProcessors(t *testing.T) {
	tests := []struct {
		loadavg    string
		processors int
		want       bool
	}{
		{"0.50 0.40 0.30 2/345 12345\n", 2, true},     // this pair alone
		{"5.00 4.00 3.00 4/345 12345\n", 2, true},     // two others
		{"15.00 14.00 13.00 5/345 12345\n", 2, false}, // three others: too many
		{"5.00 4.00 3.00 5/345 12345\n", 4, true},
		{"0.00 0.00 0.00 2/99 7\n", 1, true},
		{"0.00 0.00 0.00 1/99 7\n", 0, false},
		{"garbage", 2, false},
		{"1 2 3 x/345 1", 2, false},
		{"", 2, false},
	}
	for _, tt := range tests {
		if got := roomToSpin([]byte(tt.loadavg), tt.processors); got != tt.want {
			t.Errorf("roomToSpin(%q, %d) = %v, want %v", tt.loadavg, tt.processors, got, tt.want)
		}
	}
}
