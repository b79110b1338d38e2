//go:build race

package tju

// floodRate is the SYN rate of TestSynFloodRealSocket under the race
// detector, which slows the listener about eightfold.
const (
	floodRate      = 10_000
	shortFloodRate = 5_000
)
