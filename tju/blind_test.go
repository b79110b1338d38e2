package tju

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// A blind attacker knows both UDP addresses and both TJU ports but sees no
// traffic: it sends segments with the peer's source address and random
// sequence and acknowledgement numbers (RFC 5961's threat model). The
// kinds it can send:
var blindKinds = []struct {
	name    string
	flags   uint8
	payload bool
	window0 bool
}{
	{"RST", wire.FlagRST, false, false},
	{"RST|ACK", wire.FlagRST | wire.FlagACK, false, false},
	{"SYN", wire.FlagSYN, false, false},
	{"FIN", wire.FlagFIN | wire.FlagACK, false, false},
	{"data+ACK", wire.FlagACK, true, false},
	{"data without ACK", 0, true, false},
	{"pure ACK", wire.FlagACK, false, false},
	{"window-0 ACK", wire.FlagACK, false, true},
}

// blindCount is how many blind segments each kind sends against one
// transfer: TJU_BLIND_COUNT (issue 11 asks for 1,000,000:
// TJU_BLIND_COUNT=1000000 go test -run BlindInjection ./tju), default
// blindDefault.
func blindCount(t *testing.T) int {
	if s := os.Getenv("TJU_BLIND_COUNT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("TJU_BLIND_COUNT=%q: want a positive count", s)
		}
		return n
	}
	return blindDefault
}

// blindSegment forges one segment of the kind from port src to port dst.
// Against a tjunet connection the attacker adds what it can: the CRC
// (anyone can compute it), or a MAC option with random bytes.
func blindSegment(r *rand.Rand, buf []byte, flags uint8, payload, window0, tjunet bool, src, dst uint16) []byte {
	h := wire.Header{SrcPort: src, DstPort: dst, Seq: r.Uint32(), Ack: r.Uint32(), Flags: flags,
		Window: uint16(r.Uint32())}
	if window0 {
		h.Window = 0
	}
	n := 0
	if payload {
		n = 1 + r.IntN(1300)
	}
	useMAC := tjunet && r.IntN(2) == 0
	h.CRC = tjunet && !useMAC
	h.MAC = useMAC
	hl := wire.Put(buf, &h, n)
	for i := hl; i < hl+n; i += 8 {
		x := r.Uint64()
		for j := 0; j < 8 && i+j < hl+n; j++ {
			buf[i+j] = byte(x >> (8 * j))
		}
	}
	b := buf[:hl+n]
	switch {
	case useMAC:
		x := r.Uint64()
		for j := range 12 {
			b[wire.HeaderLen+2+j] = byte(x >> (5 * j))
		}
	case h.CRC:
		wire.Seal(b)
	}
	return b
}

// runBlind moves data from client to server while an attacker sends count
// blind segments of one kind, half spoofing the client to the server (the
// receiver: RSTs, data, FINs), half spoofing the server to the client (the
// sender: ACKs that would acknowledge unsent or unreceived bytes). The
// client keeps writing until the attack is over. It returns the bytes the
// server read and the two connections.
//
// taken counts the blind segments the two connections did not drop: per
// batch of blind segments (which holds the connection's lock from its
// first segment on, so that no real one interleaves), the batch's size
// less the growth of the counters of dropped segments.
func runBlind(t *testing.T, count int, flags uint8, payload, window0, plain bool) (sent int, got []byte, c, s *Conn, v *vnet, taken uint64, err error) {
	cfg := &Config{Plain: plain}
	v = newVNet(t, testLink, testLink, cfg, cfg)
	l := v.listen()
	c, s = v.pair(l)
	cport := c.LocalAddr().(*Addr).Port
	done := make(chan struct{})
	go func() { // the attacker: batches of 2,000 every virtual millisecond
		defer close(done)
		r := rand.New(rand.NewPCG(uint64(flags)<<8|uint64(count), 99))
		buf := make([]byte, wire.MaxDatagram)
		// Each datagram enters the endpoint where the socket's reader
		// hands it over (Endpoint.input), as if it had arrived from the
		// spoofed address: the million costs seconds, not the minutes a
		// trip through the emulated link would. TestBlindInjectionRealSocket
		// sends them through a real socket.
		toServer, toClient := segRun{e: v.se}, segRun{e: v.ce}
		dropped := func() uint64 {
			ci, si := c.Info(), s.Info()
			return ci.OutOfWindow + ci.DuplicateSegs + ci.BadACKs + ci.DroppedBadMAC +
				si.OutOfWindow + si.DuplicateSegs + si.BadACKs + si.DroppedBadMAC
		}
		for i := 0; i < count; {
			d0, i0 := dropped(), i
			for j := 0; j < 2000 && i < count; j, i = j+1, i+1 {
				if i%2 == 0 {
					v.se.input(blindSegment(r, buf, flags, payload, window0, !plain, cport, 1234), vClientAddr, &toServer)
				} else {
					v.ce.input(blindSegment(r, buf, flags, payload, window0, !plain, 1234, cport), vServerAddr, &toClient)
				}
			}
			toServer.flush()
			toClient.flush()
			toServer.flushCookies()
			toClient.flushCookies()
			if n, d := uint64(i-i0), dropped()-d0; d < n {
				taken += n - d
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wr := make(chan error, 1)
	const chunk = 64 << 10
	go func() {
		for {
			select {
			case <-done:
				wr <- c.CloseWrite()
				return
			default:
			}
			if _, err := c.Write(patternBytes(5, sent, chunk)); err != nil {
				wr <- err
				return
			}
			sent += chunk
		}
	}()
	rd := readAllAsync(s)
	select {
	case r := <-rd:
		got, err = r.b, r.err
	case <-time.After(5 * time.Minute):
		err = fmt.Errorf("transfer stalled: server read nothing to EOF within 5 min (client %+v, server %+v)", c.Info(), s.Info())
	}
	if werr := <-wr; werr != nil && err == nil {
		err = fmt.Errorf("client write: %w", werr)
	}
	<-done
	return sent, got, c, s, v, taken, err
}

// On a tjunet connection no blind segment does anything: every one fails
// the MAC and is counted; the transfer is exact, with no reset and no
// stall, for each kind.
func TestBlindInjectionTjunet(t *testing.T) {
	count := blindCount(t)
	for _, k := range blindKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sent, got, c, s, v, taken, err := runBlind(t, count, k.flags, k.payload, k.window0, false)
				defer v.close()
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != sent || !bytes.Equal(got, patternBytes(5, 0, sent)) {
					t.Fatalf("server read %d bytes of %d; equal %v", len(got), sent, bytes.Equal(got, patternBytes(5, 0, min(sent, len(got)))))
				}
				if taken != 0 {
					t.Errorf("%d blind segments were not dropped", taken)
				}
				bad := v.se.Stats().BadMAC + v.ce.Stats().BadMAC
				lost := v.se.Stats().DatagramsIn + v.ce.Stats().DatagramsIn // (for the log)
				if bad < uint64(count)*99/100 {
					t.Errorf("%d of %d blind segments counted as failing the MAC", bad, count)
				}
				ci, si := c.Info(), s.Info()
				t.Logf("%d blind %s segments: %d failed the MAC (%d datagrams in); %d bytes moved; client retransmits %d",
					count, k.name, bad, lost, sent, ci.Retransmits)
				if ci.State == StateClosed || si.State == StateClosed {
					t.Errorf("a connection was closed by the attack: client %v, server %v", ci.State, si.State)
				}
			})
		})
	}
}

