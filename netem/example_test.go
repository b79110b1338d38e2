package netem_test

import (
	"fmt"
	"net"
	"time"

	"github.com/tjunet/tjunet/netem"
)

func ExampleNewLink() {
	// a to b: 50 ms one way, 1% loss; b to a: perfect.
	a, b, err := netem.NewLink(netem.Config{Delay: 50 * time.Millisecond, Loss: 0.01, Seed: 1}, netem.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	defer b.Close()

	a.WriteTo([]byte("hello"), b.LocalAddr())
	b.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 1500)
	n, from, err := b.ReadFrom(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s from %v\n", buf[:n], from)
	fmt.Println(a.Stats())
	// Output:
	// hello from 127.0.0.2:20218
	// offered 1 (5 B), delivered 1 (5 B), lost 0, burst-lost 0, too-big 0, queue-dropped 0, recv-dropped 0, duplicated 0, corrupted 0, reordered 0
}

func ExampleRelay() {
	// An upstream program: a UDP echo server.
	server, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := server.ReadFrom(buf)
			if err != nil {
				return
			}
			server.WriteTo(buf[:n], from)
		}
	}()

	// The relay: clients talk to r.Addr() instead of the server, over a
	// link with 20 ms each way.
	r, err := netem.NewRelay(netem.RelayConfig{
		Listen:   "127.0.0.1:0",
		Upstream: server.LocalAddr().String(),
		Up:       netem.Config{Delay: 20 * time.Millisecond},
		Down:     netem.Config{Delay: 20 * time.Millisecond},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	client, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	client.WriteTo([]byte("hello"), r.Addr())
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := client.ReadFrom(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("echo: %s\n", buf[:n])

	r.Close()
	up, down := r.Stats()
	fmt.Println("up:", up.Delivered, "delivered; down:", down.Delivered, "delivered")
	// Output:
	// echo: hello
	// up: 1 delivered; down: 1 delivered
}
