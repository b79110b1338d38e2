package tju_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
)

// A server and a client over loopback UDP.
func Example() {
	// A short TIME_WAIT (default 30 s), so that the example leaves no
	// endpoint behind; nil takes every default.
	cfg := &tju.Config{MSL: 10 * time.Millisecond}
	l, err := tju.Listen("127.0.0.1:0", cfg) // TJU port 1234 by default
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo until the client closes its side
	}()

	c, err := tju.Dial(l.Addr().String(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello, TJU"))
	c.CloseWrite() // half-close: the echo server sees EOF
	reply, err := io.ReadAll(c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", reply)
	// Output: hello, TJU
}

// Two endpoints over an emulated link with 2% loss and 10 ms delay each way.
func ExampleNewEndpoint() {
	link := netem.Config{Loss: 0.02, Delay: 10 * time.Millisecond, Seed: 1}
	a, b, err := netem.NewLink(link, link)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &tju.Config{MSL: 10 * time.Millisecond}
	server := tju.NewEndpoint(b, cfg)
	defer server.Close()
	client := tju.NewEndpoint(a, cfg)
	defer client.Close()

	l, err := server.Listen(1234)
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan int64)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- -1
			return
		}
		n, _ := io.Copy(io.Discard, c)
		done <- n
	}()

	c, err := client.Dial(context.Background(), b.LocalAddr().String(), 1234)
	if err != nil {
		log.Fatal(err)
	}
	c.Write(make([]byte, 1<<20))
	c.Close()
	fmt.Println("received", <-done, "bytes")
	// Output: received 1048576 bytes
}

// Info reports a connection's state and counters, like TCP_INFO.
func ExampleConn_Info() {
	cfg := &tju.Config{MSL: 10 * time.Millisecond} // a short TIME_WAIT (default 30 s)
	l, _ := tju.Listen("127.0.0.1:0", cfg)
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	c, err := tju.Dial(l.Addr().String(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write(make([]byte, 100000))
	i := c.Info()
	fmt.Println(i.State, i.Extensions, i.MSS)
	// Output: ESTABLISHED true 1364
}
