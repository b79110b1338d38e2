package driver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
	"github.com/tjunet/tjunet/minitalk/memchan"
)

// printer records what a server printed, in order, and the events it
// reported.
type printer struct {
	mu     sync.Mutex
	msgs   []string
	events []driver.Event
	onLog  func(driver.Event) // if set, called with every event
}

func (p *printer) log(e driver.Event) {
	p.mu.Lock()
	p.events = append(p.events, e)
	f := p.onLog
	p.mu.Unlock()
	if f != nil {
		f(e)
	}
}

// count returns how many events of kind k the server reported.
func (p *printer) count(k minitalk.EventKind) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func (p *printer) deliver(_ int, msg []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, string(msg))
	return nil
}

func (p *printer) printed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.msgs...)
}

// world is a server on an in-memory channel.
type world struct {
	net    *memchan.Net
	server *memchan.Port
	out    *printer
	cancel context.CancelFunc
	done   chan error
}

func newWorld(f memchan.Faults, cfg minitalk.ServerConfig) *world {
	return newWorldLogged(f, cfg, nil)
}

// newWorldLogged is newWorld with onLog called on every event of the server.
func newWorldLogged(f memchan.Faults, cfg minitalk.ServerConfig, onLog func(driver.Event)) *world {
	w := &world{net: memchan.New(f), out: &printer{onLog: onLog}, done: make(chan error, 1)}
	w.server = w.net.Spawn()
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() { w.done <- driver.Serve(ctx, w.server, cfg, w.out.deliver, w.out.log) }()
	return w
}

func (w *world) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	if err := <-w.done; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve ended with %v, want context.Canceled", err)
	}
}

// sendAll starts one client per message at the same moment and returns their
// errors, in the order of msgs.
func (w *world) sendAll(msgs []string, cfg minitalk.ClientConfig) []error {
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		p := w.net.Spawn()
		wg.Go(func() {
			defer p.Kill()
			errs[i] = driver.Send(context.Background(), p, w.server.PID(), []byte(m), cfg, nil)
		})
	}
	wg.Wait()
	return errs
}

// noise sends random symbols to pid at random moments until stop is closed.
func noise(n *memchan.Net, pid int, seed uint64, every time.Duration, stop <-chan struct{}) {
	p := n.Spawn()
	defer p.Kill()
	r := rand.New(rand.NewPCG(seed, 1))
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(r.Int64N(int64(every)) + 1)):
		}
		_ = p.Send(pid, minitalk.Symbol(r.IntN(2)))
		_, _, _ = p.Receive(0) // answers to the noise are thrown away
	}
}

func randomText(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

// wantExactlyOnce checks that the server printed every message of want
// exactly once, whole, and nothing else.
func wantExactlyOnce(t *testing.T, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, m := range want {
		count[m]++
	}
	for _, m := range got {
		if count[m] == 0 {
			t.Errorf("printed a message nobody sent (or twice): %.60q", m)
			continue
		}
		count[m]--
	}
	for m, c := range count {
		if c > 0 {
			t.Errorf("never printed: %.60q", m)
		}
	}
}

func TestOneClientDeliversEveryKindOfMessage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct{ name, msg string }{
		{"empty", ""},
		{"one character", "x"},
		{"seed banner", minitalk.SeedBanner},
		{"seed asdfjkl line", minitalk.SeedLine},
		{"utf-8 and emoji", "Grüße, 世界 👋🏽🚀 — ✓"},
		{"nul bytes", "a\x00b\x00\x00c"},
		{"binary", randomText(r, 300)},
		{"bytes 0x80-0x82", "\x80\x81\x82"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(memchan.Faults{}, minitalk.ServerConfig{})
				errs := w.sendAll([]string{tt.msg}, minitalk.ClientConfig{})
				w.stop(t)
				if errs[0] != nil {
					t.Fatalf("Send: %v", errs[0])
				}
				if got := w.out.printed(); len(got) != 1 || got[0] != tt.msg {
					t.Fatalf("printed %q, want [%q]", got, tt.msg)
				}
			})
		})
	}
}

