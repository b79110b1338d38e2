package main

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A closeWriter can end its sending direction while the connection stays
// up, so that the receiver sees io.EOF after the last byte.
type closeWriter interface {
	CloseWrite() error
}

// options for one transfer.
type options struct {
	size    int64         // bytes to move
	chunk   int           // size of each Write and of the receiver's read buffer
	verify  bool          // check a CRC-32C of the received stream
	timeout time.Duration // bound on one transfer, setup included
	verbose bool          // report transport counters after each run
}

// A sample is the outcome of one successful transfer.
type sample struct {
	elapsed time.Duration // first Write to the receiver holding the last byte
	cpu     time.Duration // user+system CPU of the whole process over that span
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// payload is the deterministic byte pattern written by every transport: byte
// i of the stream is pattern[i % period]. The period is not a multiple of the
// chunk size, so reordered or duplicated chunks change the checksum.
type payload struct {
	buf    []byte // the pattern twice, so any chunk is one contiguous slice
	period int
}

func newPayload(chunk int) *payload {
	period := chunk + 7919 // a prime offset keeps chunks out of phase
	p := &payload{buf: make([]byte, 2*period), period: period}
	var x uint64 = 0x9E3779B97F4A7C15
	for i := 0; i < period; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p.buf[i] = byte(x >> 32)
	}
	copy(p.buf[period:], p.buf[:period])
	return p
}

// slice returns the next n bytes of the stream at offset off (n <= period).
func (p *payload) slice(off int64, n int) []byte {
	start := int(off % int64(p.period))
	return p.buf[start : start+n]
}

// checksum is the CRC-32C of the first size bytes of the stream, computed
// outside the timed section.
func (p *payload) checksum(size int64, chunk int) uint32 {
	var sum uint32
	for off := int64(0); off < size; {
		n := int(min(int64(chunk), size-off))
		sum = crc32.Update(sum, castagnoli, p.slice(off, n))
		off += int64(n)
	}
	return sum
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type recvResult struct {
	end    time.Time
	cpuEnd time.Duration
	err    error
}

// transfer moves opt.size bytes once through t and measures it.
func transfer(t *transport, p *payload, want uint32, opt options) (sample, error) {
	srv, err := t.listen()
	if err != nil {
		return sample{}, fmt.Errorf("listen: %w", err)
	}
	defer srv.close()

	var (
		mu       sync.Mutex
		rc       io.ReadCloser
		received atomic.Int64
		eofCheck atomic.Bool // set before the first Write
	)
	done := make(chan recvResult, 1)
	go func() {
		r, err := srv.accept()
		if err != nil {
			done <- recvResult{err: fmt.Errorf("accept: %w", err)}
			return
		}
		mu.Lock()
		rc = r
		mu.Unlock()
		done <- receive(r, &received, eofCheck.Load, opt, want)
	}()

	type dialResult struct {
		w   io.WriteCloser
		err error
	}
	dialed := make(chan dialResult, 1)
	go func() {
		w, err := t.dial(srv.addr)
		dialed <- dialResult{w, err}
	}()
	deadline := time.NewTimer(opt.timeout)
	defer deadline.Stop()
	var w io.WriteCloser
	select {
	case d := <-dialed:
		if d.err != nil {
			return sample{}, fmt.Errorf("dial: %w", d.err)
		}
		w = d.w
	case <-deadline.C:
		return sample{}, fmt.Errorf("dial: no connection after %v", opt.timeout)
	}
	cw, canCloseWrite := w.(closeWriter)
	eofCheck.Store(t.eof && canCloseWrite)

	cpu0 := cpuTime()
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() {
		for off := int64(0); off < opt.size; {
			n := int(min(int64(opt.chunk), opt.size-off))
			m, err := w.Write(p.slice(off, n))
			off += int64(m)
			if err != nil {
				sendErr <- fmt.Errorf("write after %d bytes: %w", off, err)
				return
			}
		}
		if t.eof && canCloseWrite {
			if err := cw.CloseWrite(); err != nil {
				sendErr <- fmt.Errorf("close write: %w", err)
				return
			}
		}
		sendErr <- nil
	}()

	closeAll := func() {
		w.Close()
		mu.Lock()
		if rc != nil {
			rc.Close()
		}
		mu.Unlock()
	}

	var res recvResult
	var sent bool
wait:
	for {
		select {
		case err := <-sendErr:
			sent = true
			if err != nil {
				closeAll()
				return sample{}, err
			}
		case res = <-done:
			break wait
		case <-deadline.C:
			closeAll()
			return sample{}, fmt.Errorf("timed out after %v with %d of %d bytes received", opt.timeout, received.Load(), opt.size)
		}
	}
	if res.err != nil {
		closeAll()
		return sample{}, res.err
	}
	if !sent {
		// The receiver holds every byte, so the writer is at most
		// finishing its last call; give it a moment, but do not hang.
		select {
		case err := <-sendErr:
			if err != nil {
				closeAll()
				return sample{}, err
			}
		case <-time.After(5 * time.Second):
			closeAll()
			return sample{}, errors.New("writer did not return after the receiver had every byte")
		}
	}
	closeAll()
	return sample{elapsed: res.end.Sub(start), cpu: res.cpuEnd - cpu0}, nil
}

// receive reads the stream until it holds opt.size bytes, then, where the
// transport ends streams with EOF, reads on to check that nothing follows.
func receive(r io.Reader, received *atomic.Int64, expectEOF func() bool, opt options, want uint32) recvResult {
	buf := make([]byte, opt.chunk)
	var sum uint32
	var got int64
	for got < opt.size {
		n, err := r.Read(buf[:min(int64(len(buf)), opt.size-got)])
		if n > 0 {
			if opt.verify {
				sum = crc32.Update(sum, castagnoli, buf[:n])
			}
			got += int64(n)
			received.Store(got)
		}
		if err != nil {
			if got < opt.size {
				return recvResult{err: fmt.Errorf("read: got %d of %d bytes: %w", got, opt.size, err)}
			}
			break
		}
	}
	res := recvResult{end: time.Now(), cpuEnd: cpuTime()}
	if opt.verify && sum != want {
		res.err = fmt.Errorf("checksum mismatch: got %08x, want %08x", sum, want)
		return res
	}
	if expectEOF() {
		extra, err := io.Copy(io.Discard, r)
		if err != nil {
			res.err = fmt.Errorf("after the last byte: %w", err)
		} else if extra > 0 {
			res.err = fmt.Errorf("received %d bytes more than the %d sent", extra, opt.size)
		}
	}
	return res
}
