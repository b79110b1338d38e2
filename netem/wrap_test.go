package netem

import (
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

func TestWrapDelaysWritesAndReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{}, Config{})
		w, err := Wrap(a, Config{Delay: 100 * time.Millisecond}, Config{Delay: 30 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		start := time.Now()
		w.WriteTo([]byte("ping"), b.LocalAddr())
		buf := make([]byte, 100)
		n, from, err := b.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "ping" || from.String() != a.LocalAddr().String() {
			t.Fatalf("b read %q from %v: %v", buf[:n], from, err)
		}
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Fatalf("write delayed %v, want 100ms", d)
		}
		b.WriteTo([]byte("pong"), a.LocalAddr())
		n, from, err = w.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "pong" || from.String() != b.LocalAddr().String() {
			t.Fatalf("w read %q from %v: %v", buf[:n], from, err)
		}
		if d := time.Since(start); d != 130*time.Millisecond {
			t.Fatalf("read at %v, want 130ms", d)
		}
		out, in := w.Stats()
		if out.Delivered != 1 || in.Delivered != 1 {
			t.Fatalf("out %v, in %v", out, in)
		}
	})
}

func TestWrapWithoutImpairmentsPassesThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{}, Config{})
		w, err := Wrap(a, Config{Seed: 3}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if w.in != nil || w.out != nil {
			t.Fatal("zero configs should not make directions")
		}
		w.WriteTo([]byte("x"), b.LocalAddr())
		b.WriteTo([]byte("y"), a.LocalAddr())
		buf := make([]byte, 10)
		if n, _, err := w.ReadFrom(buf); err != nil || string(buf[:n]) != "y" {
			t.Fatalf("read %q, %v", buf[:n], err)
		}
		w.SetReadDeadline(time.Now())
		if _, _, err := w.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want a timeout from the wrapped conn", err)
		}
		w.Close()
		if _, err := a.WriteTo([]byte("x"), b.LocalAddr()); !errors.Is(err, net.ErrClosed) {
			t.Fatal("closing the wrapper did not close the wrapped conn")
		}
	})
}

func TestWrapCloseUnblocksReadFrom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := mustLink(t, Config{}, Config{})
		w, err := Wrap(a, Config{Loss: 0.5}, Config{Loss: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() {
			_, _, err := w.ReadFrom(make([]byte, 10))
			done <- err
		}()
		synctest.Wait()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("err = %v, want net.ErrClosed", err)
		}
		if _, err := w.WriteTo([]byte("x"), a.LocalAddr()); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteTo after Close: %v", err)
		}
		if err := w.Close(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("second Close: %v", err)
		}
	})
}

func TestWrapRejectsInvalidConfig(t *testing.T) {
	if _, err := Wrap(nil, Config{Loss: 2}, Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Wrap(nil, Config{}, Config{Delay: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v", err)
	}
}

func TestWrapImpairsRealUDPSocket(t *testing.T) {
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	sock, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	w, err := Wrap(sock, Config{Loss: 0.5, Delay: time.Millisecond, Seed: 1}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const n = 200
	for i := range n {
		if _, err := w.WriteTo([]byte{byte(i)}, recv.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.out.inFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	out, _ := w.Stats()
	if out.Lost < n/4 || out.Lost > 3*n/4 || out.Delivered+out.Lost != n {
		t.Fatalf("stats %v", out)
	}
	got := 0
	buf := make([]byte, 10)
	recv.SetReadDeadline(time.Now().Add(5 * time.Second))
	for uint64(got) < out.Delivered {
		if _, _, err := recv.ReadFrom(buf); err != nil {
			t.Fatalf("after %d datagrams: %v", got, err)
		}
		got++
	}
}