func TestClientsStartedAtOnceAreServedOneAfterAnotherEachWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(memchan.Faults{Seed: 3}, minitalk.ServerConfig{})
		var msgs []string
		for i := range 10 {
			msgs = append(msgs, fmt.Sprintf("client %d: %s", i, minitalk.SeedLine[:64]))
		}
		errs := w.sendAll(msgs, minitalk.ClientConfig{})
		w.stop(t)
		for i, err := range errs {
			if err != nil {
				t.Errorf("client %d: %v", i, err)
			}
		}
		wantExactlyOnce(t, w.out.printed(), msgs)
		if w.net.Stats().Merged == 0 {
			t.Log("no merge happened; the test did not exercise merging")
		}
	})
}

// TestMergesNoiseAndSlowProcessesNeverChangeAMessage runs the faults that the
// signal channel really has: merges (several clients, a noise process),
// symbols to the server lost, and processes that are slow to read (longer
// than the client's retry timeout). Every message must arrive exactly once
// (the clients are given a long patience: in virtual time it costs nothing,
// and a noise process this busy can keep a knock from ever getting through
// for seconds).
func TestMergesNoiseAndSlowProcessesNeverChangeAMessage(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const server = memchan.FirstPID // spawned first by newWorld
				f := memchan.Faults{
					Drop: 0.02, DropTo: func(pid int) bool { return pid == server },
					Stall: 2 * minitalk.DefaultRetry, StallRate: 0.003,
					Seed: seed,
				}
				w := newWorld(f, minitalk.ServerConfig{})
				stop := make(chan struct{})
				go noise(w.net, server, seed, 2*time.Millisecond, stop)
				r := rand.New(rand.NewPCG(seed, 9))
				var msgs []string
				for i := range 4 {
					msgs = append(msgs, fmt.Sprintf("%d:%s", i, randomText(r, 40+r.IntN(40))))
				}
				errs := w.sendAll(msgs, minitalk.ClientConfig{MaxRestarts: -1, Patience: time.Minute})
				close(stop)
				w.stop(t)
				for i, err := range errs {
					if err != nil {
						t.Errorf("client %d: %v", i, err)
					}
				}
				wantExactlyOnce(t, w.out.printed(), msgs)
				t.Logf("%+v", w.net.Stats())
			})
		})
	}
}

// TestLostAnswersAndLateSymbolsNeverPrintAWrongMessage goes beyond what
// signals do: answers are lost too and symbols arrive late, so retries are
// read twice. With two symbols and no room for a sequence bit the protocol
// cannot always tell; the check at the end of every payload (and its last bit,
// always 0) turns each such transfer into a rejected one, which the client
// starts over or, out of patience, reports as failed. So: nothing is printed
// that nobody sent, nothing twice, and a client that reports success had its
// message printed.
func TestLostAnswersAndLateSymbolsNeverPrintAWrongMessage(t *testing.T) {
	for seed := range uint64(16) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := memchan.Faults{Drop: 0.005, Delay: 2 * minitalk.DefaultRetry, DelayRate: 0.005, Seed: seed}
				w := newWorld(f, minitalk.ServerConfig{})
				r := rand.New(rand.NewPCG(seed, 5))
				var msgs []string
				for i := range 3 {
					msgs = append(msgs, fmt.Sprintf("%d:%s", i, randomText(r, 20)))
				}
				errs := w.sendAll(msgs, minitalk.ClientConfig{Patience: time.Second})
				w.stop(t)
				printed := map[string]int{}
				for _, m := range w.out.printed() {
					printed[m]++
				}
				for _, m := range msgs {
					if printed[m] > 1 {
						t.Errorf("printed %d times: %q", printed[m], m)
					}
					delete(printed, m)
				}
				for m := range printed {
					t.Errorf("printed a message nobody sent: %q", m)
				}
				ok := 0
				for i, err := range errs {
					if err == nil {
						ok++
						if !slices.Contains(w.out.printed(), msgs[i]) {
							t.Errorf("client %d reported success, but its message was not printed", i)
						}
					}
				}
				t.Logf("%d of %d clients succeeded; %+v", ok, len(errs), w.net.Stats())
			})
		})
	}
}

