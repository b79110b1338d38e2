package xfer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/xfer"
)

var (
	clientAddr = netip.MustParseAddrPort("172.17.0.2:20218")
	serverAddr = netip.MustParseAddrPort("172.17.0.3:20218")
)

// pair connects two endpoints of an in-memory network (10 ms each way)
// and returns the client's and the server's ends. Call it inside a
// synctest bubble; the endpoints close when the test ends.
func pair(t *testing.T, cfg *tju.Config) (client, server *tju.Conn) {
	t.Helper()
	n := netem.NewNetwork()
	link := netem.Config{Delay: 10 * time.Millisecond}
	a, err := n.Attach(clientAddr, link)
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Attach(serverAddr, link)
	if err != nil {
		t.Fatal(err)
	}
	c := tju.Config{MSL: 100 * time.Millisecond}
	if cfg != nil {
		c = *cfg
		c.MSL = 100 * time.Millisecond
	}
	ce, se := tju.NewEndpoint(a, &c), tju.NewEndpoint(b, &c)
	t.Cleanup(func() { ce.Close(); se.Close() })
	l, err := se.Listen(1234)
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan *tju.Conn, 1)
	go func() {
		s, err := l.AcceptTJU(context.Background())
		if err != nil {
			t.Error(err)
		}
		accepted <- s
	}()
	client, err = ce.Dial(context.Background(), serverAddr.String(), 1234)
	if err != nil {
		t.Fatal(err)
	}
	return client, <-accepted
}

func randomData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

type outcome struct {
	res *xfer.Result
	err error
}

// transfer sends data from a new Sender on c to a new Receiver on s into
// out, committing out on success, and returns both ends' outcomes.
func transfer(t *testing.T, c, s *tju.Conn, src io.Reader, size int64, out *xfer.Output, sopt xfer.SendOptions, ropt xfer.ReceiveOptions) (snd, rcv outcome) {
	t.Helper()
	sopt.Size = size
	ropt.Accept = out.Commit
	var wg sync.WaitGroup
	wg.Go(func() {
		snd.res, snd.err = xfer.NewSender(c, sopt).Run(context.Background(), src)
		if snd.err != nil {
			c.Abort()
		}
		c.Close()
	})
	rcv.res, rcv.err = xfer.NewReceiver(s, out, ropt).Run(context.Background())
	if rcv.err != nil {
		s.Abort()
		out.Abort()
	}
	s.Close()
	wg.Wait()
	return snd, rcv
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustNotExist(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Lstat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (err %v); want nothing there", name, err)
	}
}

func TestFramedTransfer(t *testing.T) {
	for _, n := range []int{0, 1, 7, xfer.ChunkSize, xfer.ChunkSize + 1, 1 << 20} {
		synctest.Test(t, func(t *testing.T) {
			dir := t.TempDir()
			final := filepath.Join(dir, "got.bin")
			data := randomData(n, uint64(n))
			out, err := xfer.CreateOutput(final, xfer.OutputOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c, s := pair(t, nil)
			if !c.Info().Extensions {
				t.Fatal("no extensions negotiated between two tjunet endpoints")
			}
			snd, rcv := transfer(t, c, s, bytes.NewReader(data), int64(n), out,
				xfer.SendOptions{Framed: true}, xfer.ReceiveOptions{Framed: true})
			if snd.err != nil || rcv.err != nil {
				t.Fatalf("%d bytes: send %v, receive %v", n, snd.err, rcv.err)
			}
			if !snd.res.Framed || !snd.res.Verified || !rcv.res.Framed || !rcv.res.Verified {
				t.Errorf("%d bytes: send %+v, receive %+v: want framed and verified on both ends", n, snd.res, rcv.res)
			}
			if got := readFile(t, final); !bytes.Equal(got, data) {
				t.Errorf("%d bytes: file has %d bytes, not the data", n, len(got))
			}
			if !bytes.Equal(snd.res.Sum, rcv.res.Sum) || snd.res.Bytes != int64(n) || rcv.res.Bytes != int64(n) {
				t.Errorf("%d bytes: sums or counts differ: %+v %+v", n, snd.res, rcv.res)
			}
			if names := testio.DirNames(t, dir); len(names) != 1 {
				t.Errorf("directory holds %q; want only got.bin (no temporary file left)", names)
			}
		})
	}
}

// A plain (lab-style) connection negotiates no extensions: both ends move
// the raw bytes, which a lab peer expects.
func TestRawWithoutExtensions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		final := filepath.Join(t.TempDir(), "got.bin")
		data := randomData(300000, 2)
		out, err := xfer.CreateOutput(final, xfer.OutputOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c, s := pair(t, &tju.Config{Plain: true})
		framed := c.Info().Extensions
		if framed {
			t.Fatal("Plain connection negotiated extensions")
		}
		snd, rcv := transfer(t, c, s, bytes.NewReader(data), -1, out,
			xfer.SendOptions{Framed: framed}, xfer.ReceiveOptions{Framed: s.Info().Extensions})
		if snd.err != nil || rcv.err != nil {
			t.Fatalf("send %v, receive %v", snd.err, rcv.err)
		}
		if snd.res.Framed || rcv.res.Framed {
			t.Error("framed without extensions")
		}
		if got := readFile(t, final); !bytes.Equal(got, data) {
			t.Errorf("file has %d bytes, not the data", len(got))
		}
	})
}

