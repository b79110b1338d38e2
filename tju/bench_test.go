package tju

import (
	"io"
	"testing"
	"time"
)

// BenchmarkLoopbackThroughput moves b.N chunks of 1 MiB over 127.0.0.1
// through one connection, sender and receiver in this process.
//
//	go test -run '^$' -bench LoopbackThroughput -benchtime 256x ./tju
func BenchmarkLoopbackThroughput(b *testing.B) { loopbackThroughput(b, nil) }

// loopbackThroughput is BenchmarkLoopbackThroughput with both ends
// configured by cfg (nil: the defaults). TIME_WAIT is cut to 20 ms, which
// moves no byte differently, so the endpoints are gone when the benchmark
// ends and the package's goroutine-leak check passes.
func loopbackThroughput(b *testing.B, cfg *Config) {
	if cfg == nil {
		cfg = &Config{}
	}
	cfg.MSL = 10 * time.Millisecond
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	done := discardOne(l)
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
	if r := <-done; r.err != nil || r.n != int64(b.N)*int64(len(chunk)) {
		b.Fatalf("received %d bytes (%v), want %d", r.n, r.err, int64(b.N)*int64(len(chunk)))
	}
	b.StopTimer()
	i := c.Info()
	b.ReportMetric(float64(i.Retransmits), "retrans")
	b.ReportMetric(float64(i.SegmentsRecv), "acks")
	b.ReportMetric(float64(i.MSS), "mss") // 1364 with the MAC, 1372 with the CRC alone
}

// discarded is what discardOne's connection received.
type discarded struct {
	n   int64
	err error
}

// discardOne accepts one connection on l, reads it to its end and closes
// it, and then sends what it read.
func discardOne(l *Listener) <-chan discarded {
	done := make(chan discarded, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- discarded{err: err}
			return
		}
		n, err := io.Copy(io.Discard, c)
		c.Close()
		done <- discarded{n, err}
	}()
	return done
}
