package wire

import (
	"bytes"
	"testing"
)

func testKeys() *KeyInput {
	in := &KeyInput{ClientISN: 7, ServerISN: 9, ClientPort: 5678, ServerPort: 1234}
	for i := range in.ClientSecret {
		in.ClientSecret[i], in.ServerSecret[i] = byte(i), byte(100+i)
	}
	return in
}

func signed(m *MAC, h *Header, payload []byte) []byte {
	b := make([]byte, h.Len()+len(payload))
	hl := Put(b, h, len(payload))
	copy(b[hl:], payload)
	m.Sign(b)
	return b
}

func TestMACRoundTripAndTampering(t *testing.T) {
	client, server := NewMAC(testKeys(), true), NewMAC(testKeys(), false)
	h := Header{SrcPort: 5678, DstPort: 1234, Seq: 100, Ack: 200, Flags: FlagACK, Window: 9, MAC: true,
		SACK: []Block{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}
	if hl := h.Len(); hl > HeaderLen+MaxOptionsLen || hl%4 != 0 {
		t.Fatalf("header length %d", hl)
	}
	payload := bytes.Repeat([]byte("tjunet"), 200)
	b := signed(client, &h, payload)
	var s Segment
	if err := Decode(b, &s); err != nil {
		t.Fatal(err)
	}
	if !s.HasMAC || s.HasCRC || s.NumSACK != 3 || !bytes.Equal(s.Payload, payload) {
		t.Fatalf("decoded %+v", s.Options)
	}
	orig := bytes.Clone(b)
	if !server.Verify(&s) {
		t.Fatal("authentic segment rejected")
	}
	if !bytes.Equal(b, orig) {
		t.Fatal("Verify changed the datagram")
	}
	if client.Verify(&s) {
		t.Fatal("a segment verified in the direction it was sent: reflection would pass")
	}
	// Every single-bit change is caught (the ones Decode accepts).
	for i := range b {
		for bit := range 8 {
			c := bytes.Clone(orig)
			c[i] ^= 1 << bit
			var x Segment
			if Decode(c, &x) != nil {
				continue
			}
			if server.Verify(&x) {
				t.Fatalf("flipping bit %d of byte %d went unnoticed", bit, i)
			}
		}
	}
	// Another connection's keys (other ISN) reject it.
	in := testKeys()
	in.ServerISN++
	if NewMAC(in, false).Verify(&s) {
		t.Fatal("segment verified under another connection's key")
	}
}

func TestMACSegmentsWithoutMACFail(t *testing.T) {
	m := NewMAC(testKeys(), false)
	h := Header{Flags: FlagACK, CRC: true}
	b := encode(&h, nil)
	var s Segment
	if err := Decode(b, &s); err != nil {
		t.Fatal(err)
	}
	if m.Verify(&s) {
		t.Fatal("a CRC-only segment passed")
	}
}

func TestMACCounterExpansion(t *testing.T) {
	var m MAC
	if got := m.expand(5); got != 5 {
		t.Fatalf("first: %d", got)
	}
	m.recvAny, m.recvMax = true, 1<<32-2
	if got := m.expand(1); got != 1<<32+1 {
		t.Fatalf("after wrap: %#x", got)
	}
	if got := m.expand(1<<32 - 10); got != 1<<32-10 {
		t.Fatalf("late segment before wrap: %#x", got)
	}
	m.recvMax = 1<<32 + 3
	if got := m.expand(0xfffffff0); got != 0xfffffff0 {
		t.Fatalf("late segment from before the wrap: %#x", got)
	}
	// Counters keep verifying across a 32-bit wrap.
	client, server := NewMAC(testKeys(), true), NewMAC(testKeys(), false)
	client.sendCtr = 1<<32 - 2
	server.recvMax, server.recvAny = 1<<32-3, true
	for range 5 {
		b := signed(client, &Header{Flags: FlagACK, MAC: true}, []byte("x"))
		var s Segment
		if err := Decode(b, &s); err != nil || !server.Verify(&s) {
			t.Fatalf("counter %#x: %v", client.sendCtr-1, err)
		}
	}
}

func TestHandshakeOptionsFit(t *testing.T) {
	syn := Header{Flags: FlagSYN, CRC: true, HasWindowScale: true, SACKPermitted: true, RSTPermitted: true, Auth: true}
	synAck := syn
	synAck.CRC, synAck.MAC = false, true
	for _, h := range []Header{syn, synAck} {
		if h.Len() > HeaderLen+MaxOptionsLen {
			t.Fatalf("handshake header %d bytes", h.Len())
		}
	}
	synAck.AuthFlags = AuthStateless
	synAck.Secret[3] = 42
	b := signed(NewMAC(testKeys(), false), &synAck, nil)
	var s Segment
	if err := Decode(b, &s); err != nil {
		t.Fatal(err)
	}
	if !s.HasAuth || s.AuthFlags != AuthStateless || s.Secret[3] != 42 || !s.HasMAC || !s.HasWindowScale {
		t.Fatalf("%+v", s.Options)
	}
	if !NewMAC(testKeys(), true).Verify(&s) {
		t.Fatal("SYN-ACK did not verify")
	}
}

func BenchmarkMACSign(b *testing.B) {
	m := NewMAC(testKeys(), true)
	h := Header{Flags: FlagACK, MAC: true}
	buf := make([]byte, MaxDatagram)
	Put(buf, &h, MaxDatagram-h.Len())
	b.SetBytes(MaxDatagram)
	b.ReportAllocs()
	for range b.N {
		m.Sign(buf)
	}
}

func BenchmarkMACVerify(b *testing.B) {
	client, server := NewMAC(testKeys(), true), NewMAC(testKeys(), false)
	h := Header{Flags: FlagACK, MAC: true}
	buf := make([]byte, MaxDatagram)
	Put(buf, &h, MaxDatagram-h.Len())
	client.Sign(buf)
	var s Segment
	if err := Decode(buf, &s); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(MaxDatagram)
	b.ReportAllocs()
	for range b.N {
		if !server.Verify(&s) {
			b.Fatal("rejected")
		}
	}
}
