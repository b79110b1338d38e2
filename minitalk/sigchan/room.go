package sigchan

import (
	"bytes"
	"strconv"
)

// Whether to spin depends on the machine's load, and changes with it. On a
// machine with a free processor for each side, a spinning side sees its
// answer in a few microseconds, where a sleeping one must be woken up, which
// costs more than the whole exchange. On a loaded one the peer rarely runs at
// the same moment: spins fail, take the processor from others (the peer
// among them), and a thread pinned away from its peer must wait for its own
// processor to be woken, where a free one is often woken on the processor of
// the peer, which is about to sleep. Measured here (2 processors), spinning
// pinned made a transfer 6 times faster than sleeping at a load average of
// 5, about as fast at 12 to 14, and 2 to 3 times slower at 15 to 20. So a
// Port spins only while the number of runnable threads the kernel reports
// (the pair's own included) is no more than twice the processors.

// runnable parses /proc/loadavg ("0.50 0.40 0.30 2/345 12345") and returns
// the number of threads runnable at this moment (the running ones included).
func runnable(loadavg []byte) (int, bool) {
	f := bytes.Fields(loadavg)
	if len(f) < 4 {
		return 0, false
	}
	r, _, ok := bytes.Cut(f[3], []byte("/"))
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(r))
	return n, err == nil
}

// roomToSpin reports whether a pair of processes may spin: loadavg (the
// contents of /proc/loadavg, read by a thread that is itself running) shows
// no more runnable threads than twice the processors.
func roomToSpin(loadavg []byte, processors int) bool {
	n, ok := runnable(loadavg)
	return ok && processors > 0 && n <= 2*processors
}
