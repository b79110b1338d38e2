package tju

// Many concurrent connections on one endpoint, over real loopback sockets:
// each echoes 64 KiB, verified byte for byte, then closes. CI runs 300
// connections once; the load is
//
//	TJU_ECHO_CONNS=10000 TJU_ECHO_RUNS=5 go test -run TestScaleEcho64KiB -v ./tju
//
// which also reports the heap per idle connection (both ends, after the
// echo, before Close).

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

func TestScaleEcho64KiB(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets")
	}
	conns := envInt(t, "TJU_ECHO_CONNS", 300)
	runs := envInt(t, "TJU_ECHO_RUNS", 1)
	for run := 1; run <= runs; run++ {
		if !t.Run(fmt.Sprintf("run=%d", run), func(t *testing.T) { echoScaleRun(t, conns, 64<<10) }) {
			return
		}
	}
}

// echoScaleRun opens n connections from one client endpoint to one server
// endpoint at once; each client writes size bytes of its own pattern,
// half-closes and reads the echo to EOF; the server echoes until EOF.
func echoScaleRun(t *testing.T, n, size int) {
	// 10,000 connections opening at once overflow the sockets' receive
	// buffers (each starts with ten segments): retransmissions back off
	// and some connections go silent for longer than the 40 s default user
	// timeout, which would end them; the test is about every connection
	// completing, so it runs without one (TJU_ECHO_USER_TIMEOUT=1 keeps
	// the default).
	cfg := &Config{Backlog: n, MSL: 100 * time.Millisecond, UserTimeout: -1}
	if os.Getenv("TJU_ECHO_USER_TIMEOUT") != "" {
		cfg.UserTimeout = 0
	}
	se, ce, l := loopbackEndpoints(t, cfg)
	base := liveHeap()
	drops0 := udpRcvbufErrors()
	var srv sync.WaitGroup
	srv.Go(func() {
		for {
			c, err := l.AcceptTJU(context.Background())
			if err != nil {
				return
			}
			srv.Go(func() {
				io.Copy(c, c) // until the client closes
				c.Close()
			})
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	type clientEnd struct {
		c    *Conn
		err  error
		took time.Duration
	}
	ends := make([]clientEnd, n)
	var cli sync.WaitGroup
	addr := se.Addr().String()
	for i := range n {
		cli.Go(func() {
			e := &ends[i]
			e.err = func() error {
				c, err := ce.Dial(ctx, addr, 1234)
				if err != nil {
					return fmt.Errorf("dial: %w", err)
				}
				e.c = c
				data := patternBytes(uint64(i), 0, size)
				wrote := make(chan error, 1)
				go func() {
					_, err := c.Write(data)
					wrote <- err
				}()
				c.SetReadDeadline(time.Now().Add(4 * time.Minute))
				got := make([]byte, size)
				k, err := io.ReadFull(c, got)
				if err != nil {
					return fmt.Errorf("read: %w after %d of %d bytes", err, k, size)
				}
				if err := <-wrote; err != nil {
					return fmt.Errorf("write: %w", err)
				}
				if string(got) != string(data) {
					return fmt.Errorf("echo of %d bytes differs from the %d sent", len(got), size)
				}
				return nil
			}()
			e.took = time.Since(start)
		})
	}
	cli.Wait()
	elapsed := time.Since(start)
	var failed []string
	for i := range ends {
		if ends[i].err != nil {
			info := ""
			if c := ends[i].c; c != nil {
				info = fmt.Sprintf("\n  client %+v\n  server %s", c.Info(), serverSide(se, ce, c))
			}
			failed = append(failed, fmt.Sprintf("conn %d: %v%s", i, ends[i].err, info))
		}
	}
	drops := udpRcvbufErrors() - drops0
	if len(failed) > 0 {
		sort.Strings(failed)
		t.Errorf("%d of %d connections failed in %v; the host's UDP receive-buffer drops rose by %d; server stats %+v; client stats %+v; the first:\n%s",
			len(failed), n, elapsed, drops, se.Stats(), ce.Stats(), strings.Join(failed[:min(3, len(failed))], "\n"))
		return
	}
	idle := liveHeap() // every connection established, its echo read, idle
	var retrans, timeouts uint64
	for i := range ends {
		inf := ends[i].c.Info()
		retrans += inf.Retransmits
		timeouts += inf.Timeouts
	}
	took := make([]time.Duration, n)
	slow := 0 // connections with three or more retransmission timeouts
	for i := range ends {
		took[i] = ends[i].took
		if ends[i].c.Info().Timeouts >= 3 {
			slow++
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("completion: p50 %v, p99 %v, max %v; %d connections had 3 or more retransmission timeouts; the host's UDP receive-buffer drops (all processes) rose by %d",
		took[n/2].Round(time.Millisecond), took[n*99/100].Round(time.Millisecond), took[n-1].Round(time.Millisecond), slow, drops)
	cs, ss := ce.Stats(), se.Stats()
	t.Logf("%d connections echoed %d KiB each in %v; heap per idle connection %.1f KiB (both ends); client retransmits %d, timeouts %d; server: %d datagrams in, %d out, %d accept overflows; client: %d in, %d out; %d goroutines",
		n, size>>10, elapsed.Round(time.Millisecond), float64(int64(idle)-int64(base))/float64(n)/1024, retrans, timeouts,
		ss.DatagramsIn, ss.DatagramsOut, ss.AcceptOverflows, cs.DatagramsIn, cs.DatagramsOut, runtime.NumGoroutine())
	for i := range ends {
		ends[i].c.Close()
	}
	l.Close()
	srv.Wait()
}

// serverSide describes the server end of client connection c, if the
// server endpoint still has it.
func serverSide(se, ce *Endpoint, c *Conn) string {
	key := connKey{peer: ce.udpAddr(), local: c.key.remote, remote: c.key.local}
	se.mu.RLock()
	s := se.conns[key]
	se.mu.RUnlock()
	if s == nil {
		return "gone (or never created)"
	}
	return fmt.Sprintf("%+v", s.Info())
}

// udpRcvbufErrors returns the host's count of UDP datagrams dropped for a
// full socket receive buffer (Linux /proc/net/snmp), or 0.
func udpRcvbufErrors() uint64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

// loopbackEndpoints opens a server and a client endpoint on loopback UDP
// sockets, closed when the test ends, and listens on the server's TJU port
// 1234.
func loopbackEndpoints(t *testing.T, cfg *Config) (se, ce *Endpoint, l *Listener) {
	t.Helper()
	var err error
	if se, err = OpenEndpoint("127.0.0.1:0", cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { se.Close() })
	if ce, err = OpenEndpoint("127.0.0.1:0", cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ce.Close() })
	if l, err = se.Listen(1234); err != nil {
		t.Fatal(err)
	}
	return se, ce, l
}
