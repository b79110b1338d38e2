package tju

import (
	"io"
	"testing"
)

// BenchmarkLoopbackAuth measures what segment authentication costs: the
// loopback transfer of BenchmarkLoopbackThroughput between two tjunet
// endpoints with the MAC (as they negotiate by default) and with the
// CRC-32C alone (as before authentication existed), in one binary, so the
// two run side by side under the same load:
//
//	go test -run '^$' -bench LoopbackAuth -benchtime 512x -count 5 ./tju
func BenchmarkLoopbackAuth(b *testing.B) {
	for _, mode := range []struct {
		name   string
		noAuth bool
	}{{"mac", false}, {"crc", true}} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := &Config{noAuth: mode.noAuth}
			l, err := Listen("127.0.0.1:0", cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			done := make(chan int64, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					done <- -1
					return
				}
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				done <- n
			}()
			c, err := Dial(l.Addr().String(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			chunk := pattern(7, 1<<20)
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			c.Close()
			if n := <-done; n != int64(b.N)*int64(len(chunk)) {
				b.Fatalf("received %d bytes, want %d", n, int64(b.N)*int64(len(chunk)))
			}
			b.StopTimer()
			if got := c.Info().MSS; mode.noAuth != (got == 1372) {
				b.Fatalf("MSS %d: the connection did not negotiate what the mode wants", got)
			}
		})
	}
}
