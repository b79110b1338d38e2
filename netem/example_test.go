package netem_test

import (
	"fmt"
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
