package tju

// Robustness against what the network or an attacker can send: datagrams
// that are too short, have wrong lengths or options, fail the checksum, are
// random bytes, or are valid segments for no connection or for the wrong
// place in a live one. Each is dropped and counted in Endpoint.Stats, none
// panics, and a transfer running on the same endpoint is undisturbed.

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
	"github.com/tjunet/tjunet/netem"
)

// junk is a set of datagrams and the counters they must raise.
type junk struct {
	datagrams                          [][]byte
	malformed, badChecksum, noConn     uint64
	shortCount, lengthCount, optsCount int
}

// segment encodes a segment with h and payload p.
func segment(h wire.Header, p []byte) []byte {
	b := make([]byte, wire.MaxDatagram)
	hl := wire.Put(b, &h, len(p))
	copy(b[hl:], p)
	b = b[:hl+len(p)]
	if h.CRC {
		wire.Seal(b)
	}
	return b
}

// makeJunk builds the malformed datagrams of the tests: every class, plus
// count random ones from r that do not decode.
func makeJunk(r *rand.Rand, count int) *junk {
	j := &junk{}
	add := func(b []byte, class *uint64) {
		j.datagrams = append(j.datagrams, b)
		(*class)++
	}
	valid := segment(wire.Header{SrcPort: 7, DstPort: 1234, Seq: 1, Ack: 2, Flags: wire.FlagACK, Window: 100}, []byte("payload"))

	// Shorter than the 20-byte header, the empty datagram included.
	for n := 0; n < wire.HeaderLen; n++ {
		add(append([]byte(nil), valid[:n]...), &j.malformed)
		j.shortCount++
	}
	// Header length below 20, above 60, or beyond the datagram.
	for _, hl := range []uint16{0, 1, 19, 61, 64, 0xffff, uint16(len(valid) + 4)} {
		b := append([]byte(nil), valid...)
		binary.BigEndian.PutUint16(b[12:], hl)
		add(b, &j.malformed)
		j.lengthCount++
	}
	// Packet length not the datagram's length.
	for _, pl := range []int{0, 20, len(valid) - 1, len(valid) + 1, 0xffff} {
		b := append([]byte(nil), valid...)
		binary.BigEndian.PutUint16(b[14:], uint16(pl))
		add(b, &j.malformed)
		j.lengthCount++
	}
	// Longer than the lab's 1400 bytes, with consistent length fields.
	for _, n := range []int{wire.MaxDatagram + 1, 2000, 9000} {
		b := make([]byte, n)
		copy(b, valid[:wire.HeaderLen])
		binary.BigEndian.PutUint16(b[12:], wire.HeaderLen)
		binary.BigEndian.PutUint16(b[14:], uint16(n))
		add(b, &j.malformed)
		j.lengthCount++
	}
	// Malformed options: a length byte of 0, 1 or past the header; a
	// window scale above 14; a SACK option of 7 bytes; a truncated kind.
	for _, opts := range [][]byte{
		{wire.OptSACKPermit, 0, 1, 1},
		{wire.OptSACKPermit, 1, 1, 1},
		{wire.OptWindowScale, 9, 1, 1},
		{wire.OptWindowScale, 3, 15, 1},
		{wire.OptSACK, 7, 0, 0, 0, 0, 0, 1},
		{wire.OptCRC32C, 6, 0, 0, 0, 0, wire.OptCRC32C, 6, 0, 0, 0, 0},
		{1, 1, 1, wire.OptSACK},
	} {
		hl := wire.HeaderLen + len(opts)
		b := make([]byte, hl)
		copy(b, valid[:wire.HeaderLen])
		copy(b[wire.HeaderLen:], opts)
		binary.BigEndian.PutUint16(b[12:], uint16(hl))
		binary.BigEndian.PutUint16(b[14:], uint16(hl))
		add(b, &j.malformed)
		j.optsCount++
	}
	// A valid checksummed segment with one bit flipped, anywhere after
	// the length fields (a flip there would make it malformed instead).
	sealed := segment(wire.Header{SrcPort: 7, DstPort: 1234, Seq: 1, Ack: 2, Flags: wire.FlagACK, Window: 100, CRC: true},
		[]byte("a checksummed payload"))
	for bit := 16 * 8; bit < len(sealed)*8; bit += 13 {
		b := append([]byte(nil), sealed...)
		b[bit/8] ^= 1 << (bit % 8)
		var s wire.Segment
		switch wire.Decode(b, &s) {
		case wire.ErrBadChecksum:
			add(b, &j.badChecksum)
		case nil:
		default:
			add(b, &j.malformed) // the flip broke an option
		}
	}
	// Random bytes of random lengths that do not decode.
	for range count {
		for {
			b := randomBytes(r, r.IntN(wire.MaxDatagram+200))
			var s wire.Segment
			err := wire.Decode(b, &s)
			if err == nil {
				continue
			}
			if err == wire.ErrBadChecksum {
				add(b, &j.badChecksum)
			} else {
				add(b, &j.malformed)
			}
			break
		}
	}
	// Valid segments for no connection: an ACK and a FIN to a port nobody
	// uses, and an ACK (not a SYN) to the listening port. No checksum
	// option, so no reset goes back.
	for _, h := range []wire.Header{
		{SrcPort: 7, DstPort: 999, Seq: 1, Ack: 2, Flags: wire.FlagACK},
		{SrcPort: 7, DstPort: 999, Seq: 1, Ack: 2, Flags: wire.FlagFIN | wire.FlagACK},
		{SrcPort: 7, DstPort: 1234, Seq: 1, Ack: 2, Flags: wire.FlagACK},
	} {
		add(segment(h, []byte("nobody")), &j.noConn)
	}
	return j
}

