package main

// Dead peers, with real processes: tju recv notices a sender killed with
// SIGKILL, tju send a receiver killed so, and both notice a path cut by
// stopping (SIGSTOP) the tju netem relay between them, where no ICMP
// report comes and only keep-alives and the user timeout can tell. The
// --keepalive and --user-timeout flags shorten the defaults (15 s, 40 s)
// so that each case takes seconds.

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
)

// liveFlags are the shortened liveness flags every process gets.
var liveFlags = []string{"--keepalive", "500ms", "--user-timeout", "2s"}

// endless is a stdin that never ends: a sender that is never done.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	clear(p)
	return len(p), nil
}

// runInProcess runs tju with stdin in a goroutine; the channel yields its
// result, and stdout fills as it runs.
func runInProcess(ctx context.Context, stdin io.Reader, args ...string) (<-chan result, *testio.Buffer) {
	ch := make(chan result, 1)
	r := result{stdout: &testio.Buffer{}, stderr: &testio.Buffer{}}
	go func() {
		r.code = run(ctx, args, &env{stdin: stdin, stdout: r.stdout, stderr: r.stderr})
		ch <- r
	}()
	return ch, r.stdout
}

// wantDeadPeer waits for a command that must fail because its peer died.
func wantDeadPeer(t *testing.T, what string, ch <-chan result, start time.Time, words ...string) {
	t.Helper()
	select {
	case r := <-ch:
		msg := r.stderr.String()
		if r.code == 0 {
			t.Fatalf("%s exited 0 although its peer died:\n%s", what, msg)
		}
		found := false
		for _, w := range words {
			found = found || strings.Contains(msg, w)
		}
		if !found {
			t.Errorf("%s's error does not say %q:\n%s", what, words, msg)
		}
		t.Logf("%s exited %d, %v after its peer died: %s", what, r.code, time.Since(start).Round(time.Millisecond), lastLine(msg))
	case <-time.After(30 * time.Second):
		t.Fatalf("%s still running 30 s after its peer died", what)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// freeUDPAddr returns a loopback UDP address nobody uses right now.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

func TestDeadPeerProcesses(t *testing.T) {
	bin := buildTju(t, "SIGKILL and SIGSTOP")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A receiver in this process, a sender process fed by a pipe that
	// stays open, killed mid-transfer.
	t.Run("sender killed", func(t *testing.T) {
		ready := filepath.Join(t.TempDir(), "ready")
		recv, got := runInProcess(ctx, nil, append([]string{"recv", "--listen", "127.0.0.1:0", "--ready-file", ready}, liveFlags...)...)
		addr := waitReadyFile(t, ready, recv)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pw.Close()
		send := exec.CommandContext(ctx, bin, append([]string{"send", addr}, liveFlags...)...)
		send.Stdin = pr
		if err := send.Start(); err != nil {
			t.Fatal(err)
		}
		pr.Close()
		if _, err := pw.Write(make([]byte, 256<<10)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return len(got.Bytes()) > 0 })
		send.Process.Kill()
		send.Wait()
		wantDeadPeer(t, "tju recv", recv, time.Now(), "refused", "timed out")
	})

	// A receiver process killed; a sender in this process that always has
	// more to send.
	t.Run("receiver killed", func(t *testing.T) {
		ready := filepath.Join(t.TempDir(), "ready")
		recv := exec.CommandContext(ctx, bin, append([]string{"recv", "--listen", "127.0.0.1:0", "--ready-file", ready}, liveFlags...)...)
		var recvOut, recvErr testio.Buffer
		recv.Stdout, recv.Stderr = &recvOut, &recvErr
		if err := recv.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan result, 1)
		go func() { recv.Wait(); exited <- result{code: recv.ProcessState.ExitCode(), stderr: &recvErr} }()
		addr := waitReadyFile(t, ready, exited)
		send, _ := runInProcess(ctx, endless{}, append([]string{"send", addr}, liveFlags...)...)
		waitFor(t, func() bool { return len(recvOut.Bytes()) > 0 })
		recv.Process.Kill()
		<-exited
		wantDeadPeer(t, "tju send", send, time.Now(), "refused", "timed out")
	})

	// Both in this process, through a relay process that is stopped: the
	// path is cut and nothing reports it. Keep-alives and the user
	// timeout end both ends, saying the peer stopped answering.
	t.Run("relay stopped", func(t *testing.T) {
		ready := filepath.Join(t.TempDir(), "ready")
		recv, got := runInProcess(ctx, nil, append([]string{"recv", "--listen", "127.0.0.1:0", "--ready-file", ready}, liveFlags...)...)
		addr := waitReadyFile(t, ready, recv)
		relayAddr := freeUDPAddr(t)
		udpAddr, tjuPort, _ := strings.Cut(addr, "/")
		relay := exec.CommandContext(ctx, bin, "netem", "--listen", relayAddr, "--to", udpAddr)
		var relayErr testio.Buffer
		relay.Stdout, relay.Stderr = &relayErr, &relayErr
		defer func() { t.Logf("relay: %s", relayErr.String()) }()
		if err := relay.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { relay.Process.Kill(); relay.Wait() }()
		waitFor(t, func() bool { return strings.Contains(relayErr.String(), "listening on") })
		send, _ := runInProcess(ctx, endless{}, append([]string{"send", relayAddr + "/" + tjuPort}, liveFlags...)...)
		waitFor(t, func() bool { return len(got.Bytes()) > 0 })
		relay.Process.Signal(syscall.SIGSTOP)
		start := time.Now()
		wantDeadPeer(t, "tju send", send, start, "stopped answering")
		wantDeadPeer(t, "tju recv", recv, start, "stopped answering")
	})
}

// buildTju builds the tju binary into a temporary directory and returns
// its path; it skips the test in -short mode and on Windows, whose
// processes do not take the signals (sigs) the test sends.
func buildTju(t *testing.T, sigs string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("uses " + sigs)
	}
	bin := filepath.Join(t.TempDir(), "tju")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
