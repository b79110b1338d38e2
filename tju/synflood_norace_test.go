//go:build !race

package tju

// floodRate is the SYN rate of TestSynFloodRealSocket: issue 11's 50,000
// a second.
const floodRate = 50_000
