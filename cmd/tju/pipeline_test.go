package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
)

// Two tju programs, recv and send, talk through a tju netem relay that
// loses 3% of the datagrams each way and delays them by 10 ms (issue 4):
// what arrives is checked by SHA-256 against what was sent.
func TestSendRecvThroughNetemRelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	data := randomBytes(42, 2<<20)
	in := filepath.Join(dir, "in.bin")
	out := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}

	recvAddr, recvDone, _ := startServer(t, ctx, "recv", "-o", out) // host:port/tjuport
	udp, tjuPort, _ := strings.Cut(recvAddr, "/")

	var relayOut, relayErr testio.Buffer
	relayCtx, stopRelay := context.WithCancel(ctx)
	defer stopRelay()
	relayDone := make(chan int, 1)
	go func() {
		relayDone <- run(relayCtx, []string{"netem", "--listen", "127.0.0.1:0", "--to", udp,
			"--loss", "3%", "--delay", "10ms", "--seed", "5"}, &env{stdout: &relayOut, stderr: &relayErr})
	}()
	var relay string
	for deadline := time.Now().Add(20 * time.Second); relay == ""; {
		if m := regexp.MustCompile(`listening on (\S+),`).FindStringSubmatch(relayOut.String()); m != nil {
			relay = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay not listening after 20s; stdout %q stderr %q", relayOut.String(), relayErr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}

	s := runCmd(ctx, nil, "send", "--timeout", "30s", relay+"/"+tjuPort, in)
	if s.code != 0 {
		t.Fatalf("send exited %d:\n%s", s.code, s.stderr)
	}
	r := <-recvDone
	if r.code != 0 {
		t.Fatalf("recv exited %d:\n%s", r.code, r.stderr)
	}
	stopRelay()
	<-relayDone
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sha256Hex(got) != sha256Hex(data) {
		t.Fatalf("received %d bytes whose SHA-256 differs from the %d sent", len(got), len(data))
	}
	if !strings.Contains(s.stderr.String(), sha256Hex(data)) {
		t.Errorf("send's summary lacks the SHA-256:\n%s", s.stderr)
	}
	t.Logf("relay counters:\n%s", relayOut.String())
}
