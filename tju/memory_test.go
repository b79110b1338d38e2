package tju

// Memory: a closed connection releases its buffers at once, whether the
// application still holds it or the endpoint keeps it for TIME_WAIT, and an
// idle connection costs what its buffers grew to.

import (
	"io"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// liveHeap returns the bytes of live heap after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// echoPairs opens n connections over v, each of which sends size bytes
// that the server end echoes back, and returns both ends of each once the
// echo is read back whole (the connections are still open).
func echoPairs(t *testing.T, v *vnet, n, size int) (clients, servers []*Conn) {
	t.Helper()
	l := v.listen()
	defer l.Close()
	clients, servers = make([]*Conn, n), make([]*Conn, n)
	var wg sync.WaitGroup
	for i := range n {
		c, s := v.pair(l)
		clients[i], servers[i] = c, s
		wg.Go(func() {
			buf := make([]byte, size)
			if _, err := io.ReadFull(s, buf); err != nil {
				t.Errorf("server %d: %v", i, err)
				return
			}
			if _, err := s.Write(buf); err != nil {
				t.Errorf("server %d: %v", i, err)
			}
		})
		wg.Go(func() {
			data := patternBytes(uint64(i), 0, size)
			if _, err := c.Write(data); err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			got := make([]byte, size)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != string(data) {
				t.Errorf("client %d: echo wrong or short: %v", i, err)
			}
		})
	}
	wg.Wait()
	return clients, servers
}

// measuredEchoPairs is echoPairs with the taps' logs off and the live
// heap measured before, as base.
func measuredEchoPairs(t *testing.T, v *vnet, n, size int) (base uint64, clients, servers []*Conn) {
	t.Helper()
	v.cl.quiet, v.sv.quiet = true, true
	base = liveHeap()
	clients, servers = echoPairs(t, v, n, size)
	return base, clients, servers
}

func bufferBytes(c *Conn) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tcb.BufferBytes()
}

// 200 connections each echo 64 KiB, then both ends close and the teardown
// completes; the application keeps every *Conn. Each holds no buffer any
// more (BufferBytes is 0) and the live heap they keep is a small record
// per connection, not the 64 KiB rings they grew to (920 MB for 10,000
// before Close released them: about 92 KiB each).
func TestMemoryClosedConnReleasesBuffers(t *testing.T) {
	const n, size = 200, 64 << 10
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		base, clients, servers := measuredEchoPairs(t, v, n, size)
		idle := liveHeap()
		for i := range n {
			clients[i].Close()
			servers[i].Close()
		}
		for i := range n {
			<-clients[i].Done()
			<-servers[i].Done()
		}
		closed := liveHeap()
		perIdle := float64(idle-base) / (2 * n)
		perClosed := float64(int64(closed)-int64(base)) / (2 * n)
		t.Logf("live heap per connection end: %.0f bytes idle after a 64 KiB echo, %.0f bytes closed (held by the application)", perIdle, perClosed)
		for i := range n {
			if b := bufferBytes(clients[i]) + bufferBytes(servers[i]); b != 0 {
				t.Fatalf("connection %d: %d bytes of buffers kept after close", i, b)
			}
		}
		if perClosed > 8192 {
			t.Errorf("a closed connection keeps %.0f bytes of heap, want at most 8 KiB", perClosed)
		}
		runtime.KeepAlive(clients)
		runtime.KeepAlive(servers)
	})
}

// The endpoint keeps a connection in TIME_WAIT for 2*MSL after the
// application let go of it: what it keeps meanwhile is a small record.
func TestMemoryTimeWaitIsSmall(t *testing.T) {
	const n, size = 200, 64 << 10
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, &Config{MSL: time.Minute}, nil)
		defer v.close()
		base, clients, servers := measuredEchoPairs(t, v, n, size)
		for i := range n {
			clients[i].Close() // the client closes first: it gets TIME_WAIT
		}
		time.Sleep(time.Second)
		for i := range n {
			servers[i].Close()
		}
		for i := range n {
			<-servers[i].Done()
			if s := stateOf(clients[i]); s != StateTimeWait {
				t.Fatalf("client %d in %v, want TIME_WAIT", i, s)
			}
		}
		clients, servers = nil, nil
		tw := liveHeap()
		v.ce.mu.RLock()
		kept := len(v.ce.conns)
		v.ce.mu.RUnlock()
		if kept != n {
			t.Fatalf("client endpoint keeps %d connections, want %d in TIME_WAIT", kept, n)
		}
		per := float64(int64(tw)-int64(base)) / n
		t.Logf("live heap per TIME_WAIT entry: %.0f bytes", per)
		if per > 8192 {
			t.Errorf("a TIME_WAIT entry keeps %.0f bytes of heap, want at most 8 KiB", per)
		}
	})
}

// An idle connection keeps the buffers it grew during its transfer only
// until it goes quiet: at the first keep-alive probe (15 s of silence) it
// gives the empty ones back, so an idle connection costs about what a
// closed one does. The buffers grow again on demand.
func TestMemoryIdleConnTrimsBuffers(t *testing.T) {
	const n, size = 200, 64 << 10
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		base, clients, servers := measuredEchoPairs(t, v, n, size)
		busy := liveHeap()
		time.Sleep(20 * time.Second) // past the keep-alive idle time
		idle := liveHeap()
		perBusy := float64(int64(busy)-int64(base)) / (2 * n)
		perIdle := float64(int64(idle)-int64(base)) / (2 * n)
		t.Logf("live heap per connection end: %.0f bytes just after a 64 KiB echo, %.0f bytes after 20 s idle", perBusy, perIdle)
		for i := range n {
			if b := bufferBytes(clients[i]) + bufferBytes(servers[i]); b != 0 {
				t.Fatalf("connection %d: %d bytes of buffers kept after 20 s idle", i, b)
			}
		}
		exchange(t, clients[0], servers[0]) // the buffers grow again
	})
}