// On a plain (lab) connection the defences are TCP's, and the test checks
// RFC 5961's bounds. With a receive window of W <= 65,535 bytes and a
// largest send window plus flight F of the same order, a blind segment
// succeeds with these odds:
//   - RST: only at exactly RCV.NXT: 2^-32 (an in-window one gets a
//     challenge ACK);
//   - SYN: never (a challenge ACK);
//   - FIN, data with ACK, pure ACK, window-0 ACK: the sequence number must
//     be in the window (W/2^32, about 2^-16) and the ACK within
//     [SND.UNA - MAX.SND.WND, SND.NXT] (F/2^32): about 2^-31;
//   - data without ACK, which lab peers send and so must be taken: the
//     segment must overlap the window, (W + len)/2^32, about 2^-16. Over
//     half a million segments a few land and corrupt the stream: that is
//     what stays possible against a lab peer (docs/protocol.md), and the
//     test checks the number that got in, not the bytes.
//
// Challenge ACKs stay within 10 a second per connection.
func TestBlindInjectionPlain(t *testing.T) {
	count := blindCount(t)
	for _, k := range blindKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				sent, got, c, s, v, taken, err := runBlind(t, count, k.flags, k.payload, k.window0, true)
				defer v.close()
				elapsed := time.Since(start)
				ci, si := c.Info(), s.Info()
				chal := ci.ChallengeACKs + si.ChallengeACKs
				if limit := 2 * 10 * (uint64(elapsed/time.Second) + 1); chal > limit {
					t.Errorf("%d challenge ACKs in %v, want at most %d", chal, elapsed, limit)
				}
				if k.flags == 0 {
					const w = 65535 + 1300
					expect := float64(count) * (2 * w) / (1 << 32) // old duplicates count too
					bound := uint64(expect + 6*math.Sqrt(expect) + 10)
					t.Logf("%d blind data segments without ACK: %d taken (odds %.1e each, about %.0f expected, bound %d); stream intact %v, states %v %v",
						count, taken, 2*float64(w)/(1<<32), expect, bound, err == nil && bytes.Equal(got, patternBytes(5, 0, sent)), ci.State, si.State)
					if taken > bound {
						t.Errorf("%d blind segments taken, more than RFC 5961's odds allow (%d)", taken, bound)
					}
					return
				}
				if ci.State == StateClosed || si.State == StateClosed {
					t.Fatalf("a connection was closed by the attack: client %v, server %v (%v)", ci.State, si.State, err)
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != sent || !bytes.Equal(got, patternBytes(5, 0, sent)) {
					t.Fatalf("server read %d bytes of %d; stream equal %v", len(got), sent, bytes.Equal(got, patternBytes(5, 0, min(sent, len(got)))))
				}
				t.Logf("%d blind %s segments: %d bytes intact; out of window %d, bad ACKs %d, challenge ACKs %d",
					count, k.name, sent, ci.OutOfWindow+si.OutOfWindow, ci.BadACKs+si.BadACKs, chal)
			})
		})
	}
}
