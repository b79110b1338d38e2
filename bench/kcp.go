package main

import (
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"

	kcp "github.com/xtaci/kcp-go/v5"
)

// kcp-go tuned for bulk throughput the way its documentation and its
// reference user kcptun do it (the settings of kcp-go's own sink/echo
// benchmarks in sess_test.go and kcptun's "fast3" mode):
//
//   - SetNoDelay(1, 10, 2, 1): nodelay on (30 ms minimum RTO instead of
//     100 ms), a 10 ms internal update interval (the smallest kcp allows),
//     fast retransmit after 2 duplicate ACKs, and congestion control off
//     ("nc"), so the sender is limited only by the windows.
//   - SetWindowSize(1024, 1024): 1024 segments each way, as kcp-go's bulk
//     benchmarks use; the default 32 caps a stream at 32 segments per update.
//   - SetMtu(1400): kcp-go's default and the value its benchmarks use; the
//     library accepts up to 1500 (-kcp-mtu to try it).
//   - SetStreamMode(true): byte-stream mode, which packs writes into full
//     segments (message mode would send one message per segment).
//   - SetWriteDelay(false): Write flushes at once instead of waiting for the
//     next update tick.
//   - SetACKNoDelay: -kcp-acknodelay, default true (ACK every packet at once;
//     kcptun's default is false, which batches ACKs to the update tick).
//   - no FEC (dataShards = parityShards = 0): Reed-Solomon parity only pays
//     off when packets are lost; on loopback it would only burn CPU.
//   - no encryption (block = nil): kcp-go's README advises encryption for
//     real use; here it is off, so kcp-go pays none of the cost quic-go pays
//     for TLS 1.3.
//   - 7 MiB UDP socket buffers on both sockets (the size quic-go picks,
//     forced past net.core.rmem_max when root), above kcptun's 4 MiB.
var (
	kcpWnd         = flag.Int("kcp-wnd", 1024, "kcp-go send and receive window, in segments")
	kcpMTU         = flag.Int("kcp-mtu", 1400, "kcp-go MTU (at most 1500)")
	kcpInterval    = flag.Int("kcp-interval", 10, "kcp-go update interval in ms (SetNoDelay's second argument, at least 10)")
	kcpACKNoDelay  = flag.Bool("kcp-acknodelay", true, "kcp-go SetACKNoDelay: send each ACK at once")
	kcpBufReported bool
)

func init() {
	register(&transport{
		name:  "kcp",
		order: 3,
		// settings is filled in at listen time, after flags are parsed.
		eof:    false, // KCP has no FIN: the receiver stops at the byte count
		listen: kcpListen,
		dial:   kcpDial,
		stats:  kcpStats,
	})
}

func kcpSettings() string {
	return fmt.Sprintf("kcp-go %s: NoDelay(1,%d,2,1), window %d/%d, MTU %d, stream mode, write delay off, ACK no-delay %v, FEC off, crypt nil, asks 7 MiB UDP buffers like quic-go",
		moduleVersion("github.com/xtaci/kcp-go/v5"), *kcpInterval, *kcpWnd, *kcpWnd, *kcpMTU, *kcpACKNoDelay)
}

func tuneKCP(s *kcp.UDPSession) {
	//lint:ignore SA1019 kcp-go deprecates stream mode without a replacement; the comparison is of byte streams
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	s.SetNoDelay(1, *kcpInterval, 2, 1)
	s.SetWindowSize(*kcpWnd, *kcpWnd)
	s.SetMtu(*kcpMTU)
	s.SetACKNoDelay(*kcpACKNoDelay)
}

func kcpSocket(laddr *net.UDPAddr) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp4", laddr)
	if err != nil {
		return nil, err
	}
	rcv, snd := setUDPBuffers(c, udpBufferSize)
	if !kcpBufReported && rcv > 0 {
		kcpBufReported = true
		// Linux reports twice what it grants (the rest is its bookkeeping).
		if rcv < 2*udpBufferSize || snd < 2*udpBufferSize {
			addNote(fmt.Sprintf("kcp: UDP socket buffers limited: the kernel reports rcv %d / snd %d bytes for the %d asked (Linux reports double the grant)", rcv, snd, udpBufferSize))
		}
	}
	return c, nil
}

func kcpListen() (*server, error) {
	transports["kcp"].settings = kcpSettings()
	c, err := kcpSocket(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	ln, err := kcp.ServeConn(nil, 0, 0, c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &server{
		addr: c.LocalAddr().String(),
		accept: func() (io.ReadCloser, error) {
			s, err := ln.AcceptKCP()
			if err != nil {
				return nil, err
			}
			tuneKCP(s)
			return s, nil
		},
		close: func() error {
			ln.Close()
			return c.Close() // ServeConn does not own the socket
		},
	}, nil
}

func kcpDial(addr string) (io.WriteCloser, error) {
	raddr, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, err
	}
	c, err := kcpSocket(nil)
	if err != nil {
		return nil, err
	}
	var conv [4]byte
	if _, err := rand.Read(conv[:]); err != nil {
		c.Close()
		return nil, err
	}
	// ownConn = true: closing the session closes the socket.
	s, err := kcp.NewConn4(binary.LittleEndian.Uint32(conv[:]), raddr, nil, 0, 0, true, c)
	if err != nil {
		c.Close()
		return nil, err
	}
	tuneKCP(s)
	return s, nil
}

// kcpStats reports kcp-go's global SNMP counters over one transfer.
func kcpStats() func() string {
	before := kcp.DefaultSnmp.Copy()
	return func() string {
		a := kcp.DefaultSnmp.Copy()
		return fmt.Sprintf("kcp-go counters: out segs %d, in segs %d, retrans %d (fast %d, early %d, lost %d), repeat %d, input errors %d, UDP read errors %d",
			a.OutSegs-before.OutSegs, a.InSegs-before.InSegs, a.RetransSegs-before.RetransSegs,
			a.FastRetransSegs-before.FastRetransSegs, a.EarlyRetransSegs-before.EarlyRetransSegs,
			a.LostSegs-before.LostSegs, a.RepeatSegs-before.RepeatSegs,
			a.KCPInErrors-before.KCPInErrors, a.InErrs-before.InErrs)
	}
}
