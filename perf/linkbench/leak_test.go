package linkbench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests: a bench ends its
// flows, servers and emulator before it returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
