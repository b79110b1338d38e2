package xfer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
	"github.com/tjunet/tjunet/xfer"
)

// Received data reaches the temporary file within FlushInterval, even if
// no more arrives (issue 12: 19 KiB stayed unwritten until exit).
func TestOutputFlushesWithoutMoreData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		final := filepath.Join(t.TempDir(), "got.bin")
		out, err := xfer.CreateOutput(final, xfer.OutputOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Abort()
		out.Write(make([]byte, 19<<10))
		if st, _ := os.Stat(out.TempPath()); st.Size() != 0 {
			t.Fatalf("written at once (%d bytes): the test shows nothing", st.Size())
		}
		time.Sleep(xfer.FlushInterval)
		synctest.Wait()
		if st, _ := os.Stat(out.TempPath()); st.Size() != 19<<10 {
			t.Errorf("after %v the temporary file has %d bytes, want %d", xfer.FlushInterval, st.Size(), 19<<10)
		}
		mustNotExist(t, final)
	})
}

func TestOutputStreamFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b testio.Buffer
		out := xfer.StreamOutput("standard output", &b)
		out.Write([]byte("hello"))
		time.Sleep(xfer.FlushInterval)
		synctest.Wait()
		if b.String() != "hello" {
			t.Errorf("stream got %q after %v", b.String(), xfer.FlushInterval)
		}
		out.Commit()
	})
}

