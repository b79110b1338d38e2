//go:build linux

package sigchan_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
	"github.com/tjunet/tjunet/minitalk/sigchan"
)

func TestOpenRefusesAThreadOtherThanMain(t *testing.T) {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if unix.Gettid() == unix.Getpid() {
			done <- nil
			return
		}
		_, err := sigchan.Open(sigchan.Options{})
		if err == nil {
			err = fmt.Errorf("no error")
		} else {
			err = nil
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Errorf("Open off the main thread: %v, want an error", err)
	}
}

// A client: Open on the main thread (main locked there by an init function),
// then driver.Send.
func ExampleOpen() {
	port, err := sigchan.Open(sigchan.Options{Pin: sigchan.PinClient})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	serverPID := 12345
	if err := driver.Send(context.Background(), port, serverPID, []byte("hello"), minitalk.ClientConfig{}, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// A server: the signals blocked on the main thread (where clients of this
// package send them) before the PID is printed, then Serve.
func ExampleOpen_server() {
	port, err := sigchan.Open(sigchan.Options{Interrupts: true, Pin: sigchan.PinServer})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(os.Getpid())
	_ = driver.Serve(context.Background(), port, minitalk.ServerConfig{}, func(from int, msg []byte) error {
		_, err := fmt.Printf("%s\n", msg)
		return err
	}, nil)
}
