//go:build !race

package tju

// floodRate is the SYN rate of TestSynFloodRealSocket's full run: issue
// 11's 50,000 a second. The short run CI does floods at shortFloodRate:
// on the shared 2-core machine, loaded by the other test processes, the
// listener reads 25,000 to 45,000 datagrams a second (fewer when the load
// peaks), and a SYN that overflows the socket buffer is lost whether it is
// the flood's or the client's, which would make the test measure the
// machine rather than the listener.
const (
	floodUnderRace = false
	floodRate      = 50_000
	shortFloodRate = 5_000
)
