package tju_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine they started is still
// running when they end: an endpoint's read loop or timer goroutine, a
// connection left in TIME_WAIT by an endpoint nobody closed, a blocked
// Accept. Closing an Endpoint ends all of its goroutines, TIME_WAIT
// included, so no test needs to wait 2*MSL.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