func TestServerServesNextClientAfterOneIsKilledMidMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(memchan.Faults{Latency: 5 * time.Microsecond}, minitalk.ServerConfig{})
		victim := w.net.Spawn()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			_ = driver.Send(ctx, victim, w.server.PID(), []byte(minitalk.SeedBanner), minitalk.ClientConfig{}, nil)
		}()
		time.Sleep(time.Millisecond)
		synctest.Wait()
		victim.Kill() // the process is gone mid-message
		cancel()
		start := time.Now()
		errs := w.sendAll([]string{"next"}, minitalk.ClientConfig{})
		took := time.Since(start)
		w.stop(t)
		if errs[0] != nil {
			t.Fatalf("next client: %v", errs[0])
		}
		if got := w.out.printed(); len(got) != 1 || got[0] != "next" {
			t.Fatalf("printed %q, want only the next client's message", got)
		}
		if took > time.Second {
			t.Errorf("next client waited %v (virtual)", took)
		}
	})
}

func TestClientReportsServerThatDisappearsOrNeverAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memchan.New(memchan.Faults{})
		mute := n.Spawn() // a process that never answers
		gone := n.Spawn()
		gone.Kill()
		c := n.Spawn()
		err := driver.Send(context.Background(), c, mute.PID(), []byte("hi"), minitalk.ClientConfig{}, nil)
		if !errors.Is(err, minitalk.ErrNoAnswer) {
			t.Errorf("to a mute process: %v, want ErrNoAnswer", err)
		}
		err = driver.Send(context.Background(), c, gone.PID(), []byte("hi"), minitalk.ClientConfig{}, nil)
		if !errors.Is(err, driver.ErrNoProcess) {
			t.Errorf("to a gone process: %v, want ErrNoProcess", err)
		}
	})
}

func TestClientOfKilledServerFailsWithNoProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(memchan.Faults{Latency: 5 * time.Microsecond}, minitalk.ServerConfig{})
		c := w.net.Spawn()
		done := make(chan error, 1)
		go func() {
			done <- driver.Send(context.Background(), c, w.server.PID(), bytes.Repeat([]byte("x"), 1000), minitalk.ClientConfig{}, nil)
		}()
		time.Sleep(time.Millisecond)
		w.server.Kill()
		w.stop(t)
		if err := <-done; !errors.Is(err, driver.ErrNoProcess) && !errors.Is(err, minitalk.ErrNoAnswer) {
			t.Errorf("Send: %v, want ErrNoProcess or ErrNoAnswer", err)
		}
	})
}

func TestStoppedClientContinuesWhereItWas(t *testing.T) {
	// A client that stalls for up to two seconds (SIGSTOP, then SIGCONT)
	// now and then, while another waits: the answers that are pending when
	// it stops are read when it continues, nothing is repeated.
	synctest.Test(t, func(t *testing.T) {
		const first = memchan.FirstPID + 1 // the first client, after the server
		f := memchan.Faults{Stall: 2 * time.Second, StallRate: 0.003, StallOnly: func(pid int) bool { return pid == first }, Seed: 11}
		w := newWorld(f, minitalk.ServerConfig{})
		msgs := []string{minitalk.SeedLine, "second"}
		errs := w.sendAll(msgs, minitalk.ClientConfig{MaxRestarts: -1})
		w.stop(t)
		for i, err := range errs {
			if err != nil {
				t.Errorf("client %d: %v", i, err)
			}
		}
		wantExactlyOnce(t, w.out.printed(), msgs)
		if w.net.Stats().Stalled == 0 {
			t.Error("no stall happened")
		}
	})
}

func TestRejectedClientGivesUpAfterItsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(memchan.Faults{}, minitalk.ServerConfig{})
		holder := w.net.Spawn()
		// Bind the server to a client that then goes silent for longer
		// than the other client is willing to wait.
		_ = holder.Send(w.server.PID(), minitalk.One)
		_ = holder.Send(w.server.PID(), minitalk.One) // merged or a flag: either way bound
		time.Sleep(time.Millisecond)
		_ = holder.Send(w.server.PID(), minitalk.One)
		errs := w.sendAll([]string{"late"}, minitalk.ClientConfig{GiveUp: 20 * time.Millisecond})
		w.stop(t)
		if !errors.Is(errs[0], minitalk.ErrBusy) {
			t.Fatalf("Send: %v, want ErrBusy", errs[0])
		}
	})
}

// A client stopped mid-message (SIGSTOP) holds the server for
// minitalk.DefaultRelease, not longer: the next client is served within 2 s
// of the stop. Continued, the stopped client is told to start over and
// delivers its message too.
func TestStoppedClientReleasesTheServerWithinTwoSeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		receiving := make(chan int, 1)
		w := newWorldLogged(memchan.Faults{Latency: 5 * time.Microsecond}, minitalk.ServerConfig{}, func(e driver.Event) {
			if e.Kind == minitalk.EventReceiving {
				select {
				case receiving <- e.PID:
				default:
				}
			}
		})
		stopped := w.net.Spawn()
		long := strings.Repeat(minitalk.SeedLine, 4)
		done := make(chan error, 1)
		go func() {
			done <- driver.Send(context.Background(), stopped, w.server.PID(), []byte(long), minitalk.ClientConfig{}, nil)
		}()
		if pid := <-receiving; pid != stopped.PID() {
			t.Fatalf("receiving from %d, want %d", pid, stopped.PID())
		}
		stopped.Stop() // mid-message: a byte arrived, the message is not whole
		stoppedAt := time.Now()
		errs := w.sendAll([]string{"next"}, minitalk.ClientConfig{})
		if took := time.Since(stoppedAt); errs[0] != nil || took > 2*time.Second {
			t.Errorf("next client: %v after %v, want served within 2s of the stop", errs[0], took)
		}
		if got := w.out.printed(); len(got) != 1 || got[0] != "next" {
			t.Fatalf("printed %.40q, want only the next client's message", got)
		}
		stopped.Continue()
		if err := <-done; err != nil {
			t.Errorf("the continued client: %v", err)
		}
		w.stop(t)
		wantExactlyOnce(t, w.out.printed(), []string{"next", long})
		if n := w.out.count(minitalk.EventIdle); n != 1 {
			t.Errorf("%d idle drops, want 1", n)
		}
	})
}

// A client that is running but gets no processor for seconds at a time (an
// overloaded machine) is never dropped: its silence is not a stop.
func TestClientSlowUnderOverloadIsNeverDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const client = memchan.FirstPID + 1
		f := memchan.Faults{
			Stall: 5 * time.Second, StallRate: 0.01, StallOnly: func(pid int) bool { return pid == client },
			Seed: 4,
		}
		w := newWorld(f, minitalk.ServerConfig{})
		msg := minitalk.SeedLine[:64]
		errs := w.sendAll([]string{msg}, minitalk.ClientConfig{Patience: time.Minute})
		w.stop(t)
		if errs[0] != nil {
			t.Fatalf("client: %v", errs[0])
		}
		wantExactlyOnce(t, w.out.printed(), []string{msg})
		st := w.net.Stats()
		if st.LongestStall < minitalk.DefaultRelease {
			t.Fatalf("longest stall %v, want one longer than the release time %v", st.LongestStall, minitalk.DefaultRelease)
		}
		for _, k := range []minitalk.EventKind{minitalk.EventIdle, minitalk.EventSilent, minitalk.EventStale} {
			if n := w.out.count(k); n != 0 {
				t.Errorf("%d %v events: the slow client was dropped", n, k)
			}
		}
		t.Logf("%+v", st)
	})
}
