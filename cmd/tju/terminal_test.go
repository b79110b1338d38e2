package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
)

// tmux drives a detached tmux server of its own (its own socket), so a
// test sees tju in a real terminal: a pseudo-terminal on stderr, keys
// typed with send-keys, the screen read with capture-pane.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and runs tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("needs tmux (apt-get install tmux) to check the terminal behaviour")
	}
	m := &tmux{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock")}
	t.Cleanup(func() { exec.Command("tmux", "-S", m.socket, "kill-server").Run() })
	return m
}

func (m *tmux) run(args ...string) string {
	m.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", m.socket}, args...)...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// start runs shell command cmd in a new 120x20 window called name.
func (m *tmux) start(name, cmd string) {
	m.t.Helper()
	if name == "recv" {
		m.run("new-session", "-d", "-s", "tju", "-n", name, "-x", "120", "-y", "20", "sh")
	} else {
		m.run("new-window", "-d", "-t", "tju", "-n", name, "sh")
	}
	m.keys(name, cmd, "Enter")
}

func (m *tmux) keys(window string, keys ...string) {
	m.t.Helper()
	m.run(append([]string{"send-keys", "-t", "tju:" + window}, keys...)...)
}

// screen returns what the window shows.
func (m *tmux) screen(window string) string {
	m.t.Helper()
	return m.run("capture-pane", "-p", "-J", "-t", "tju:"+window)
}

// waitScreen waits until the window's screen matches re and returns it.
func (m *tmux) waitScreen(window string, re *regexp.Regexp) string {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := m.screen(window)
		if re.MatchString(s) {
			return s
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("window %s never showed %v; it shows:\n%s", window, re, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTerminalProgressAndCtrlC runs tju recv and tju send in a real
// terminal (tmux): both draw a progress bar, in SI units; Ctrl-C typed
// into each exits 130; the receiver leaves nothing under its output's
// name and says so.
func TestTerminalProgressAndCtrlC(t *testing.T) {
	m := newTmux(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "tju")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "got.bin")
	ready := filepath.Join(dir, "ready")
	m.start("recv", fmt.Sprintf("%s recv --listen 127.0.0.1:0 --ready-file %s -o %s; echo EXIT=$?", bin, ready, out))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var addr string
	for addr == "" {
		if b, err := os.ReadFile(ready); err == nil {
			addr = strings.TrimSpace(string(b))
		}
		select {
		case <-ctx.Done():
			t.Fatalf("recv not ready; it shows:\n%s", m.screen("recv"))
		case <-time.After(20 * time.Millisecond):
		}
	}
	// A sender whose input gives 2 MB and then stalls (a background job
	// writing into a named pipe, so that Ctrl-C reaches tju alone): the
	// transfer stays in progress until Ctrl-C.
	fifo := filepath.Join(dir, "fifo")
	sendCmd := func(addr string) string {
		return fmt.Sprintf("rm -f %[1]s; mkfifo %[1]s; (head -c 2000000 /dev/zero; sleep 30) > %[1]s & %[2]s send %[3]s - < %[1]s; echo EXIT=$?; kill %%1", fifo, bin, addr)
	}
	m.start("send", sendCmd(addr))

	bar := regexp.MustCompile(`sending .*\d+(\.\d)? [kM]B`)
	sendScreen := m.waitScreen("send", bar)
	recvScreen := m.waitScreen("recv", regexp.MustCompile(`receiving .*\d+(\.\d)? [kM]B`))
	for _, s := range []string{sendScreen, recvScreen} {
		if strings.Contains(s, "MiB") || strings.Contains(s, "KiB") {
			t.Errorf("the bar is not in SI units:\n%s", s)
		}
	}
	// The data reaches the temporary file while the transfer runs.
	waitFor(t, func() bool {
		for _, n := range testio.DirNames(t, dir) {
			if strings.HasPrefix(n, ".got.bin.") && fileSize(filepath.Join(dir, n)) > 1000000 {
				return true
			}
		}
		return false
	})

	m.keys("recv", "C-c")
	recvScreen = m.waitScreen("recv", regexp.MustCompile(`EXIT=\d+`))
	if !strings.Contains(recvScreen, "EXIT=130") || !strings.Contains(recvScreen, "nothing written to "+out) {
		t.Errorf("recv after Ctrl-C: want exit 130 and where the data went; the screen:\n%s", recvScreen)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s exists after Ctrl-C", out)
	}
	// The sender sees the reset at once, stalled input or not.
	sendScreen = m.waitScreen("send", regexp.MustCompile(`EXIT=\d+`))
	if !strings.Contains(sendScreen, "EXIT=1") || !regexp.MustCompile(`after \d+ bytes acknowledged by the receiver`).MatchString(sendScreen) {
		t.Errorf("send after the receiver's Ctrl-C: want exit 1 and the bytes acknowledged; the screen:\n%s", sendScreen)
	}

	// Ctrl-C on a sender.
	os.Remove(ready)
	m.start("recv2", fmt.Sprintf("%s recv --listen 127.0.0.1:0 --ready-file %s -o %s; echo EXIT=$?", bin, ready, out))
	addr = ""
	waitFor(t, func() bool {
		b, err := os.ReadFile(ready)
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	})
	m.start("send2", sendCmd(addr))
	m.waitScreen("send2", bar)
	m.keys("send2", "C-c")
	sendScreen = m.waitScreen("send2", regexp.MustCompile(`EXIT=\d+`))
	if !strings.Contains(sendScreen, "EXIT=130") || !strings.Contains(sendScreen, "interrupted after") {
		t.Errorf("send after Ctrl-C: want exit 130; the screen:\n%s", sendScreen)
	}
	recvScreen = m.waitScreen("recv2", regexp.MustCompile(`EXIT=\d+`))
	if !strings.Contains(recvScreen, "EXIT=1") || !strings.Contains(recvScreen, "nothing written to "+out) {
		t.Errorf("recv after the sender's Ctrl-C: the screen:\n%s", recvScreen)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s exists after the sender's Ctrl-C", out)
	}
}
