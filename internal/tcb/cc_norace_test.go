//go:build !race

package tcb

// raceBuild reports a build with the race detector; see cc_race_test.go.
const raceBuild = false
