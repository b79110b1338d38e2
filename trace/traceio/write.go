package traceio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tjunet/tjunet/trace"
)

const (
	// blockSize is how many bytes a Writer gathers before its background
	// goroutine writes them out.
	blockSize = 64 << 10
	// maxPending bounds the lines a Writer holds while a write is slow:
	// events beyond it are dropped and counted (Dropped).
	maxPending = 16 << 20
)

// ErrClosed is returned by a Writer's Flush and Close after Close.
var ErrClosed = errors.New("traceio: writer closed")

// Writer is a trace.Tracer that writes events in the lab's line format to an
// io.Writer. Trace only formats the event into memory and never waits for
// the io.Writer: when about 64 KiB of lines are gathered, a goroutine of the
// Writer writes them out, so an engine tracing from its own loop does no
// file I/O there. Flush and Close write out what is left, in the caller's
// goroutine. Trace does not allocate. A Writer is safe for concurrent use;
// each event is written as a whole line, and lines go out in the order
// Trace was called.
//
// Trace cannot report errors. The first write error is kept: later events
// are dropped, and Flush, Close and Err return it. If writing falls more
// than 16 MiB behind, events are dropped and counted until it catches up.
type Writer struct {
	mu      sync.Mutex
	buf     []byte // lines traced and not yet taken for writing
	spare   []byte // the other block, while it is not being written
	err     error  // the first write error
	closed  bool
	dropped uint64
	limit   int           // maxPending, lowered by tests
	kicked  bool          // the goroutine was asked to write
	started bool          // the goroutine runs
	kick    chan struct{} // to the goroutine: write out (closed by Close)
	done    chan struct{} // closed when the goroutine ends

	wmu      sync.Mutex // held while writing, so blocks go out in order
	w        io.Writer
	c        io.Closer // closed by Close; nil if the caller owns w
	finished bool      // Close wrote the last block (guarded by wmu)
}

// NewWriter returns a Writer that writes to w. Close flushes the Writer but
// does not close w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{
		w:     w,
		buf:   make([]byte, 0, blockSize+1024),
		spare: make([]byte, 0, blockSize+1024),
		limit: maxPending,
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
}

// Create creates (or truncates) the trace file of the given role in dir,
// named as the lab names it (see trace.FileName), creating dir if needed,
// and returns a Writer on it. Closing the Writer closes the file. The role
// is usually trace.RoleClient or trace.RoleServer; any other name without a
// path separator is allowed.
func Create(dir, role string) (*Writer, error) {
	if role == "" || role == "." || role == ".." || strings.ContainsAny(role, `/\`) {
		return nil, fmt.Errorf("traceio: bad role %q for a trace file name", role)
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("traceio: %w", err)
		}
	}
	f, err := os.Create(filepath.Join(dir, trace.FileName(role)))
	if err != nil {
		return nil, fmt.Errorf("traceio: %w", err)
	}
	w := NewWriter(f)
	w.c = f
	return w, nil
}

// Trace appends e as one line to the Writer's memory, handing a full block
// to the Writer's goroutine. It implements trace.Tracer. After Close or a
// write error it does nothing.
func (w *Writer) Trace(e *trace.Event) {
	w.mu.Lock()
	switch {
	case w.err != nil || w.closed:
	case len(w.buf) >= w.limit:
		w.dropped++
	default:
		w.buf = e.Append(w.buf)
		if len(w.buf) >= blockSize && !w.kicked {
			w.kicked = true
			if !w.started {
				w.started = true
				go w.run()
			}
			select {
			case w.kick <- struct{}{}:
			default: // a request is pending already; it takes these lines too
			}
		}
	}
	w.mu.Unlock()
}

// run writes blocks out as Trace hands them over, until Close.
func (w *Writer) run() {
	defer close(w.done)
	for range w.kick {
		w.writeOut()
	}
}

// writeOut writes every line traced so far and returns the first write
// error.
func (w *Writer) writeOut() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.finished {
		return ErrClosed
	}
	return w.writeOutLocked()
}

func (w *Writer) writeOutLocked() error {
	w.mu.Lock()
	b := w.buf
	w.buf, w.spare = w.spare[:0], nil
	w.kicked = false
	err := w.err
	w.mu.Unlock()

	if len(b) > 0 && err == nil {
		n, werr := w.w.Write(b)
		if werr == nil && n < len(b) {
			werr = io.ErrShortWrite
		}
		if werr != nil {
			err = fmt.Errorf("traceio: writing events: %w", werr)
		}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	w.spare = b[:0]
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// Flush writes out the lines traced so far.
func (w *Writer) Flush() error {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return w.writeOut()
}

// Close stops the Writer's goroutine, writes out what is left and, if the
// Writer was made by Create, closes its file. Events traced after Close are
// dropped. Closing twice returns ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	started := w.started
	w.mu.Unlock()
	if started {
		close(w.kick) // Trace sends no more: it sees closed
		<-w.done
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	err := w.writeOutLocked()
	w.finished = true
	if w.c != nil {
		if cerr := w.c.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("traceio: %w", cerr)
		}
	}
	return err
}

// Err returns the first write error, or nil.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Dropped returns the number of events dropped because writing fell more
// than 16 MiB behind.
func (w *Writer) Dropped() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}