// A framing receiver takes a stream that does not start with the
// preamble as raw data, however short.
func TestFramingReceiverRawSender(t *testing.T) {
	for _, n := range []int{0, 3, 8, 5000} {
		synctest.Test(t, func(t *testing.T) {
			final := filepath.Join(t.TempDir(), "got.bin")
			data := randomData(n, 3)
			out, _ := xfer.CreateOutput(final, xfer.OutputOptions{})
			c, s := pair(t, nil)
			snd, rcv := transfer(t, c, s, bytes.NewReader(data), -1, out,
				xfer.SendOptions{Framed: false}, xfer.ReceiveOptions{Framed: true})
			if snd.err != nil || rcv.err != nil {
				t.Fatalf("%d bytes: send %v, receive %v", n, snd.err, rcv.err)
			}
			if rcv.res.Framed {
				t.Errorf("%d raw bytes taken as framed", n)
			}
			if got := readFile(t, final); !bytes.Equal(got, data) {
				t.Errorf("%d bytes: file has %d", n, len(got))
			}
		})
	}
}

// cutAfter is a source that gives n bytes of data, then calls cut (which
// kills the connection) and blocks until the connection is gone.
type cutAfter struct {
	data []byte
	n    int
	cut  func()
	done <-chan struct{}
}

func (r *cutAfter) Read(p []byte) (int, error) {
	if r.n <= 0 {
		r.cut()
		<-r.done
		return 0, errors.New("source gone")
	}
	k := copy(p, r.data[:min(r.n, len(r.data))])
	r.data, r.n = r.data[k:], r.n-k
	return k, nil
}

// interrupted runs a transfer whose sender dies after sending cut bytes
// and returns the receiver's output (aborted) and error.
func interrupted(t *testing.T, final string, data []byte, cut int, opt xfer.OutputOptions) (*xfer.Output, string, error) {
	t.Helper()
	out, err := xfer.CreateOutput(final, opt)
	if err != nil {
		t.Fatal(err)
	}
	c, s := pair(t, nil)
	src := &cutAfter{data: data, n: cut, cut: func() {
		time.Sleep(time.Second) // let what was sent arrive
		c.Abort()
	}, done: c.Done()}
	go xfer.NewSender(c, xfer.SendOptions{Framed: true, Size: int64(len(data))}).Run(context.Background(), src)
	_, rerr := xfer.NewReceiver(s, out, xfer.ReceiveOptions{Framed: true, Accept: out.Commit}).Run(context.Background())
	kept, aerr := out.Abort()
	if aerr != nil {
		t.Fatal(aerr)
	}
	return out, kept, rerr
}

func TestInterruptedLeavesNoFinalFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		final := filepath.Join(dir, "got.bin")
		_, kept, err := interrupted(t, final, randomData(1<<20, 4), 300000, xfer.OutputOptions{})
		if err == nil {
			t.Fatal("receiver reported success for a transfer cut short")
		}
		mustNotExist(t, final)
		if kept != "" {
			t.Errorf("kept %s without KeepPartial", kept)
		}
		if names := testio.DirNames(t, dir); len(names) != 0 {
			t.Errorf("directory holds %q after a failed transfer; want nothing", names)
		}
	})
}

func TestKeepPartialAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		final := filepath.Join(dir, "got.bin")
		data := randomData(1<<20+12345, 5)
		out, kept, err := interrupted(t, final, data, 400000, xfer.OutputOptions{KeepPartial: true})
		if err == nil {
			t.Fatal("receiver reported success for a transfer cut short")
		}
		mustNotExist(t, final)
		if kept != final+xfer.PartialSuffix {
			t.Fatalf("kept %q, want %s", kept, final+xfer.PartialSuffix)
		}
		part := readFile(t, kept)
		if len(part) == 0 || len(part) > 400000 || !bytes.Equal(part, data[:len(part)]) {
			t.Fatalf("partial file: %d bytes, not a prefix of the data (sent 400000)", len(part))
		}
		if out.Written() != int64(len(part)) {
			t.Errorf("Written %d, file %d", out.Written(), len(part))
		}

		// A second run without --resume must not overwrite the kept data.
		if _, err := xfer.CreateOutput(final, xfer.OutputOptions{KeepPartial: true}); err == nil {
			t.Error("KeepPartial over an existing partial file did not fail")
		}

		// Resume: the receiver offers its prefix, the sender checks it.
		out2, err := xfer.CreateOutput(final, xfer.OutputOptions{Resume: true})
		if err != nil {
			t.Fatal(err)
		}
		if out2.Offset() != int64(len(part)) {
			t.Fatalf("Offset %d, want %d", out2.Offset(), len(part))
		}
		c, s := pair(t, nil)
		snd, rcv := transfer(t, c, s, bytes.NewReader(data), int64(len(data)), out2,
			xfer.SendOptions{Framed: true}, xfer.ReceiveOptions{Framed: true})
		if snd.err != nil || rcv.err != nil {
			t.Fatalf("resume: send %v, receive %v", snd.err, rcv.err)
		}
		if snd.res.Offset != int64(len(part)) || rcv.res.Offset != int64(len(part)) || snd.res.Bytes != int64(len(data)-len(part)) {
			t.Errorf("resume: offsets %d/%d bytes %d; want %d and %d", snd.res.Offset, rcv.res.Offset, snd.res.Bytes, len(part), len(data)-len(part))
		}
		if got := readFile(t, final); !bytes.Equal(got, data) {
			t.Errorf("resumed file: %d bytes, not byte-exact (want %d)", len(got), len(data))
		}
		mustNotExist(t, kept)
		if !rcv.res.Verified || !bytes.Equal(rcv.res.Sum, snd.res.Sum) {
			t.Error("resumed transfer not verified end to end")
		}
	})
}

// A partial file that is not the start of the sender's data is refused
// by both ends and kept as it was.
func TestResumeMismatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		partial []byte
	}{
		{"different", randomData(5000, 99)},
		{"longer", randomData(300000, 6)}, // the data is its first 200000 bytes
	} {
		synctest.Test(t, func(t *testing.T) {
			final := filepath.Join(t.TempDir(), "got.bin")
			data := randomData(200000, 6)
			if err := os.WriteFile(final+xfer.PartialSuffix, tc.partial, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := xfer.CreateOutput(final, xfer.OutputOptions{Resume: true})
			if err != nil {
				t.Fatal(err)
			}
			c, s := pair(t, nil)
			snd, rcv := transfer(t, c, s, bytes.NewReader(data), int64(len(data)), out,
				xfer.SendOptions{Framed: true}, xfer.ReceiveOptions{Framed: true})
			if !errors.Is(snd.err, xfer.ErrResumeMismatch) || !errors.Is(rcv.err, xfer.ErrResumeMismatch) {
				t.Fatalf("%s: send %v, receive %v; want ErrResumeMismatch on both", tc.name, snd.err, rcv.err)
			}
			mustNotExist(t, final)
			if got := readFile(t, final+xfer.PartialSuffix); !bytes.Equal(got, tc.partial) {
				t.Errorf("%s: the partial file changed", tc.name)
			}
		})
	}
}

