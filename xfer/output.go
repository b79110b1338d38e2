package xfer

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// PartialSuffix ends the name of the file that holds a kept partial
// transfer beside its target: "copy.iso" is received into
// "copy.iso.tju-partial" with OutputOptions.KeepPartial or Resume.
const PartialSuffix = ".tju-partial"

// FlushInterval is the longest time received data waits in an Output's
// buffer before it is written to the file or stream.
const FlushInterval = 500 * time.Millisecond

// OutputOptions say how CreateOutput treats a file that does not arrive
// whole.
type OutputOptions struct {
	// KeepPartial keeps the data of a failed or interrupted transfer in
	// NAME.tju-partial, where Resume finds it. Without it that data is
	// removed.
	KeepPartial bool

	// Resume continues NAME.tju-partial if it exists: its bytes are the
	// first Offset bytes of the transfer. Resume implies KeepPartial.
	Resume bool

	// Append makes Commit append the transfer to the target (creating it
	// if need be) instead of replacing it: a receiver that serves
	// transfer after transfer into one file appends each complete one.
	Append bool
}

// Output is where a receiver writes a transfer. For a regular file it is
// a temporary file beside the target that Commit renames to the target's
// name, so that a failed or interrupted transfer never leaves anything
// under that name. Writes are buffered and reach the file (or stream) at
// most FlushInterval after they were made, so a reader following the
// temporary file, or a pipe, sees the data as it arrives.
//
// An Output is safe for use by concurrent goroutines.
type Output struct {
	name    string // what to call it in messages
	final   string // the target's path; "" for a stream or a non-regular file
	tmpPath string // the file written; "" for a stream
	keep    bool   // keep tmpPath on Abort
	append  bool   // Commit appends to final

	mu      sync.Mutex
	f       *os.File // nil for a stream
	w       *bufio.Writer
	err     error       // first write error, sticky
	timer   *time.Timer // pending flush, nil if none
	done    bool        // committed or aborted
	written int64       // bytes accepted by Write (offset included)
	offset  int64       // bytes that were there at open (Resume)
	prefix  []byte      // SHA-256 state of those bytes (encoding.BinaryMarshaler form)
}

// StreamOutput returns an Output writing to w (standard output, a pipe):
// it is never renamed, Commit only flushes, and nothing can be resumed.
func StreamOutput(name string, w io.Writer) *Output {
	return &Output{name: name, w: bufio.NewWriterSize(w, 256<<10)}
}

// CreateOutput prepares to receive into the file name. A regular file (or
// a name that does not exist yet) is written through a temporary file in
// the same directory; anything else that exists, such as /dev/null or a
// named pipe, is written directly, as it cannot be replaced.
//
// With Resume and an existing NAME.tju-partial, Offset reports its size
// and PrefixSum the SHA-256 of its contents. Without Resume an existing
// NAME.tju-partial is an error, so that kept data is never overwritten.
func CreateOutput(name string, opt OutputOptions) (*Output, error) {
	if name == "" {
		return nil, errors.New("xfer: empty output file name")
	}
	target := name
	if real, err := filepath.EvalSymlinks(name); err == nil {
		target = real // replace the file a symlink points to, not the link
	}
	st, err := os.Stat(target)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("%s is a directory: name a file to write", name)
	case err == nil && !st.Mode().IsRegular():
		if opt.Resume {
			return nil, fmt.Errorf("cannot resume into %s: it is not a regular file", name)
		}
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &Output{name: name, f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}

	o := &Output{name: name, final: target, keep: opt.KeepPartial || opt.Resume, append: opt.Append}
	if o.keep {
		o.tmpPath = target + PartialSuffix
		flags := os.O_RDWR | os.O_CREATE | os.O_EXCL
		if opt.Resume {
			flags = os.O_RDWR | os.O_CREATE
		}
		f, err := os.OpenFile(o.tmpPath, flags, 0o666)
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s holds a kept partial transfer: --resume continues it; remove it to start over", o.tmpPath)
		}
		if err != nil {
			return nil, err
		}
		o.f = f
		if opt.Resume {
			h := sha256.New()
			n, err := io.Copy(h, f) // leaves the offset at the end, where writing goes on
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("reading %s: %w", o.tmpPath, err)
			}
			o.offset, o.written = n, n
			o.prefix, _ = h.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
		}
	} else {
		f, path, err := createTemp(target)
		if err != nil {
			return nil, err
		}
		o.f, o.tmpPath = f, path
	}
	o.w = bufio.NewWriterSize(o.f, 256<<10)
	return o, nil
}

// createTemp creates a new hidden file beside target, readable as a file
// made by os.Create would be (0666 less the umask).
func createTemp(target string) (*os.File, string, error) {
	dir, base := filepath.Split(target)
	for range 100 {
		path := filepath.Join(dir, fmt.Sprintf(".%s.%08x.tju-tmp", base, rand.Uint32()))
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, path, err
	}
	return nil, "", fmt.Errorf("cannot create a temporary file beside %s", target)
}

