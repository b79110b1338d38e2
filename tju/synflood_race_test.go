//go:build race

package tju

// floodUnderRace: under the race detector the listener reads under 1,000
// datagrams a second on the shared test machine, so any flood overflows its
// socket buffer and the test would measure the kernel's drops, not the
// listener: TestSynFloodRealSocket skips. Run it without -race.
const (
	floodUnderRace = true
	floodRate      = 50_000
	shortFloodRate = 5_000
)
