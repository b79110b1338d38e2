package tcb

import (
	"strings"
	"testing"
)

func TestConfigValidateRejectsUnknownCongestionControl(t *testing.T) {
	for _, name := range []string{"", "reno", "cubic", "bbr"} {
		c := Config{CongestionControl: name}
		if err := c.Validate(); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	c := Config{CongestionControl: "vegas"}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), `"vegas"`) {
		t.Fatalf("Validate of vegas = %v, want an error naming it", err)
	}
}

func TestNewWithUnknownCongestionControlPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewActive ran an unknown congestion control (it used to become reno)")
		}
	}()
	NewActive(Config{CongestionControl: "vegas", RecvBufSize: 1 << 16, SendBufSize: 1 << 16}, 0)
}
