package tju

import (
	"bytes"
	"encoding/binary"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// FuzzEndpoint feeds an endpoint sequences of datagrams from several
// sources while a tjunet connection moves 64 KiB: datagrams spoofing the
// client to the server, spoofing the server to the client, and from a
// third host to the server's listener. Each op of the input is one
// datagram: a byte choosing the source and the shape, then either raw
// bytes or the fields of a segment built from them (with a valid CRC, as
// anyone can compute). Nothing panics, the connection survives, and the
// server reads exactly what the client wrote.
func FuzzEndpoint(f *testing.F) {
	seg := func(src byte, flags uint8, seq, ack uint32, payload string) []byte {
		b := []byte{src | 0x80, flags}
		b = binary.BigEndian.AppendUint32(b, seq)
		b = binary.BigEndian.AppendUint32(b, ack)
		b = append(b, byte(len(payload)))
		return append(b, payload...)
	}
	f.Add(seg(0, wire.FlagRST, 1, 0, ""))
	f.Add(append(seg(1, wire.FlagACK, 5, 1<<31, ""), seg(0, 0, 77, 0, "spoofed data")...))
	f.Add(append(seg(2, wire.FlagSYN, 9, 0, ""), seg(2, wire.FlagACK, 10, 12345, "")...))
	f.Add([]byte{0, 30, 0x16, 0x2e, 0x04, 0xd2, 1, 2, 3, 4, 5, 6, 7, 8, 0, 20, 0, 20, 0x10, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			v := newVNet(t, testLink, testLink, nil, nil)
			defer v.close()
			third := v.attacker()
			c, s := v.pair(v.listen())
			cport := c.LocalAddr().(*Addr).Port
			data := patternBytes(3, 0, 64<<10)
			go func() { c.Write(data); c.CloseWrite() }()
			rd := readAllAsync(s)
			buf := make([]byte, wire.MaxDatagram)
			for len(ops) > 0 {
				op := ops[0]
				ops = ops[1:]
				var d []byte
				if op&0x80 == 0 { // raw bytes: a length, then the datagram
					if len(ops) == 0 {
						break
					}
					n := min(int(ops[0]), len(ops)-1)
					d, ops = append([]byte(nil), ops[1:1+n]...), ops[1+n:]
				} else { // flags, seq, ack, payload length, payload
					if len(ops) < 10 {
						break
					}
					h := wire.Header{Flags: ops[0], Seq: binary.BigEndian.Uint32(ops[1:]),
						Ack: binary.BigEndian.Uint32(ops[5:]), Window: 1000, CRC: true}
					n := min(int(ops[9]), len(ops)-10)
					p := ops[10 : 10+n]
					ops = ops[10+n:]
					h.SrcPort, h.DstPort = cport, 1234
					if op&3 == 1 {
						h.SrcPort, h.DstPort = 1234, cport
					}
					hl := wire.Put(buf, &h, len(p))
					copy(buf[hl:], p)
					d = buf[:hl+len(p)]
					wire.Seal(d)
				}
				switch op & 3 {
				case 0, 3:
					v.cl.PacketConn.WriteToUDPAddrPort(d, vServerAddr) // spoofing the client
				case 1:
					v.sv.PacketConn.WriteToUDPAddrPort(d, vClientAddr) // spoofing the server
				case 2:
					third.WriteToUDPAddrPort(d, vServerAddr)
				}
				time.Sleep(time.Duration(op>>2&7) * time.Millisecond)
			}
			select {
			case r := <-rd:
				if r.err != nil || !bytes.Equal(r.b, data) {
					t.Fatalf("server read %d of %d bytes, %v", len(r.b), len(data), r.err)
				}
			case <-time.After(5 * time.Minute):
				t.Fatalf("transfer stalled: client %+v, server %+v", c.Info(), s.Info())
			}
		})
	})
}
