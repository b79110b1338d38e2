//go:build !race

package tju

// floodRate is the SYN rate of TestSynFloodRealSocket's full run: issue
// 11's 50,000 a second. The short run CI does floods at shortFloodRate:
// on the shared 2-core machine the listener reads 25,000 to 45,000
// datagrams a second while the flooder runs, and a SYN that overflows the
// socket buffer is lost whether it is the flood's or the client's.
const (
	floodRate      = 50_000
	shortFloodRate = 20_000
)