// statsDelta returns b - a for the drop counters.
func statsDelta(a, b EndpointStats) EndpointStats {
	return EndpointStats{
		Malformed: b.Malformed - a.Malformed, BadChecksum: b.BadChecksum - a.BadChecksum,
		NoConnection: b.NoConnection - a.NoConnection, BadMAC: b.BadMAC - a.BadMAC, ResetsSent: b.ResetsSent - a.ResetsSent,
		DatagramsIn: b.DatagramsIn - a.DatagramsIn,
	}
}

// While a 4 MiB transfer runs, a third host sends the server every kind of
// malformed datagram, and the client's own address sends forged segments
// for the live connection: a copy of a real one with a flipped bit, one
// without the negotiated checksum, a RST and data outside the window, an
// ACK of unsent data, a SYN. The counters match exactly, and the transfer
// completes intact with no reset.
func TestRobustMalformedDatagrams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		const size = 4 << 20
		data := patternBytes(7, 0, size)
		rd := readAllAsync(s)
		wr := make(chan error, 1)
		go func() {
			_, err := c.Write(data)
			if err == nil {
				err = c.CloseWrite()
			}
			wr <- err
		}()
		time.Sleep(50 * time.Millisecond) // the transfer is under way
		before := v.se.Stats()

		attacker, err := v.net.Attach(netip.MustParseAddrPort("172.17.0.66:20218"), netem.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer attacker.Close()
		j := makeJunk(rand.New(rand.NewPCG(1, 2)), 500)
		for _, b := range j.datagrams {
			if _, err := attacker.WriteToUDPAddrPort(b, vServerAddr); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Microsecond) // interleave with the transfer
		}

		// Forged segments from the client's address for the live
		// connection, built from what the client really sent.
		data0 := v.cl.sent(recData)[0]
		cport, sport := c.LocalAddr().(*Addr).Port, uint16(1234)
		peerNxt := v.sv.sent(nil)[0].seq + 1 // the server's ISN + 1: it sent nothing yet
		forge := func(h wire.Header, p []byte) {
			h.SrcPort, h.DstPort = cport, sport
			if _, err := v.cl.PacketConn.WriteToUDPAddrPort(segment(h, p), vServerAddr); err != nil {
				t.Fatal(err)
			}
		}
		bad := segment(wire.Header{SrcPort: cport, DstPort: sport, Seq: data0.seq, Ack: peerNxt, Flags: wire.FlagACK,
			Window: 1000, CRC: true}, []byte("forged"))
		bad[len(bad)-1] ^= 0x40
		v.cl.PacketConn.WriteToUDPAddrPort(bad, vServerAddr)
		// Without the MAC both sides negotiated: dropped by the
		// connection (Info.DroppedBadMAC), whatever it says.
		forge(wire.Header{Seq: data0.seq, Ack: peerNxt, Flags: wire.FlagACK | wire.FlagRST}, nil)
		forge(wire.Header{Seq: data0.seq, Ack: peerNxt, Flags: wire.FlagACK}, []byte("no checksum"))
		// With a valid CRC-32C, which anyone can compute, but no MAC: a
		// RST far outside the window, data far beyond the window, an ACK
		// of bytes never sent, a SYN on the established connection.
		forge(wire.Header{Seq: data0.seq + 1<<30, Ack: peerNxt, Flags: wire.FlagACK | wire.FlagRST, CRC: true}, nil)
		forge(wire.Header{Seq: data0.seq + 1<<30, Ack: peerNxt, Flags: wire.FlagACK, Window: 100, CRC: true}, []byte("far"))
		forge(wire.Header{Seq: data0.seq, Ack: peerNxt + 1<<20, Flags: wire.FlagACK, Window: 100, CRC: true}, nil)
		forge(wire.Header{Seq: data0.seq - 1, Flags: wire.FlagSYN, CRC: true, SACKPermitted: true}, nil)
		time.Sleep(20 * time.Millisecond) // the forged ones cross the 10 ms link

		d := statsDelta(before, v.se.Stats())
		if d.Malformed != j.malformed || d.BadChecksum != j.badChecksum+1 || d.NoConnection != j.noConn {
			t.Errorf("counted malformed %d, bad checksum %d, no connection %d; want %d, %d, %d",
				d.Malformed, d.BadChecksum, d.NoConnection, j.malformed, j.badChecksum+1, j.noConn)
		}
		if d.ResetsSent != 0 {
			t.Errorf("%d resets sent for segments without options", d.ResetsSent)
		}
		if n := s.Info().DroppedBadMAC; n != 6 || d.BadMAC != 6 {
			t.Errorf("server connection dropped %d segments without the MAC (endpoint counted %d), want 6", n, d.BadMAC)
		}
		t.Logf("%d junk datagrams: %d short, %d bad lengths, %d bad options, malformed %d, bad checksum %d, no connection %d",
			len(j.datagrams), j.shortCount, j.lengthCount, j.optsCount, j.malformed, j.badChecksum, j.noConn)

		if err := <-wr; err != nil {
			t.Fatalf("client write: %v", err)
		}
		r := <-rd
		if r.err != nil || string(r.b) != string(data) {
			t.Fatalf("server read %d of %d bytes, %v; equal %v", len(r.b), size, r.err, string(r.b) == string(data))
		}
		if st := stateOf(s); st != StateCloseWait {
			t.Errorf("server connection %v, want CLOSE_WAIT", st)
		}
		s.Close()
		<-c.Done()
		<-s.Done()
		if err := c.Close(); err != nil {
			t.Errorf("client Close after a clean teardown: %v", err)
		}
	})
}

