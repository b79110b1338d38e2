package tju

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// pattern returns n deterministic pseudo-random bytes.
func pattern(seed uint64, n int) []byte {
	var key [32]byte
	key[0] = byte(seed)
	key[1] = byte(seed >> 8)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// shortTimeWait is the Config of tests over real sockets that close
// connections cleanly: a TIME_WAIT of 20 ms instead of a minute, so that
// the private endpoints of Listen and Dial are gone when the tests end
// (TestMain checks that no goroutine outlives them).
func shortTimeWait() *Config { return &Config{MSL: 10 * time.Millisecond} }

func TestLoopbackTransferAndClose(t *testing.T) {
	l, err := Listen("127.0.0.1:0", shortTimeWait())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	data := pattern(1, 32<<20)
	got := make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		b, err := io.ReadAll(c)
		if err != nil {
			t.Error(err)
		}
		c.Close()
		got <- b
	}()
	c, err := Dial(l.Addr().String(), shortTimeWait())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	b := <-got
	el := time.Since(start)
	if sha256.Sum256(b) != sha256.Sum256(data) || !bytes.Equal(b, data) {
		t.Fatalf("received %d bytes, want %d, digests differ", len(b), len(data))
	}
	t.Logf("%d MiB in %v (%.0f MB/s); sender %+v", len(data)>>20, el, float64(len(data))/el.Seconds()/1e6, c.Info())
}

func TestUnknownCongestionControlIsRejected(t *testing.T) {
	if _, err := Listen("127.0.0.1:0", &Config{CongestionControl: "cubik"}); err == nil {
		t.Fatal("Listen accepted an unknown congestion control")
	}
	if _, err := Dial("127.0.0.1:9", &Config{CongestionControl: "vegas"}); err == nil {
		t.Fatal("Dial accepted an unknown congestion control")
	}
}
