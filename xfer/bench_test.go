package xfer_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/xfer"
)

// BenchmarkTransfer moves 16 MiB over a real loopback TJU connection per
// iteration: raw bytes (what a lab peer gets, the baseline), framed with
// the SHA-256 check, and framed inside TLS 1.3 with a code phrase. The
// ratios to raw are the cost of each layer:
//
//	go test -run '^$' -bench Transfer -benchtime 5x ./xfer
func BenchmarkTransfer(b *testing.B) {
	data := randomData(16<<20, 1)
	for _, bc := range []struct {
		name   string
		framed bool
		code   string
	}{{"raw", false, ""}, {"framed", true, ""}, {"code", true, "benchmark-phrase"}} {
		b.Run(bc.name, func(b *testing.B) {
			ep, err := tju.OpenEndpoint("127.0.0.1:0", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ep.Close()
			l, err := ep.Listen(1234)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var wg sync.WaitGroup
				var serr error
				wg.Go(func() {
					s, err := l.AcceptTJU(context.Background())
					if err != nil {
						serr = err
						return
					}
					out := xfer.StreamOutput("discard", discard{})
					_, serr = xfer.NewReceiver(s, out, xfer.ReceiveOptions{Framed: bc.framed, Code: bc.code}).Run(context.Background())
					out.Commit()
					s.Close()
				})
				c, err := ep.Dial(context.Background(), ep.Addr().String(), 1234)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := xfer.NewSender(c, xfer.SendOptions{Framed: bc.framed, Code: bc.code, Size: int64(len(data))}).Run(context.Background(), bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				c.Close()
				wg.Wait()
				if serr != nil {
					b.Fatal(serr)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