// Junk on a real UDP socket (the endpoint's GRO receive path on Linux):
// dropped and counted, and the endpoint still accepts a connection.
func TestRobustMalformedDatagramsRealSocket(t *testing.T) {
	l, err := Listen("127.0.0.1:0", shortTimeWait())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e := l.Endpoint()
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	to := e.Addr().(*net.UDPAddr)
	j := makeJunk(rand.New(rand.NewPCG(3, 4)), 300)
	// Batches of 16, each sent once the endpoint has read the previous
	// one, so that a busy machine cannot overflow the socket buffer.
	deadline := time.Now().Add(30 * time.Second)
	for i, b := range j.datagrams {
		if _, err := u.WriteToUDP(b, to); err != nil {
			t.Fatalf("datagram %d (%d bytes): %v", i, len(b), err)
		}
		if i%16 == 15 || i == len(j.datagrams)-1 {
			for e.Stats().DatagramsIn < uint64(i+1) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	want := uint64(len(j.datagrams))
	// DatagramsIn counts a datagram as it is read, the verdict's counter
	// a moment later: wait for every verdict before comparing.
	st := e.Stats()
	for st.Malformed+st.BadChecksum+st.NoConnection < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
		st = e.Stats()
	}
	if st.DatagramsIn != want || st.Malformed != j.malformed || st.BadChecksum != j.badChecksum || st.NoConnection != j.noConn {
		t.Errorf("stats %+v; want %d datagrams: malformed %d, bad checksum %d, no connection %d",
			st, want, j.malformed, j.badChecksum, j.noConn)
	}
	go func() {
		c, err := l.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	c, err := Dial(l.Addr().String(), shortTimeWait())
	if err != nil {
		t.Fatalf("dial after the junk: %v", err)
	}
	defer c.Close()
	msg := []byte("still alive")
	c.Write(msg)
	c.CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != string(msg) {
		t.Fatalf("echo %q, %v", got, err)
	}
}
