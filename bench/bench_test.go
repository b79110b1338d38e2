package main

import (
	"flag"
	"testing"
	"time"

	"github.com/tjunet/tjunet/units"
)

var xferSize = units.Size(64 << 20)

func init() {
	flag.Var(&xferSize, "xfersize", "bytes per transfer in BenchmarkTransfer, as package units reads sizes: 64MiB, 64M, 64MB")
}

// TestTransports moves a few MiB through every built-in transport and checks
// the count and the checksum, so that `go test` catches a broken transport
// without running the full benchmark.
func TestTransports(t *testing.T) {
	opt := options{size: 8 << 20, chunk: 256 << 10, verify: true, timeout: 30 * time.Second}
	p := newPayload(opt.chunk)
	want := p.checksum(opt.size, opt.chunk)
	for _, tr := range registered() {
		t.Run(tr.name, func(t *testing.T) {
			s, err := transfer(tr, p, want, opt)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%.0f MB/s", mbps(opt.size, s.elapsed))
		})
	}
}

// TestSizeFlagIsTheProjects holds -size to the project's one size
// convention (package units): K and KiB are 1024, KB is 1000.
func TestSizeFlagIsTheProjects(t *testing.T) {
	for in, want := range map[string]int64{
		"512MiB": 512 << 20, "1GiB": 1 << 30, "64K": 64 << 10, "64KB": 64000, "1.5M": 3 << 19, "4096": 4096, "10B": 10,
	} {
		var b units.Size
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, b, err, want)
		}
	}
}

// BenchmarkTransfer runs the same transfers as the command, one sub-benchmark
// per transport, with b.SetBytes so that `go test -bench .` prints MB/s
// (MB = 10^6 bytes). That standard figure includes listen, dial and, for
// quic-go, the TLS handshake of every iteration; the xfer-MB/s metric counts
// only the data transfer, as the command's table does. Choose the payload with
// -xfersize (default 64MiB).
func BenchmarkTransfer(b *testing.B) {
	for _, name := range knownTransports {
		b.Run(name, func(b *testing.B) {
			tr, ok := transports[name]
			if !ok {
				b.Skip("not registered in this build")
			}
			opt := options{size: int64(xferSize), chunk: 256 << 10, timeout: 60 * time.Second}
			p := newPayload(opt.chunk)
			b.SetBytes(opt.size)
			var elapsed, cpu time.Duration
			n := 0
			for b.Loop() {
				s, err := transfer(tr, p, 0, opt)
				if err != nil {
					b.Fatal(err)
				}
				elapsed += s.elapsed
				cpu += s.cpu
				n++
			}
			b.ReportMetric(float64(opt.size)*float64(n)/1e6/elapsed.Seconds(), "xfer-MB/s")
			if cpu > 0 {
				b.ReportMetric(float64(opt.size)*float64(n)/1e6/cpu.Seconds(), "MB/CPU-s")
			}
		})
	}
}