// Name returns the name the output was created with.
func (o *Output) Name() string { return o.name }

// TempPath returns the file being written before Commit renames it, or ""
// if the output is written in place (a stream, a device).
func (o *Output) TempPath() string { return o.tmpPath }

// Resumable reports whether the output can continue a kept transfer: a
// regular file opened with Resume or KeepPartial.
func (o *Output) Resumable() bool { return o.keep }

// Offset returns how many bytes of the transfer were already there when
// the output was opened (with Resume), 0 otherwise.
func (o *Output) Offset() int64 { return o.offset }

// PrefixHash returns a SHA-256 that has seen the first Offset bytes.
func (o *Output) PrefixHash() hash.Hash {
	h := sha256.New()
	if o.prefix != nil {
		h.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(o.prefix)
	}
	return h
}

// PrefixSum returns the SHA-256 of the first Offset bytes.
func (o *Output) PrefixSum() [sha256.Size]byte {
	var s [sha256.Size]byte
	copy(s[:], o.PrefixHash().Sum(nil))
	return s
}

// Written returns the bytes written so far, Offset included.
func (o *Output) Written() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.written
}

// Write buffers p; it reaches the file within FlushInterval.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return 0, o.err
	}
	if o.done {
		return 0, errors.New("xfer: write to a closed output")
	}
	n, err := o.w.Write(p)
	o.written += int64(n)
	if err != nil {
		o.err = o.wrap(err)
		return n, o.err
	}
	if o.w.Buffered() > 0 && o.timer == nil {
		o.timer = time.AfterFunc(FlushInterval, o.timedFlush)
	}
	return n, nil
}

func (o *Output) timedFlush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.timer = nil
	if !o.done {
		o.flushLocked()
	}
}

// Flush writes the buffered data now.
func (o *Output) Flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushLocked()
}

func (o *Output) flushLocked() error {
	if o.err != nil {
		return o.err
	}
	if err := o.w.Flush(); err != nil {
		o.err = o.wrap(err)
	}
	return o.err
}

func (o *Output) wrap(err error) error { return fmt.Errorf("writing %s: %w", o.name, err) }

func (o *Output) stopTimer() {
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
}

// Commit ends a complete transfer: it writes out the buffer and, for a
// file written through a temporary one, syncs it and renames it to the
// target's name, replacing any file there (with Append: appends it to the
// target and removes it).
func (o *Output) Commit() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return errors.New("xfer: output already closed")
	}
	o.done = true
	o.stopTimer()
	err := o.flushLocked()
	if o.f == nil {
		return err
	}
	if o.final != "" && err == nil {
		if serr := o.f.Sync(); serr != nil {
			err = o.wrap(serr)
		}
	}
	if cerr := o.f.Close(); cerr != nil && err == nil {
		err = o.wrap(cerr)
	}
	if o.final == "" {
		return err
	}
	if err != nil {
		o.abandonLocked()
		return err
	}
	if o.append {
		err := appendFile(o.final, o.tmpPath)
		os.Remove(o.tmpPath)
		if err != nil {
			return fmt.Errorf("cannot append the received data to %s: %w", o.name, err)
		}
		return nil
	}
	if rerr := os.Rename(o.tmpPath, o.final); rerr != nil {
		o.abandonLocked()
		return fmt.Errorf("cannot put the received file in place: %w", rerr)
	}
	return nil
}

// appendFile appends the contents of the file src to dst and syncs dst.
func appendFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in) // copy_file_range where the system has it
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// Abort ends an incomplete transfer. Nothing is written under the
// target's name. With KeepPartial or Resume the data received stays in
// NAME.tju-partial and kept is its path; otherwise it is removed and kept
// is "". A stream is flushed: what was written there cannot be taken back.
func (o *Output) Abort() (kept string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return "", nil
	}
	o.done = true
	o.stopTimer()
	err = o.flushLocked()
	if o.f == nil {
		return "", err
	}
	if cerr := o.f.Close(); cerr != nil && err == nil {
		err = o.wrap(cerr)
	}
	if o.final == "" {
		return "", err
	}
	if o.keep {
		return o.tmpPath, err
	}
	o.abandonLocked()
	return "", err
}

// abandonLocked removes the temporary file unless it is to be kept.
func (o *Output) abandonLocked() {
	if !o.keep && o.tmpPath != "" {
		os.Remove(o.tmpPath)
	}
}

// Describe says where the data of an aborted output is, for a message:
// "12345 bytes kept in copy.iso.tju-partial (--resume continues it)".
func Describe(o *Output, kept string) string {
	n := o.Written()
	switch {
	case o.final == "":
		return fmt.Sprintf("%d bytes were written to %s", n, o.name)
	case kept != "":
		return fmt.Sprintf("%d bytes kept in %s (--resume continues it)", n, kept)
	case n == 0:
		return fmt.Sprintf("nothing written to %s", o.name)
	default:
		return fmt.Sprintf("nothing written to %s; the %d bytes received were removed (--keep-partial keeps them)", o.name, n)
	}
}
