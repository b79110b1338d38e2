package tju

// Concurrency rules of Conn: Write is atomic with respect to other Writes
// (the bytes of one call are never interleaved with another's), and Close
// wakes every goroutine blocked in Read or Write, however many there are.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// record is one writer's numbered record: an 8-byte header (writer,
// number, length) and a body derived from both, so that a reader can tell
// a torn or mixed record from a whole one.
func record(writer, num, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint16(b[0:], uint16(writer))
	binary.BigEndian.PutUint16(b[2:], uint16(num))
	binary.BigEndian.PutUint32(b[4:], uint32(size))
	copy(b[8:], patternBytes(uint64(writer)<<16|uint64(num), 0, size-8))
	return b
}

// checkRecords parses the stream r as whole records and reports the first
// one that is not exactly what its writer wrote, or arrived out of its
// writer's order.
func checkRecords(r io.Reader, writers, perWriter, size int) error {
	next := make([]int, writers)
	buf := make([]byte, size)
	for i := 0; i < writers*perWriter; i++ {
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		w, n := int(binary.BigEndian.Uint16(buf[0:])), int(binary.BigEndian.Uint16(buf[2:]))
		if w >= writers || n != next[w] || !bytes.Equal(buf, record(w, n, size)) {
			return fmt.Errorf("record %d of the stream (header: writer %d, number %d) is not writer %d's record %d intact: bytes of two Writes were interleaved",
				i, w, n, w, next[min(w, writers-1)])
		}
		next[w]++
	}
	if n, _ := io.Copy(io.Discard, r); n != 0 {
		return fmt.Errorf("%d bytes after the last record", n)
	}
	return nil
}

// Four goroutines write 4,000-byte records to one Conn whose send buffer
// holds only one and a half of them, so that every Write blocks part way
// (the case that interleaved 1,444 of 8,000 records before Write held a
// lock for the whole call). Every record arrives whole, in its writer's
// order. Virtual time, 10 ms each way; meant for -race.
func TestConcurrentWritesNeverInterleave(t *testing.T) {
	const writers, perWriter, size = 4, 400, 4000
	synctest.Test(t, func(t *testing.T) {
		cfg := &Config{SendBuffer: size * 3 / 2}
		v := newVNet(t, testLink, testLink, cfg, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for n := range perWriter {
					if k, err := c.Write(record(w, n, size)); err != nil || k != size {
						errs <- fmt.Errorf("writer %d record %d: wrote %d, %v", w, n, k, err)
						return
					}
				}
			})
		}
		done := make(chan error, 1)
		go func() { done <- checkRecords(s, writers, perWriter, size) }()
		wg.Wait()
		c.CloseWrite()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// The same over real UDP sockets on loopback, with the default buffers.
func TestConcurrentWritesNeverInterleaveRealSocket(t *testing.T) {
	const writers, perWriter, size = 4, 250, 4000
	l, err := Listen("127.0.0.1:0", shortTimeWait())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan *Conn, 1)
	go func() {
		s, err := l.AcceptTJU(context.Background())
		if err != nil {
			close(accepted)
			return
		}
		accepted <- s
	}()
	c, err := Dial(l.Addr().String(), &Config{SendBuffer: 16 << 10, MSL: shortTimeWait().MSL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	defer s.Close()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for n := range perWriter {
				if _, err := c.Write(record(w, n, size)); err != nil {
					t.Errorf("writer %d record %d: %v", w, n, err)
					return
				}
			}
		})
	}
	done := make(chan error, 1)
	go func() { done <- checkRecords(s, writers, perWriter, size) }()
	wg.Wait()
	c.CloseWrite()
	s.SetReadDeadline(time.Now().Add(time.Minute))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Close wakes every blocked Read and Write at once, not just one of each:
// three readers wait for data that never comes, three writers wait for a
// window that a peer which never reads keeps shut. All six return
// net.ErrClosed as soon as Close is called.
func TestCloseWakesEveryBlockedCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, &Config{SendBuffer: 4096}, &Config{ReceiveBuffer: 4096})
		defer v.close()
		c, _ := v.pair(v.listen())
		errs := make(chan error, 6)
		for range 3 {
			go func() {
				_, err := c.Read(make([]byte, 10))
				errs <- err
			}()
			go func() {
				_, err := c.Write(make([]byte, 64<<10))
				errs <- err
			}()
		}
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case err := <-errs:
			t.Fatalf("a call returned before Close: %v", err)
		default:
		}
		c.Close()
		for range 6 {
			select {
			case err := <-errs:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("blocked call returned %v, want net.ErrClosed", err)
				}
			case <-time.After(time.Millisecond):
				t.Fatal("a blocked call did not return after Close")
			}
		}
	})
}

// A Write waiting for its turn behind a blocked Write is bound by the
// write deadline too: when it passes, both return a timeout.
func TestConcurrentWritesDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, &Config{SendBuffer: 4096}, &Config{ReceiveBuffer: 4096})
		defer v.close()
		c, _ := v.pair(v.listen())
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := c.Write(make([]byte, 64<<10))
				errs <- err
			}()
		}
		for range 2 {
			select {
			case err := <-errs:
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("Write returned %v, want a timeout", err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("a Write outlived the deadline")
			}
		}
	})
}
