package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func encode(h *Header, payload []byte) []byte {
	b := make([]byte, h.Len()+len(payload))
	hl := Put(b, h, len(payload))
	copy(b[hl:], payload)
	if h.CRC {
		Seal(b)
	}
	return b
}

func TestPlainHeaderMatchesLabLayout(t *testing.T) {
	h := Header{SrcPort: 5678, DstPort: 1234, Seq: 0x01020304, Ack: 0x05060708, Flags: FlagSYN | FlagACK, Window: 32}
	b := encode(&h, []byte("hi"))
	want := []byte{
		0x16, 0x2e, 0x04, 0xd2, // ports 5678, 1234
		1, 2, 3, 4, 5, 6, 7, 8, // seq, ack
		0, 20, 0, 22, // hlen, plen
		0x0c, 0, 32, 0, // flags, window, ext
		'h', 'i',
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded\n%x\nwant\n%x", b, want)
	}
}

func TestRoundTripWithEveryOption(t *testing.T) {
	h := Header{
		SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: FlagACK, Window: 5, CRC: true,
		HasWindowScale: true, WindowScale: 7, SACKPermitted: true, RSTPermitted: true,
		SACK: []Block{{10, 20}, {30, 40}, {50, 60}, {70, 80}, {90, 100}},
	}
	payload := bytes.Repeat([]byte{0xab}, 100)
	b := encode(&h, payload)
	if len(b)%4 != len(payload)%4 {
		t.Fatalf("header not padded to 4 bytes: %d", len(b)-len(payload))
	}
	var s Segment
	if err := Decode(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.SrcPort != 1 || s.DstPort != 2 || s.Seq != 3 || s.Ack != 4 || s.Flags != FlagACK || s.Window != 5 {
		t.Fatalf("header fields: %+v", s)
	}
	if !s.HasCRC || !s.HasWindowScale || s.WindowScale != 7 || !s.SACKPermitted || !s.RSTPermitted {
		t.Fatalf("options: %+v", s.Options)
	}
	if s.NumSACK != 3 || s.SACK[2] != (Block{50, 60}) {
		t.Fatalf("sack blocks that fit beside the SYN options: %+v", s.Options)
	}
	if !bytes.Equal(s.Payload, payload) {
		t.Fatal("payload differs")
	}
	h = Header{Flags: FlagACK, CRC: true, SACK: h.SACK}
	if err := Decode(encode(&h, nil), &s); err != nil {
		t.Fatal(err)
	}
	if s.NumSACK != MaxSACKBlocks || s.SACK[3] != (Block{70, 80}) {
		t.Fatalf("sack: %+v", s.Options)
	}
}

func TestDecodeRejectsMalformedDatagrams(t *testing.T) {
	good := encode(&Header{Flags: FlagACK, CRC: true}, []byte("payload"))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"19 bytes", make([]byte, 19), ErrShort},
		{"too long", make([]byte, 1401), ErrTooLong},
		{"hlen below 20", mut(func(b []byte) []byte { b[13] = 19; return b }), ErrHeaderLen},
		{"hlen beyond datagram", mut(func(b []byte) []byte { b[13] = 60; return b }), ErrPacketLen},
		{"plen too large", mut(func(b []byte) []byte { b[15]++; return b }), ErrPacketLen},
		{"plen too small", mut(func(b []byte) []byte { b[15]--; return b }), ErrPacketLen},
		{"truncated", good[:len(good)-1], ErrPacketLen},
		{"flipped payload bit", mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrBadChecksum},
		{"flipped header bit", mut(func(b []byte) []byte { b[5] ^= 0x10; return b }), ErrBadChecksum},
		{"option length zero", mut(func(b []byte) []byte { b[21] = 0; return b }), ErrBadOption},
		{"option past header", mut(func(b []byte) []byte { b[21] = 9; return b }), ErrBadOption},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Segment
			if err := Decode(c.b, &s); !errors.Is(err, c.want) {
				t.Fatalf("Decode = %v, want %v", err, c.want)
			}
		})
	}
}

// The lab's ext byte carries nothing: whatever a peer puts there, every
// other field decodes as it would with a zero (it is reported in Ext, and
// only there).
func TestExtByteIsIgnored(t *testing.T) {
	for _, h := range []Header{
		{Flags: FlagSYN},
		{Flags: FlagSYN | FlagACK, Seq: 7, Ack: 9, HasWindowScale: true, WindowScale: 5, SACKPermitted: true, RSTPermitted: true},
		{Flags: FlagACK, Seq: 1 << 31, Ack: 3, Window: 1234, SACK: []Block{{10, 20}, {30, 40}}},
		{Flags: FlagFIN | FlagACK, Seq: 100, Ack: 200},
	} {
		b := encode(&h, []byte("payload"))
		var want Segment
		if err := Decode(b, &want); err != nil {
			t.Fatal(err)
		}
		for _, ext := range []byte{1, 0x5a, 0x80, 0xff} {
			b2 := append([]byte(nil), b...)
			b2[19] = ext
			var got Segment
			if err := Decode(b2, &got); err != nil {
				t.Fatalf("%+v with ext %#x: Decode = %v", h, ext, err)
			}
			if got.Ext != ext {
				t.Errorf("Ext = %#x, want %#x", got.Ext, ext)
			}
			got.Ext, got.Raw, want.Raw = 0, nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ext %#x changed the decoding:\n got %+v\nwant %+v", ext, got, want)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(&Header{Flags: FlagSYN, HasWindowScale: true, WindowScale: 3, SACKPermitted: true, RSTPermitted: true, CRC: true}, nil))
	f.Add(encode(&Header{Flags: FlagACK, SACK: []Block{{1, 2}}, CRC: true}, []byte("x")))
	f.Add(encode(&Header{Flags: FlagACK}, []byte("plain lab data")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Segment
		if err := Decode(b, &s); err != nil {
			return
		}
		if int(s.HeaderLen)+len(s.Payload) != len(b) {
			t.Fatalf("header %d + payload %d != %d", s.HeaderLen, len(s.Payload), len(b))
		}
		// A decoded segment re-encodes to a datagram that decodes the same way.
		h := Header{SrcPort: s.SrcPort, DstPort: s.DstPort, Seq: s.Seq, Ack: s.Ack, Flags: s.Flags,
			Window: s.Window, CRC: s.HasCRC, HasWindowScale: s.HasWindowScale, WindowScale: s.WindowScale,
			SACKPermitted: s.SACKPermitted, RSTPermitted: s.RSTPermitted, SACK: s.SACK[:s.NumSACK]}
		if h.Len()+len(s.Payload) > MaxDatagram {
			return
		}
		var s2 Segment
		if err := Decode(encode(&h, s.Payload), &s2); err != nil {
			t.Fatalf("re-encoded segment does not decode: %v", err)
		}
		if s2.Seq != s.Seq || s2.Options != s.Options || !bytes.Equal(s2.Payload, s.Payload) {
			t.Fatalf("round trip differs: %+v vs %+v", s2, s)
		}
	})
}

func BenchmarkDecodeCRC(b *testing.B) {
	d := encode(&Header{Flags: FlagACK, CRC: true}, make([]byte, 1372))
	var s Segment
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		if err := Decode(d, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeCRC(b *testing.B) {
	h := Header{Flags: FlagACK, CRC: true}
	buf := make([]byte, MaxDatagram)
	b.SetBytes(MaxDatagram)
	for b.Loop() {
		n := Put(buf, &h, 1372)
		Seal(buf[:n+1372])
	}
}
