package tju

import (
	"bytes"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
)

// A slow reader behind an 8 KiB receive buffer, over a link losing 5% each
// way: window updates get lost while the sender holds data it may not send
// (the window is open but smaller than a segment). The persist timer must
// send what the window allows (RFC 1122 4.2.3.4's override timeout) instead
// of waiting forever for an update that will never come.
func TestLostWindowUpdateDoesNotStall(t *testing.T) {
	for seed := uint64(1); seed <= 24; seed++ {
		synctest.Test(t, func(t *testing.T) {
			link := netem.Config{Delay: 20 * time.Millisecond, Loss: 0.05, Seed: seed}
			a, b, err := netem.NewLink(link, link)
			if err != nil {
				t.Fatal(err)
			}
			server := NewEndpoint(b, &Config{ReceiveBuffer: 8 << 10, MSL: time.Second})
			defer server.Close()
			client := NewEndpoint(a, &Config{SendBuffer: 8 << 10, MSL: time.Second})
			defer client.Close()
			l, err := server.Listen(1234)
			if err != nil {
				t.Fatal(err)
			}
			data := pattern(seed, 512<<10)
			go func() {
				c, err := client.Dial(t.Context(), b.LocalAddr().String(), 1234)
				if err != nil {
					t.Error(err)
					return
				}
				c.Write(data)
				c.Close()
			}()
			s, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var got bytes.Buffer
			buf := make([]byte, 3000)
			for {
				time.Sleep(50 * time.Millisecond) // at most 3000 bytes every 50 ms
				s.SetReadDeadline(time.Now().Add(5 * time.Minute))
				n, err := s.Read(buf)
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("seed %d (reproduce with -run 'TestLostWindowUpdateDoesNotStall'): after %d of %d bytes and %v: %v; receiver %+v",
						seed, got.Len(), len(data), time.Since(start), err, s.(*Conn).Info())
				}
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("seed %d: received %d bytes that differ from the %d sent", seed, got.Len(), len(data))
			}
			s.Close()
		})
	}
}
