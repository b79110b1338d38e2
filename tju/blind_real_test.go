//go:build linux

package tju

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// rawSender sends UDP datagrams with any source address and port, as an
// off-path attacker with a raw socket does. It needs CAP_NET_RAW.
type rawSender struct{ fd int }

func newRawSender() (*rawSender, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return nil, err
	}
	return &rawSender{fd}, nil
}

func (r *rawSender) close() { syscall.Close(r.fd) }

// send writes payload as a UDP datagram from src to dst (IPv4). The kernel
// fills in the IP checksum; the UDP checksum is left 0 (none).
func (r *rawSender) send(src, dst netip.AddrPort, payload []byte) error {
	b := make([]byte, 28+len(payload))
	b[0], b[8], b[9] = 0x45, 64, syscall.IPPROTO_UDP
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:], s4[:])
	copy(b[16:], d4[:])
	binary.BigEndian.PutUint16(b[20:], src.Port())
	binary.BigEndian.PutUint16(b[22:], dst.Port())
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	return syscall.Sendto(r.fd, b, 0, &syscall.SockaddrInet4{Addr: d4})
}

// TestBlindInjectionRealSocket spoofs the client's real UDP address with a
// raw socket, and the server's towards the client, while 4 MiB cross
// loopback: 50,000 blind segments of every kind (random seq and ack, the
// right ports) change nothing on a tjunet connection. It needs root
// (CAP_NET_RAW) and skips without it.
func TestBlindInjectionRealSocket(t *testing.T) {
	raw, err := newRawSender()
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		t.Skip("needs CAP_NET_RAW for a raw socket (run as root)")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer raw.close()
	se, err := OpenEndpoint("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer se.Close()
	ce, err := OpenEndpoint("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ce.Close()
	l, err := se.Listen(1234)
	if err != nil {
		t.Fatal(err)
	}
	acc := make(chan *Conn, 1)
	go func() {
		c, err := l.AcceptTJU(t.Context())
		if err == nil {
			acc <- c
		}
		close(acc)
	}()
	c, err := ce.Dial(t.Context(), se.udpAddr().String(), 1234)
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if s == nil {
		t.Fatal("accept failed")
	}
	ca, sa := c.LocalAddr().(*Addr), s.LocalAddr().(*Addr)
	cudp, sudp := ce.udpAddr(), se.udpAddr()

	data := patternBytes(8, 0, 4<<20)
	rd := readAllAsync(s)
	go func() { c.Write(data); c.CloseWrite() }()
	r := rand.New(rand.NewPCG(21, 22))
	buf := make([]byte, wire.MaxDatagram)
	const n = 50_000
	start := time.Now()
	for i := range n {
		k := blindKinds[i%len(blindKinds)]
		if i%2 == 0 {
			raw.send(cudp, sudp, blindSegment(r, buf, k.flags, k.payload, k.window0, true, ca.Port, sa.Port))
		} else {
			raw.send(sudp, cudp, blindSegment(r, buf, k.flags, k.payload, k.window0, true, sa.Port, ca.Port))
		}
	}
	el := time.Since(start)
	select {
	case got := <-rd:
		if got.err != nil || !bytes.Equal(got.b, data) {
			t.Fatalf("server read %d of %d bytes, %v", len(got.b), len(data), got.err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("transfer stalled: client %+v, server %+v", c.Info(), s.Info())
	}
	bad := ce.Stats().BadMAC + se.Stats().BadMAC
	t.Logf("%d blind segments through a raw socket in %v; %d reached a connection and failed its MAC", n, el.Round(time.Millisecond), bad)
	if bad == 0 {
		t.Fatal("no spoofed segment reached the connections: the test did not attack")
	}
	if ci, si := c.Info(), s.Info(); ci.State == StateClosed || si.State == StateClosed {
		t.Fatalf("a connection was closed: client %v, server %v", ci.State, si.State)
	}
}
