package labnet

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Do runs f on an OS thread inside host h's network namespace and returns
// its error. Sockets and devices f opens belong to that namespace for
// their whole life, though they are used from any goroutine afterwards;
// so one process can hold sockets on both hosts. f must not start
// goroutines that open sockets (they run on other threads, in this
// process's namespace). Do needs root.
func (l *Lab) Do(h Host, f func() error) error {
	return inNamespace(Namespace(l.cfg.ID, h), f)
}

// SetSysctl writes value into the network sysctl name (such as
// "net.ipv4.tcp_rmem") of host h, as "ip netns exec NS sysctl -w" does: the
// host's own copy, not the machine's. Only per-namespace settings
// (net.ipv4.*, most of net.core.*) can be set so.
func (l *Lab) SetSysctl(h Host, name, value string) error {
	if !strings.HasPrefix(name, "net.") || strings.Contains(name, "/") || strings.Contains(name, "..") {
		return fmt.Errorf("labnet: sysctl %q: want a network setting like net.ipv4.tcp_rmem", name)
	}
	path := filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
	return l.Do(h, func() error {
		// /proc/sys/net shows the namespace of the thread that opens it.
		if err := os.WriteFile(path, []byte(value), 0); err != nil {
			return fmt.Errorf("labnet: sysctl %s on %s: %w", name, h, err)
		}
		return nil
	})
}

// Sysctl reads the network sysctl name of host h (see SetSysctl), its
// fields separated by single spaces.
func (l *Lab) Sysctl(h Host, name string) (string, error) {
	if !strings.HasPrefix(name, "net.") || strings.Contains(name, "/") || strings.Contains(name, "..") {
		return "", fmt.Errorf("labnet: sysctl %q: want a network setting like net.ipv4.tcp_rmem", name)
	}
	var v string
	err := l.Do(h, func() error {
		b, err := os.ReadFile(filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/")))
		v = strings.Join(strings.Fields(string(b)), " ")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("labnet: sysctl %s on %s: %w", name, h, err)
	}
	return v, nil
}

// inNamespace runs f on a thread moved into the network namespace ns.
func inNamespace(ns string, f func() error) error {
	ch := make(chan error, 1)
	go func() {
		// setns changes the namespace of this thread only: lock it, and
		// let it die with the goroutine if it cannot go back.
		runtime.LockOSThread()
		back := true
		err := func() error {
			self, err := os.Open("/proc/thread-self/ns/net")
			if err != nil {
				return err
			}
			defer self.Close()
			target, err := os.Open("/run/netns/" + ns)
			if err != nil {
				return err
			}
			defer target.Close()
			if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("setns %s: %w", ns, err)
			}
			err = f()
			if e := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); e != nil {
				back = false
			}
			return err
		}()
		if back {
			runtime.UnlockOSThread()
		}
		ch <- err
	}()
	return <-ch
}
