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
	left    string      // after a failed Commit: where the complete transfer still is
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
		// One writer at a time: a second receiver resuming the same
		// partial file would interleave its data with ours.
		if err := lockFile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s is being written by another receiver (%v)", o.tmpPath, err)
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
		var pe *fs.PathError
		if errors.As(err, &pe) {
			// Name the directory the user chose, not the hidden name.
			err = &fs.PathError{Op: "create a file in", Path: filepath.Clean(dir), Err: pe.Err}
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

// dropAfter cuts a kept partial file back to its first n bytes, so that
// data found wrong is not kept for a resume. It does nothing to an output
// that keeps nothing, or that holds no more than n bytes.
func (o *Output) dropAfter(n int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done || o.f == nil || !o.keep || o.final == "" || n >= o.written {
		return nil
	}
	if err := o.flushLocked(); err != nil {
		return err
	}
	if err := o.f.Truncate(n); err != nil {
		return o.wrap(err)
	}
	if _, err := o.f.Seek(n, io.SeekStart); err != nil {
		return o.wrap(err)
	}
	o.written = n
	return nil
}

func (o *Output) stopTimer() {
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
}

// Commit ends a complete transfer: it writes out the buffer and, for a
// file written through a temporary one, syncs it and renames it to the
// target's name, replacing any file there. With Append the target is
// replaced by a copy of itself with the transfer added (see
// appendAtomic), so that at every moment, a crash included, the target
// holds either what it held before or all of it with the transfer.
//
// If Commit fails after the data was complete, the target is as it was
// and the data stays in the temporary file; Abort then returns its path.
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
		if err := appendAtomic(o.final, o.tmpPath); err != nil {
			o.left = o.tmpPath
			return fmt.Errorf("cannot append the received data to %s, which is as it was (the transfer is in %s): %w", o.name, o.tmpPath, err)
		}
		os.Remove(o.tmpPath)
		return nil
	}
	if rerr := os.Rename(o.tmpPath, o.final); rerr != nil {
		o.abandonLocked()
		return fmt.Errorf("cannot put the received file in place: %w", rerr)
	}
	syncDir(o.final)
	return nil
}

// appendAtomic makes dst hold its contents followed by src's without ever
// changing dst in place: it writes both into a new file beside dst, syncs
// it and renames it over dst. A crash or an error at any point leaves dst
// as it was (or, once the rename is done, complete) and src untouched;
// at worst a hidden temporary file stays beside dst. The copy costs a
// read of dst (copy_file_range, a reflink on file systems that have
// them); a dst that does not exist is created. The new dst keeps the old
// one's permission bits, but it is a new file: other hard links to the
// old one keep the old contents.
func appendAtomic(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, tmp, err := createTemp(dst)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			out.Close()
			os.Remove(tmp)
		}
	}()
	old, err := os.Open(dst)
	switch {
	case err == nil:
		st, err := old.Stat()
		if err == nil {
			err = out.Chmod(st.Mode().Perm())
		}
		if err == nil {
			_, err = io.Copy(out, old)
		}
		old.Close()
		if err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	done = true
	syncDir(dst)
	return nil
}

// syncDir syncs the directory that holds path, so that a rename into it
// survives a crash of the system. Failures are ignored: some file systems
// cannot sync a directory, and the rename itself was done.
func syncDir(path string) {
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
}

// Abort ends an incomplete transfer. Nothing is written under the
// target's name. With KeepPartial or Resume the data received stays in
// NAME.tju-partial, synced to disk, and kept is its path (if nothing was
// received the empty file is removed and kept is ""); otherwise it is
// removed and kept is "". After a Commit that failed, Abort only reports
// where the data still is. A stream is flushed: what was written there
// cannot be taken back.
func (o *Output) Abort() (kept string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return o.left, nil
	}
	o.done = true
	o.stopTimer()
	err = o.flushLocked()
	if o.f == nil {
		return "", err
	}
	if o.keep && o.final != "" && o.written > 0 {
		// What is kept must survive a crash of the system too.
		if serr := o.f.Sync(); serr != nil && err == nil {
			err = o.wrap(serr)
		}
	}
	if cerr := o.f.Close(); cerr != nil && err == nil {
		err = o.wrap(cerr)
	}
	if o.final == "" {
		return "", err
	}
	if o.keep && o.written > 0 {
		return o.tmpPath, err
	}
	if o.keep {
		// Nothing arrived: an empty partial file would only stop the
		// next --keep-partial.
		os.Remove(o.tmpPath)
		return "", err
	}
	o.abandonLocked()
	return "", err
}

// abandonLocked removes the temporary file unless it is to be kept.
func (o *Output) abandonLocked() {
	switch {
	case o.keep:
		o.left = o.tmpPath
	case o.tmpPath != "":
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
	case kept != "" && o.keep:
		return fmt.Sprintf("%d bytes kept in %s (--resume continues it)", n, kept)
	case kept != "":
		return fmt.Sprintf("the %d bytes received are in %s", n, kept)
	case n == 0:
		return fmt.Sprintf("nothing written to %s", o.name)
	default:
		return fmt.Sprintf("nothing written to %s; the %d bytes received were removed (--keep-partial keeps them)", o.name, n)
	}
}