// A device such as /dev/null is written in place: never renamed over.
func TestOutputDevice(t *testing.T) {
	out, err := xfer.CreateOutput(os.DevNull, xfer.OutputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out.TempPath() != "" {
		t.Fatalf("temporary file %s for %s", out.TempPath(), os.DevNull)
	}
	out.Write([]byte("x"))
	if err := out.Commit(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode().IsRegular() {
		t.Fatalf("%s is now %v (%v)", os.DevNull, st.Mode(), err)
	}
	if _, err := xfer.CreateOutput(os.DevNull, xfer.OutputOptions{Resume: true}); err == nil {
		t.Error("Resume into a device did not fail")
	}
	if _, err := xfer.CreateOutput(t.TempDir(), xfer.OutputOptions{}); err == nil {
		t.Error("a directory as output did not fail")
	}
}

// Commit replaces an existing file whole; Abort leaves it untouched.
func TestOutputReplacesOnlyOnCommit(t *testing.T) {
	final := filepath.Join(t.TempDir(), "f")
	os.WriteFile(final, []byte("old"), 0o644)
	out, _ := xfer.CreateOutput(final, xfer.OutputOptions{})
	out.Write([]byte("new data"))
	out.Abort()
	if got := readFile(t, final); string(got) != "old" {
		t.Errorf("after Abort: %q", got)
	}
	out, _ = xfer.CreateOutput(final, xfer.OutputOptions{})
	out.Write([]byte("new data"))
	if err := out.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, final); string(got) != "new data" {
		t.Errorf("after Commit: %q", got)
	}
}

// With Append, Commit adds the transfer to the end of the target; an
// aborted one adds nothing.
func TestOutputAppend(t *testing.T) {
	final := filepath.Join(t.TempDir(), "f")
	for i, part := range []string{"first;", "lost;", "second;"} {
		out, err := xfer.CreateOutput(final, xfer.OutputOptions{Append: i > 0})
		if err != nil {
			t.Fatal(err)
		}
		out.Write([]byte(part))
		if part == "lost;" {
			out.Abort()
			continue
		}
		if err := out.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, final); string(got) != "first;second;" {
		t.Errorf("got %q", got)
	}
	if names := testio.DirNames(t, filepath.Dir(final)); len(names) != 1 {
		t.Errorf("directory holds %q", names)
	}
}

// fakeConn is a net.Conn that reads from r and throws writes away.
type fakeConn struct {
	net.Conn
	r io.Reader
	w bytes.Buffer
}

func (c *fakeConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// framedStream builds what a sender sends for data, with sum as its
// SHA-256 trailer.
func framedStream(data []byte, sum []byte) []byte {
	b := []byte("TJUXFER1")
	b = binary.BigEndian.AppendUint64(b, uint64(len(data)))
	b = append(b, 0) // status: go on
	if len(data) > 0 {
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, sum...)
}

// A trailer that does not match the data fails the transfer, tells the
// sender, and leaves nothing under the final name.
func TestReceiverChecksumMismatch(t *testing.T) {
	final := filepath.Join(t.TempDir(), "got.bin")
	out, _ := xfer.CreateOutput(final, xfer.OutputOptions{})
	data := []byte("some data")
	bad := sha256.Sum256([]byte("other data"))
	c := &fakeConn{r: bytes.NewReader(framedStream(data, bad[:]))}
	_, err := xfer.NewReceiver(c, out, xfer.ReceiveOptions{Framed: true, Accept: out.Commit}).Run(context.Background())
	if !errors.Is(err, xfer.ErrChecksum) {
		t.Fatalf("err %v, want ErrChecksum", err)
	}
	out.Abort()
	mustNotExist(t, final)
	if w := c.w.Bytes(); len(w) == 0 || w[len(w)-1] != 1 {
		t.Errorf("verdict sent %x, want a mismatch status (1) last", w)
	}

	// The same stream with the right sum is accepted.
	good := sha256.Sum256(data)
	out, _ = xfer.CreateOutput(final, xfer.OutputOptions{})
	c = &fakeConn{r: bytes.NewReader(framedStream(data, good[:]))}
	if _, err := xfer.NewReceiver(c, out, xfer.ReceiveOptions{Framed: true, Accept: out.Commit}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, final); !bytes.Equal(got, data) {
		t.Errorf("got %q", got)
	}
}

// Every truncation of a valid stream fails cleanly and commits nothing.
func TestReceiverTruncated(t *testing.T) {
	data := randomData(1000, 9)
	sum := sha256.Sum256(data)
	stream := framedStream(data, sum[:])
	for n := 8; n < len(stream); n++ {
		dir := t.TempDir()
		final := filepath.Join(dir, "got.bin")
		out, _ := xfer.CreateOutput(final, xfer.OutputOptions{})
		c := &fakeConn{r: bytes.NewReader(stream[:n])}
		_, err := xfer.NewReceiver(c, out, xfer.ReceiveOptions{Framed: true, Accept: out.Commit}).Run(context.Background())
		if err == nil {
			t.Fatalf("stream cut at %d of %d accepted", n, len(stream))
		}
		out.Abort()
		mustNotExist(t, final)
	}
}

// FuzzReceive feeds arbitrary bytes to a framing receiver, with and
// without a code phrase: it must fail or succeed, never panic, and never
// commit data whose SHA-256 it did not check.
func FuzzReceive(f *testing.F) {
	data := []byte("fuzz me")
	sum := sha256.Sum256(data)
	f.Add(framedStream(data, sum[:]), false)
	f.Add([]byte("TJUXFER1\xff\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff"), false)
	f.Add([]byte("TJUXTLS1\x16\x03\x01\x00\x05hello"), true)
	f.Add([]byte("raw bytes"), false)
	f.Fuzz(func(t *testing.T, in []byte, code bool) {
		opt := xfer.ReceiveOptions{Framed: true, HandshakeTimeout: time.Second}
		if code {
			opt.Code = "fuzz"
		}
		var got bytes.Buffer
		out := xfer.StreamOutput("buffer", &got)
		committed := false
		opt.Accept = func() error { committed = true; return nil }
		c := &fakeConn{r: bytes.NewReader(in)}
		res, err := xfer.NewReceiver(c, out, opt).Run(context.Background())
		out.Commit()
		if err != nil {
			if committed {
				t.Fatalf("committed and failed: %v", err)
			}
			return
		}
		if res.Framed && !res.Verified {
			t.Fatal("framed result not verified")
		}
		if s := sha256.Sum256(got.Bytes()); !bytes.Equal(s[:], res.Sum) {
			t.Fatal("result's sum is not the data's")
		}
	})
}