// A raw sender cannot continue a partial file.
func TestResumeNeedsFraming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		final := filepath.Join(t.TempDir(), "got.bin")
		os.WriteFile(final+xfer.PartialSuffix, []byte("12345"), 0o644)
		out, err := xfer.CreateOutput(final, xfer.OutputOptions{Resume: true})
		if err != nil {
			t.Fatal(err)
		}
		c, s := pair(t, &tju.Config{Plain: true})
		_, rcv := transfer(t, c, s, bytes.NewReader([]byte("hello world")), -1, out,
			xfer.SendOptions{}, xfer.ReceiveOptions{Framed: false})
		if !errors.Is(rcv.err, xfer.ErrCannotResume) {
			t.Fatalf("receive %v, want ErrCannotResume", rcv.err)
		}
		mustNotExist(t, final)
	})
}

func TestCodePhrase(t *testing.T) {
	data := randomData(200000, 7)
	for _, tc := range []struct {
		name             string
		sendCode, rcCode string
		sendErr, rcvErr  error
	}{
		{"same", "correct-horse-battery", "correct-horse-battery", nil, nil},
		{"wrong", "correct-horse-battery", "correct-horse-batterx", xfer.ErrWrongCode, xfer.ErrWrongCode},
		{"sender only", "correct-horse-battery", "", xfer.ErrPeerHasNoCode, xfer.ErrPeerWantsCode},
		{"receiver only", "", "correct-horse-battery", xfer.ErrPeerWantsCode, xfer.ErrPeerHasNoCode},
	} {
		synctest.Test(t, func(t *testing.T) {
			final := filepath.Join(t.TempDir(), "got.bin")
			out, _ := xfer.CreateOutput(final, xfer.OutputOptions{})
			c, s := pair(t, nil)
			snd, rcv := transfer(t, c, s, bytes.NewReader(data), int64(len(data)), out,
				xfer.SendOptions{Framed: true, Code: tc.sendCode}, xfer.ReceiveOptions{Framed: true, Code: tc.rcCode})
			if !errors.Is(snd.err, tc.sendErr) || !errors.Is(rcv.err, tc.rcvErr) || (tc.sendErr == nil) != (snd.err == nil) || (tc.rcvErr == nil) != (rcv.err == nil) {
				t.Fatalf("%s: send %v, receive %v; want %v and %v", tc.name, snd.err, rcv.err, tc.sendErr, tc.rcvErr)
			}
			t.Logf("%s: send %v / receive %v", tc.name, snd.err, rcv.err)
			if tc.sendErr != nil {
				mustNotExist(t, final)
				return
			}
			if !snd.res.Encrypted || !rcv.res.Encrypted || !rcv.res.Verified {
				t.Errorf("%s: %+v %+v: want encrypted and verified", tc.name, snd.res, rcv.res)
			}
			if got := readFile(t, final); !bytes.Equal(got, data) {
				t.Errorf("%s: file has %d bytes, not the data", tc.name, len(got))
			}
		})
	}
}

// The sender's count of acknowledged data bytes follows the connection's
// acknowledged stream bytes without counting framing, and ends at the
// size of the data.
func TestSenderAcked(t *testing.T) {
	for _, code := range []string{"", "phrase"} {
		synctest.Test(t, func(t *testing.T) {
			data := randomData(3<<20, 8)
			out := xfer.StreamOutput("discard", io.Discard)
			c, s := pair(t, nil)
			snd := xfer.NewSender(c, xfer.SendOptions{Framed: true, Code: code, Size: int64(len(data))})
			var samples []int64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
						samples = append(samples, snd.Acked(c.Info().BytesAcked))
					}
				}
			}()
			errc := make(chan error, 1)
			go func() {
				_, err := snd.Run(context.Background(), bytes.NewReader(data))
				errc <- err
			}()
			if _, err := xfer.NewReceiver(s, out, xfer.ReceiveOptions{Framed: true, Code: code}).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			close(stop)
			<-sampled
			final := snd.Acked(c.Info().BytesAcked)
			if final != int64(len(data)) {
				t.Errorf("code %q: Acked at the end %d, want %d (stream bytes acked %d)", code, final, len(data), c.Info().BytesAcked)
			}
			prev := int64(0)
			for _, v := range samples {
				if v < prev || v > int64(len(data)) {
					t.Fatalf("code %q: Acked went %d then %d (data %d)", code, prev, v, len(data))
				}
				prev = v
			}
			if len(samples) < 3 {
				t.Errorf("only %d samples", len(samples))
			}
			c.Close()
		})
	}
}
