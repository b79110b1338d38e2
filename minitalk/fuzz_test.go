package minitalk

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// FuzzExchangeWithDuplicatesAndLosses drives a client and a server against
// each other with the fuzzer choosing, symbol by symbol, what the channel does
// to it: it passes; it is lost (merged with another sender's signal); or the
// server reads it and answers only after the client's timeout, so that the
// client's retry is read as a new symbol (the duplicate that a retry can make).
// The driver does what Send does: it clears what is pending before each send
// but a retry. Whatever happens, the server never prints anything but the
// message, and a client that reports success had it printed.
func FuzzExchangeWithDuplicatesAndLosses(f *testing.F) {
	f.Add([]byte("hi"), []byte{0, 0, 0, 1, 0, 2, 0, 0})
	f.Add([]byte(SeedLine[:16]), []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{}, []byte{1, 1, 2, 2})
	f.Fuzz(func(t *testing.T, msg, faults []byte) {
		if len(msg) > 64 {
			msg = msg[:64] // long messages only take longer
		}
		c := NewClient(msg, ClientConfig{Patience: 50 * time.Millisecond, MaxRestarts: 3})
		s := NewServer(ServerConfig{})
		now := time.Unix(0, 0)
		var printed [][]byte
		fault := func() byte {
			if len(faults) == 0 {
				return 0
			}
			b := faults[0] % 3
			faults = faults[1:]
			return b
		}
		var pending []Symbol // answers that reached the client, in order
		receive := func(sym Symbol) {
			ss := s.Receive(7, sym, now)
			if ss.Message != nil {
				printed = append(printed, bytes.Clone(ss.Message))
			}
			if ss.Reply {
				pending = append(pending, ss.Sym)
			}
		}
		st := c.Start()
		first := true
		for steps := 0; steps < 100000; steps++ {
			switch st.Op {
			case OpSend:
				if !first && st.Event != EventResent {
					stale := pending
					pending = nil
					if slices.Contains(stale, Reject) {
						st = c.Answer(Reject)
						continue
					}
				}
				first = false
				late := false
				switch fault() {
				case 0:
					receive(st.Sym)
				case 2:
					late = true
				}
				if len(pending) == 0 || late {
					now = now.Add(st.Wait)
					st = c.Timeout()
					if late {
						// The answer to the original comes now, and the
						// retry about to be sent will be read again.
						receive(c.last)
					}
					continue
				}
				a := pending[0]
				pending = pending[1:]
				st = c.Answer(a)
			case OpSleep:
				now = now.Add(st.Wait)
				pending = pending[:0] // the driver drains before knocking
				first = true
				st = c.Start()
			case OpDone, OpFail:
				for _, p := range printed {
					if !bytes.Equal(p, msg) {
						t.Fatalf("printed %q, want only %q", p, msg)
					}
				}
				if st.Op == OpDone && len(printed) == 0 {
					t.Fatalf("client reports success, nothing printed")
				}
				return
			default:
				t.Fatalf("client asked for op %v", st.Op)
			}
		}
		t.Fatalf("no end after 100000 steps")
	})
}
