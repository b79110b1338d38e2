//go:build !race

package tju

// raceEnabled reports a build with the race detector.
const raceEnabled = false
