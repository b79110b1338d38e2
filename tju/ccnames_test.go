package tju

import (
	"strings"
	"testing"
)

// TestCongestionControlsAreTheEngines holds the exported list to the
// engine: every name listed is accepted by Config, and a name not listed
// is refused with the list in the error.
func TestCongestionControlsAreTheEngines(t *testing.T) {
	for _, name := range CongestionControlNames() {
		if err := (&Config{CongestionControl: name}).validate(); err != nil {
			t.Errorf("%q is listed but Config refuses it: %v", name, err)
		}
		if !IsCongestionControl(strings.ToUpper(name)) {
			t.Errorf("IsCongestionControl(%q) = false", strings.ToUpper(name))
		}
	}
	err := (&Config{CongestionControl: "vegas"}).validate()
	if err == nil || !strings.Contains(err.Error(), "want bbr, reno or cubic") {
		t.Errorf("vegas: %v, want an error listing bbr, reno or cubic", err)
	}
	if IsCongestionControl("vegas") {
		t.Error("vegas is not one of ours")
	}
}
