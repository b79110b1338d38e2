package xfer

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// OpenInput opens the file name for sending, or stdin for "-", and
// returns its size if known (-1 if not: a pipe, a terminal). What it
// returns marks its read errors as *InputError, so that they are not
// taken for the connection's. A directory is refused with a hint to send
// an archive.
func OpenInput(name string, stdin io.Reader) (io.ReadCloser, int64, error) {
	if name == "-" {
		if stdin == nil {
			return nil, 0, errors.New("no standard input to send")
		}
		size := int64(-1)
		if f, ok := stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				size = st.Size()
			}
		}
		return inputReader{io.NopCloser(stdin), name}, size, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read the file to send: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("cannot read the file to send: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("cannot send %s: it is a directory (send an archive: tar c %s | tju send HOST)", name, name)
	}
	size := int64(-1)
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	return inputReader{f, name}, size, nil
}

// inputReader reads the input, marking its errors as the input's.
type inputReader struct {
	r    io.ReadCloser
	name string
}

func (r inputReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &InputError{Name: r.name, Err: err}
	}
	return n, err
}

func (r inputReader) Close() error { return r.r.Close() }

// InputError is a failure to read what is being sent.
type InputError struct {
	Name string // the file, or "-" for standard input
	Err  error
}

// Error says what could not be read: "reading standard input: ...".
func (e *InputError) Error() string {
	name := e.Name
	if name == "-" {
		name = "standard input"
	}
	return "reading " + name + ": " + e.Err.Error()
}

// Unwrap returns the read error.
func (e *InputError) Unwrap() error { return e.Err }

// IsProtocolError reports whether err is an error of the transfer
// protocol itself (a checksum mismatch, a wrong code phrase, a partial
// file that does not match, a malformed message), which says all there
// is to say, as opposed to a failure of the connection.
func IsProtocolError(err error) bool {
	for _, e := range []error{ErrChecksum, ErrWrongCode, ErrPeerWantsCode, ErrPeerHasNoCode,
		ErrResumeMismatch, ErrCannotResume, ErrReceiverOutput, ErrMalformed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
