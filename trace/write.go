package trace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Roles of the lab's two hosts, which name their trace files.
const (
	RoleClient = "client"
	RoleServer = "server"
)

// FileName returns the lab's name of the trace file of a host with the given
// role: "client.event.trace" for RoleClient, "server.event.trace" for RoleServer.
func FileName(role string) string { return role + ".event.trace" }

// writerBufSize is how many bytes a Writer gathers before writing them out.
const writerBufSize = 64 << 10

// ErrClosed is returned by a Writer's Flush and Close after Close.
var ErrClosed = errors.New("trace: writer closed")

// Writer is a Tracer that writes events in the lab's line format to an
// io.Writer. It buffers lines and writes them out in blocks of about 64 KiB,
// on Flush and on Close; Trace does not allocate. A Writer is safe for
// concurrent use by several goroutines; each event is written as a whole line.
//
// Trace cannot report errors. The first write error is kept: later events are
// dropped, and Flush, Close and Err return it.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	c      io.Closer // closed by Close; nil if the caller owns w
	buf    []byte
	err    error
	closed bool
}

// NewWriter returns a Writer that writes to w. Close flushes the Writer but does
// not close w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, buf: make([]byte, 0, writerBufSize+1024)}
}

// Create creates (or truncates) the trace file of the given role in dir, named
// as the lab names it (see FileName), creating dir if needed, and returns a
// Writer on it. Closing the Writer closes the file. The role is usually
// RoleClient or RoleServer; any other name without a path separator is allowed.
func Create(dir, role string) (*Writer, error) {
	if role == "" || role == "." || role == ".." || strings.ContainsAny(role, `/\`) {
		return nil, fmt.Errorf("trace: bad role %q for a trace file name", role)
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("trace: %w", err)
		}
	}
	f, err := os.Create(filepath.Join(dir, FileName(role)))
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	w := NewWriter(f)
	w.c = f
	return w, nil
}

// Trace appends e as one line to the buffer, writing the buffer out when it is
// nearly full. It implements Tracer. After Close or a write error it does
// nothing.
func (w *Writer) Trace(e *Event) {
	w.mu.Lock()
	if w.err == nil && !w.closed {
		w.buf = e.Append(w.buf)
		if len(w.buf) >= writerBufSize {
			w.flushLocked()
		}
	}
	w.mu.Unlock()
}

func (w *Writer) flushLocked() {
	if len(w.buf) == 0 || w.err != nil {
		return
	}
	n, err := w.w.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("trace: writing events: %w", err)
	}
	w.buf = w.buf[:0]
}

// Flush writes out the buffered lines.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.flushLocked()
	return w.err
}

// Close flushes the Writer and, if it was made by Create, closes its file.
// Events traced after Close are dropped. Closing twice returns ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.flushLocked()
	w.closed = true
	err := w.err
	if w.c != nil {
		if cerr := w.c.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("trace: %w", cerr)
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

// Recorder is a Tracer that keeps events in memory, for tests and for plotting
// a connection without a file. It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Trace appends a copy of e. It implements Tracer.
func (r *Recorder) Trace(e *Event) {
	r.mu.Lock()
	r.events = append(r.events, *e)
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far, in order.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Multi returns a Tracer that passes each event to every one of tracers in
// turn; nil tracers are left out.
func Multi(tracers ...Tracer) Tracer {
	var m multi
	for _, t := range tracers {
		if t != nil {
			m = append(m, t)
		}
	}
	return m
}

type multi []Tracer

func (m multi) Trace(e *Event) {
	for _, t := range m {
		t.Trace(e)
	}
}
