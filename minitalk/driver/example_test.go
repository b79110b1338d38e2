package driver_test

import (
	"context"
	"fmt"

	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
	"github.com/tjunet/tjunet/minitalk/memchan"
)

// Send and Serve over the in-memory channel; package sigchan gives them real
// signals.
func ExampleSend() {
	net := memchan.New(memchan.Faults{})
	server, client := net.Spawn(), net.Spawn()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = driver.Serve(ctx, server, minitalk.ServerConfig{}, func(from int, msg []byte) error {
			fmt.Printf("%s\n", msg)
			return nil
		}, nil)
	}()
	if err := driver.Send(context.Background(), client, server.PID(), []byte("hello, world"), minitalk.ClientConfig{}, nil); err != nil {
		fmt.Println(err)
	}
	stop()
	<-done
	// Output: hello, world
}
