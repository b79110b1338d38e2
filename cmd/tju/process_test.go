package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
)

// TestTwoProcesses runs the built tju as a user would: a receiver writing
// to a pipe and a sender reading a file on standard input, in two
// processes, then stops a --keep receiver with SIGINT.
func TestTwoProcesses(t *testing.T) {
	bin := buildTju(t, "SIGINT")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	data := randomBytes(7, 1<<20+7)
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready")
	recv := exec.CommandContext(ctx, bin, "recv", "--listen", "127.0.0.1:0", "--ready-file", ready, "--keep")
	var recvOut, recvErr testio.Buffer // written by exec's copying goroutines
	recv.Stdout, recv.Stderr = &recvOut, &recvErr
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan result, 1)
	go func() {
		recv.Wait()
		exited <- result{code: recv.ProcessState.ExitCode()}
	}()
	addr := waitReadyFile(t, ready, exited)

	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	send := exec.CommandContext(ctx, bin, "send", addr)
	send.Stdin = f
	var sendErr bytes.Buffer
	send.Stderr = &sendErr
	if err := send.Run(); err != nil {
		t.Fatalf("send: %v\n%s", err, sendErr.String())
	}
	if strings.Contains(sendErr.String(), "\r") {
		t.Errorf("a progress bar went to a stderr that is not a terminal:\n%q", sendErr.String())
	}

	// Give the receiver time to write its summary, then interrupt it.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(recvErr.String(), "sha256") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	recv.Process.Signal(syscall.SIGINT)
	r := <-exited
	if r.code != 0 {
		t.Fatalf("recv --keep exited with %d after SIGINT:\n%s", r.code, recvErr.String())
	}
	if !bytes.Equal(recvOut.Bytes(), data) {
		t.Fatalf("recv wrote %d bytes, want the %d sent", len(recvOut.Bytes()), len(data))
	}
	if want := sha256Hex(data); !strings.Contains(sendErr.String(), want) || !strings.Contains(recvErr.String(), want) {
		t.Errorf("both ends should print SHA-256 %s:\nsend:\n%s\nrecv:\n%s", want, sendErr.String(), recvErr.String())
	}

	// Ctrl-C before any sender came: the shell's 130, and words on stderr.
	ready2 := filepath.Join(dir, "ready2")
	waiting := exec.CommandContext(ctx, bin, "recv", "--listen", "127.0.0.1:0", "--ready-file", ready2, "-o", filepath.Join(dir, "none"))
	var waitErr testio.Buffer
	waiting.Stderr = &waitErr
	if err := waiting.Start(); err != nil {
		t.Fatal(err)
	}
	exited2 := make(chan result, 1)
	go func() {
		waiting.Wait()
		exited2 <- result{code: waiting.ProcessState.ExitCode()}
	}()
	waitReadyFile(t, ready2, exited2)
	waiting.Process.Signal(syscall.SIGINT)
	if r := <-exited2; r.code != 130 || !strings.Contains(waitErr.String(), "tju recv: interrupted") {
		t.Errorf("recv interrupted while waiting: exit %d, want 130:\n%s", r.code, waitErr.String())
	}
}
