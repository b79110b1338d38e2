package xfer_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tjunet/tjunet/xfer"
)

func TestOpenInput(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	if err := os.WriteFile(name, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, size, err := xfer.OpenInput(name, nil)
	if err != nil || size != 5 {
		t.Fatalf("a regular file: size %d, %v", size, err)
	}
	b, err := io.ReadAll(in)
	in.Close()
	if err != nil || string(b) != "hello" {
		t.Errorf("read %q, %v", b, err)
	}
	if _, _, err := xfer.OpenInput(dir, nil); err == nil || !strings.Contains(err.Error(), "it is a directory") {
		t.Errorf("a directory: %v", err)
	}
	if _, _, err := xfer.OpenInput(filepath.Join(dir, "none"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	if _, _, err := xfer.OpenInput("-", nil); err == nil {
		t.Errorf("no standard input: no error")
	}
	// A pipe has no size, and its read errors are the input's.
	boom := errors.New("boom")
	in, size, err = xfer.OpenInput("-", iotest.ErrReader(boom))
	if err != nil || size != -1 {
		t.Fatalf("a pipe: size %d, %v", size, err)
	}
	_, err = in.Read(make([]byte, 1))
	var ie *xfer.InputError
	if !errors.As(err, &ie) || !errors.Is(err, boom) || err.Error() != "reading standard input: boom" {
		t.Errorf("read error %v, want an *InputError wrapping boom", err)
	}
}

func TestIsProtocolError(t *testing.T) {
	if !xfer.IsProtocolError(xfer.ErrWrongCode) || xfer.IsProtocolError(io.ErrUnexpectedEOF) || xfer.IsProtocolError(nil) {
		t.Errorf("IsProtocolError sorts the errors wrongly")
	}
}
