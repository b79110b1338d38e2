package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// udpBufferSize is what the UDP transports ask for as socket send and
// receive buffers: the 7 MiB quic-go asks for itself, so kcp-go gets the
// same room (kcptun's default, 4 MiB, is below it).
const udpBufferSize = 7 << 20

var (
	notesMu sync.Mutex
	notes   []string
)

// addNote records something the reader of the figures should know, once.
func addNote(s string) {
	notesMu.Lock()
	defer notesMu.Unlock()
	for _, n := range notes {
		if n == s {
			return
		}
	}
	notes = append(notes, s)
}

func takeNotes() []string {
	notesMu.Lock()
	defer notesMu.Unlock()
	return append([]string(nil), notes...)
}

func readSysctl(name string) (int, bool) {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return v, err == nil
}

// udpBufferNotes describes the system limits on UDP socket buffers, which
// bound quic-go and kcp-go (and, likely, tju) on a fast path like loopback.
func udpBufferNotes() []string {
	var out []string
	rmax, ok1 := readSysctl("net.core.rmem_max")
	wmax, ok2 := readSysctl("net.core.wmem_max")
	if !ok1 || !ok2 {
		return nil
	}
	s := fmt.Sprintf("net.core.rmem_max=%d, net.core.wmem_max=%d", rmax, wmax)
	if rmax >= udpBufferSize && wmax >= udpBufferSize {
		out = append(out, s+": UDP buffers of 7 MiB are allowed")
		return out
	}
	s += " (below the 7 MiB quic-go asks for): UDP socket buffers get at most that much. " +
		"quic-go logs no warning here, because Linux reports twice the granted size, so the capped buffer already looks like 7 MiB to it " +
		"and it does not try SO_RCVBUFFORCE; the kcp sockets are set up the same way."
	s += fmt.Sprintf(" To give both 7 MiB, as root: sysctl -w net.core.rmem_max=%d net.core.wmem_max=%d", 7500000, 7500000)
	out = append(out, s)
	return out
}

// setUDPBuffers sets both socket buffers of c to n bytes, forcing past the
// sysctl limits where the process may, and returns what the kernel reports
// (Linux reports twice the usable size it was given).
func setUDPBuffers(c *net.UDPConn, n int) (rcv, snd int) {
	_ = c.SetReadBuffer(n)
	_ = c.SetWriteBuffer(n)
	rcv, snd = forceUDPBuffers(c, n)
	return rcv, snd
}
