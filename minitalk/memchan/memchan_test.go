package memchan_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
	"github.com/tjunet/tjunet/minitalk/memchan"
)

func TestSameSymbolPendingIsMergedAndFirstSenderKept(t *testing.T) {
	n := memchan.New(memchan.Faults{})
	to, a, b := n.Spawn(), n.Spawn(), n.Spawn()
	_ = a.Send(to.PID(), minitalk.One)
	_ = b.Send(to.PID(), minitalk.One)
	_ = b.Send(to.PID(), minitalk.Zero)
	want := []driver.Signal{{From: a.PID(), Sym: minitalk.One}, {From: b.PID(), Sym: minitalk.Zero}}
	for _, w := range want {
		if sig, ok, _ := to.Receive(0); !ok || sig != w {
			t.Fatalf("got %+v %v, want %+v", sig, ok, w)
		}
	}
	if _, ok, _ := to.Receive(0); ok {
		t.Fatal("the merged symbol arrived too")
	}
	if st := n.Stats(); st.Merged != 1 || st.Sent != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestSendToKilledProcessFails(t *testing.T) {
	n := memchan.New(memchan.Faults{})
	a, b := n.Spawn(), n.Spawn()
	b.Kill()
	if err := a.Send(b.PID(), minitalk.One); !errors.Is(err, driver.ErrNoProcess) {
		t.Errorf("Send: %v", err)
	}
	if st := a.Status(b.PID()); st != driver.StatusGone {
		t.Errorf("killed process: status %v, want gone", st)
	}
}

func TestStatusOfStoppedWaitingAndRunningProcesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memchan.New(memchan.Faults{})
		a, b := n.Spawn(), n.Spawn()
		if st := a.Status(b.PID()); st != driver.StatusRunning {
			t.Errorf("running: %v", st)
		}
		got := make(chan driver.Signal)
		go func() {
			sig, _, _ := b.Receive(time.Hour)
			got <- sig
		}()
		synctest.Wait()
		if st := a.Status(b.PID()); st != driver.StatusRunning {
			t.Errorf("blocked in Receive (waiting for signals): %v, want running", st)
		}
		b.Stop()
		_ = a.Send(b.PID(), minitalk.Zero)
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("a stopped process received")
		default:
		}
		if st := a.Status(b.PID()); st != driver.StatusIdle {
			t.Errorf("stopped: %v, want idle", st)
		}
		b.Continue()
		if sig := <-got; sig.From != a.PID() || sig.Sym != minitalk.Zero {
			t.Errorf("after Continue: %+v", sig)
		}
	})
}

func ExampleNet() {
	n := memchan.New(memchan.Faults{})
	server, c1, c2 := n.Spawn(), n.Spawn(), n.Spawn()
	_ = c1.Send(server.PID(), minitalk.One)
	_ = c2.Send(server.PID(), minitalk.One) // merged: SIGUSR1 is already pending
	sig, _, _ := server.Receive(0)
	_, more, _ := server.Receive(0)
	fmt.Println(sig.From == c1.PID(), sig.Sym, more, n.Stats().Merged)
	// Output: true 1 false 1
}
