//go:build linux

package main

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"

	"github.com/tjunet/tjunet/minitalk"
)

// benchServer starts ./server with its output discarded except for the PID.
func benchServer(b *testing.B) string {
	b.Helper()
	path, _ := build(b)
	srv := exec.Command(path)
	out, err := srv.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	r := bufio.NewReader(out)
	pid, err := r.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	go func() { // drain what the server prints
		buf := make([]byte, 1<<16)
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
		}
	}()
	return strings.TrimSpace(pid)
}

// benchmarkClient times the whole ./client process, from its start to its
// exit, sending a message of n characters to a running server. It reports
// the time per acknowledged exchange (two per bit, in the seed's framing,
// plus the knock and the end) as us/exchange.
func benchmarkClient(b *testing.B, n int) {
	_, client := build(b)
	pid := benchServer(b)
	msg := strings.Repeat("a", n)
	b.ResetTimer()
	for b.Loop() {
		if out, err := exec.Command(client, pid, msg).CombinedOutput(); err != nil {
			b.Fatalf("client: %v\n%s", err, out)
		}
	}
	exchanges := 2*minitalk.PayloadBits(n) + 2
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(exchanges), "us/exchange")
}

func BenchmarkClient100(b *testing.B)   { benchmarkClient(b, 100) }
func BenchmarkClient1000(b *testing.B)  { benchmarkClient(b, 1000) }
func BenchmarkClient10000(b *testing.B) { benchmarkClient(b, 10000) }
