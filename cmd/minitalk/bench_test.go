//go:build linux

package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/minitalk"
)

// startPrinting starts a server program with its output discarded except for
// the PID, which it returns.
func startPrinting(b *testing.B, path string) string {
	b.Helper()
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

// cBaselines builds the C programs of cbench (the floor and the classic
// client and server) and returns their directory.
func cBaselines(b *testing.B) string {
	b.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		b.Skip("no make: the C baselines cannot be built")
	}
	dir, err := filepath.Abs("cbench")
	if err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("make", "-s", "-C", dir).CombinedOutput(); err != nil {
		b.Skipf("building the C baselines: %v\n%s", err, out)
	}
	return dir
}

// exchanges is the number of acknowledged exchanges ./client makes for a
// message of n bytes, in the seed's framing.
func exchanges(n int) int { return 2*minitalk.PayloadBits(n) + 2 }

// benchmarkSideBySide times, in each iteration and one after the other, the
// whole ./client process sending n characters to a running ./server, the
// classic C client sending them to the C server (one exchange a bit), and the
// floor: a ping-pong of SIGUSR1 between two C processes, with as many round
// trips as ./client makes exchanges. It reports the three medians, the ratios
// of ours to each, ./client's time per exchange, and the load average.
func benchmarkSideBySide(b *testing.B, n int) {
	_, client := build(b)
	server, _ := build(b)
	cdir := cBaselines(b)
	ours := startPrinting(b, server)
	theirs := startPrinting(b, filepath.Join(cdir, "cserver"))
	msg := strings.Repeat("a", n)
	cmds := []*struct {
		args []string
		took []time.Duration
	}{
		{args: []string{client, ours, msg}},
		{args: []string{filepath.Join(cdir, "cclient"), theirs, msg}},
		{args: []string{filepath.Join(cdir, "floor"), strconv.Itoa(exchanges(n))}},
	}
	load0 := loadAverage()
	for b.Loop() {
		for _, c := range cmds {
			start := time.Now()
			if out, err := exec.Command(c.args[0], c.args[1:]...).CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", filepath.Base(c.args[0]), err, out)
			}
			c.took = append(c.took, time.Since(start))
		}
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Millisecond)
	}
	o, c, f := median(cmds[0].took), median(cmds[1].took), median(cmds[2].took)
	b.ReportMetric(0, "ns/op") // an op is all three; the medians say more
	b.ReportMetric(o, "ms-ours")
	b.ReportMetric(c, "ms-C")
	b.ReportMetric(f, "ms-floor")
	b.ReportMetric(o/c, "ours/C")
	b.ReportMetric(o/f, "ours/floor")
	b.ReportMetric(1000*o/float64(exchanges(n)), "us/exchange")
	b.ReportMetric((load0+loadAverage())/2, "load")
}

// loadAverage returns the 1-minute load average, or 0 if unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), " ")
	v, _ := strconv.ParseFloat(first, 64)
	return v
}

func BenchmarkSideBySide100(b *testing.B)  { benchmarkSideBySide(b, 100) }
func BenchmarkSideBySide1000(b *testing.B) { benchmarkSideBySide(b, 1000) }
