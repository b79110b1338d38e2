package tju

// Scale: a thousand concurrent connections between one client endpoint and
// one server endpoint, each with its own data, echoed and checked byte for
// byte, then closed on both sides until their Done channels close.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
)

const (
	scaleConns = 1000
	scaleBytes = 3000 // per connection: three segments each way
)

// echoServer accepts on l until it is closed and echoes every connection
// back to its peer until EOF.
func echoServer(l *Listener, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		c, err := l.AcceptTJU(context.Background())
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(c, c)
			c.Close()
			<-c.Done() // the endpoint finishes the teardown
		}()
	}
}

// echoClient writes its own pattern, half-closes, reads the echo to EOF
// and checks it.
func echoClient(dial func() (*Conn, error), id int) error {
	c, err := dial()
	if err != nil {
		return fmt.Errorf("conn %d: dial: %w", id, err)
	}
	defer c.Close()
	data := patternBytes(uint64(id), 0, scaleBytes)
	rd := readAllAsync(c)
	if _, err := c.Write(data); err != nil {
		return fmt.Errorf("conn %d: write: %w", id, err)
	}
	if err := c.CloseWrite(); err != nil {
		return fmt.Errorf("conn %d: CloseWrite: %w", id, err)
	}
	r := <-rd
	if r.err != nil {
		return fmt.Errorf("conn %d: read: %w", id, r.err)
	}
	if string(r.b) != string(data) {
		return fmt.Errorf("conn %d: echo of %d bytes differs from the %d sent", id, len(r.b), len(data))
	}
	c.Close()
	<-c.Done() // TIME_WAIT ends
	return nil
}

func runEchoClients(t *testing.T, dial func() (*Conn, error)) {
	t.Helper()
	errs := make(chan error, scaleConns)
	for i := range scaleConns {
		go func() { errs <- echoClient(dial, i) }()
	}
	var failed []error
	for range scaleConns {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d connections failed; first: %v", len(failed), scaleConns, errors.Join(failed[:min(5, len(failed))]...))
	}
}

// In virtual time, 5 ms each way and 0.5% loss: every connection opens,
// echoes its own 3000 bytes, and is gone on both sides (Done, after
// TIME_WAIT); each endpoint counted 1000 opened.
func TestScaleThousandConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		link := netem.Config{Delay: 5 * time.Millisecond, Loss: 0.005, Seed: 1}
		cfg := &Config{Backlog: scaleConns, MSL: 100 * time.Millisecond}
		v := newVNet(t, link, link, cfg, cfg)
		defer v.close()
		l := v.listen()
		var wg sync.WaitGroup
		wg.Add(1)
		go echoServer(l, &wg)
		runEchoClients(t, func() (*Conn, error) { return v.dial(context.Background()) })
		el := v.elapsed()
		l.Close()
		wg.Wait() // every server connection is gone too
		cs, ss := v.ce.Stats(), v.se.Stats()
		if cs.ConnsOpened != scaleConns || ss.ConnsOpened != scaleConns {
			t.Errorf("opened %d client and %d server connections, want %d", cs.ConnsOpened, ss.ConnsOpened, scaleConns)
		}
		t.Logf("%d connections echoed %d bytes each in %v virtual; server: %d datagrams in, %d out, %d accept overflows",
			scaleConns, scaleBytes, el, ss.DatagramsIn, ss.DatagramsOut, ss.AcceptOverflows)
	})
}

// The same over real UDP sockets on the loopback interface, without
// impairments (the kernel may still drop a datagram under the burst).
func TestScaleThousandConnectionsRealSocket(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets, a few seconds of wall time")
	}
	cfg := &Config{Backlog: scaleConns, MSL: 100 * time.Millisecond}
	se, ce, l := loopbackEndpoints(t, cfg)
	var wg sync.WaitGroup
	wg.Add(1)
	go echoServer(l, &wg)
	start := time.Now()
	addr := se.Addr().String()
	runEchoClients(t, func() (*Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return ce.Dial(ctx, addr, 1234)
	})
	el := time.Since(start)
	l.Close()
	wg.Wait() // every server connection finished its teardown
	cs, ss := ce.Stats(), se.Stats()
	if cs.ConnsOpened != scaleConns || ss.ConnsOpened != scaleConns {
		t.Errorf("opened %d client and %d server connections, want %d", cs.ConnsOpened, ss.ConnsOpened, scaleConns)
	}
	if cs.Malformed+ss.Malformed+cs.BadChecksum+ss.BadChecksum+cs.BadMAC+ss.BadMAC != 0 {
		t.Errorf("loopback datagrams dropped as damaged: client %+v, server %+v", cs, ss)
	}
	t.Logf("%d connections echoed %d bytes each in %v; server: %d datagrams in, %d out, %d accept overflows",
		scaleConns, scaleBytes, el, ss.DatagramsIn, ss.DatagramsOut, ss.AcceptOverflows)
}
