package minitalk_test

import (
	"fmt"
	"time"

	"github.com/tjunet/tjunet/minitalk"
)

// A client and a server driven by hand, with no channel between them: the
// state machines only say what to send.
func ExampleClient() {
	c := minitalk.NewClient([]byte("A"), minitalk.ClientConfig{})
	s := minitalk.NewServer(minitalk.ServerConfig{})
	now := time.Now()
	st := c.Start()
	n := 0
	for st.Op == minitalk.OpSend {
		n++
		ss := s.Receive(42, st.Sym, now)
		if ss.Message != nil {
			fmt.Printf("server prints %q\n", ss.Message)
		}
		st = c.Answer(ss.Sym)
	}
	fmt.Println(c.State(), "after", n, "exchanges")
	// Output:
	// server prints "A"
	// done after 82 exchanges
}

// A busy server rejects a second client, which sleeps and knocks again.
func ExampleServer() {
	s := minitalk.NewServer(minitalk.ServerConfig{})
	now := time.Now()
	fmt.Println(s.Receive(1, minitalk.One, now).Event, s.State())
	st := s.Receive(2, minitalk.One, now)
	fmt.Println(st.Event, "answer", st.Sym, "to", st.To)
	// Output:
	// bound msg_w
	// busy answer 0 to 2
}
