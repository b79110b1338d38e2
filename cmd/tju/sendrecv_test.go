package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
)

// result is how a command run by runAsync ended.
type result struct {
	code           int
	stdout, stderr *testio.Buffer
}

// runCmd runs tju with args in this process and returns its exit code and
// output.
func runCmd(ctx context.Context, stdin []byte, args ...string) result {
	r := result{stdout: &testio.Buffer{}, stderr: &testio.Buffer{}}
	e := &env{stdout: r.stdout, stderr: r.stderr}
	if stdin != nil {
		e.stdin = bytes.NewReader(stdin)
	}
	r.code = run(ctx, args, e)
	return r
}

// runAsync runs tju in a goroutine; the channel yields its result.
func runAsync(ctx context.Context, args ...string) (<-chan result, *testio.Buffer) {
	ch := make(chan result, 1)
	r := result{stdout: &testio.Buffer{}, stderr: &testio.Buffer{}}
	go func() {
		r.code = run(ctx, args, &env{stdout: r.stdout, stderr: r.stderr})
		ch <- r
	}()
	return ch, r.stderr
}

// startServer runs a server command (recv with its flags) on a free
// loopback port, waits until it has written its --ready-file and returns
// the address it announced (UDP address/TJU port), its end and its stderr.
func startServer(t *testing.T, ctx context.Context, args ...string) (string, <-chan result, *testio.Buffer) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	done, stderr := runAsync(ctx, append(slices.Clone(args), "--listen", "127.0.0.1:0", "--ready-file", ready)...)
	return waitReadyFile(t, ready, done), done, stderr
}

// waitReadyFile waits until a command writes its --ready-file, or fails
// the test if the command ends first.
func waitReadyFile(t *testing.T, name string, done <-chan result) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if b, err := os.ReadFile(name); err == nil {
			return strings.TrimSpace(string(b))
		}
		select {
		case r := <-done:
			t.Fatalf("exited with %d before it was ready; stderr:\n%s", r.code, r.stderr)
		case <-deadline:
			t.Fatalf("%s not written after 20s", name)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	var key [32]byte
	key[0] = byte(seed)
	rand.NewChaCha8(key).Read(b)
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestSendRecvFileOverLoopback(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(1, 3<<20+12345)
	in := filepath.Join(dir, "in.bin")
	out := filepath.Join(dir, "out.bin")
	traces := filepath.Join(dir, "traces")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	addr, recvDone, _ := startServer(t, ctx, "recv", "-o", out, "--trace", traces)
	if !strings.HasPrefix(addr, "127.0.0.1:") || !strings.HasSuffix(addr, "/1234") {
		t.Fatalf("ready file says %q, want 127.0.0.1:PORT/1234", addr)
	}
	s := runCmd(ctx, nil, "send", "--trace", traces, addr, in)
	if s.code != 0 {
		t.Fatalf("send exited with %d:\n%s", s.code, s.stderr)
	}
	r := <-recvDone
	if r.code != 0 {
		t.Fatalf("recv exited with %d:\n%s", r.code, r.stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256Hex(data)
	if sha256Hex(got) != want {
		t.Fatalf("received %d bytes, want %d; SHA-256 differs", len(got), len(data))
	}
	for _, side := range []struct {
		name   string
		stderr string
	}{{"send", s.stderr.String()}, {"recv", r.stderr.String()}} {
		for _, w := range []string{want, "sha256", "goodput", "MB/s", "bit/s", "rtt", "3.2 MB (3158073 bytes)", "SHA-256 matched at both ends"} {
			if !strings.Contains(side.stderr, w) {
				t.Errorf("%s's summary lacks %q:\n%s", side.name, w, side.stderr)
			}
		}
	}
	if !strings.Contains(r.stderr.String(), "listening on "+addr) {
		t.Errorf("recv did not announce %s:\n%s", addr, r.stderr)
	}
	if !strings.Contains(s.stderr.String(), "retransmitted") {
		t.Errorf("send's summary lacks the retransmissions:\n%s", s.stderr)
	}
	for _, f := range []string{"client.event.trace", "server.event.trace"} {
		st, err := os.Stat(filepath.Join(traces, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("trace %s missing or empty: %v", f, err)
		}
	}
}

func TestSendStdinToRecvStdout(t *testing.T) {
	data := randomBytes(2, 200<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	addr, recvDone, _ := startServer(t, ctx, "recv", "--cc", "cubic", "--stats", "10ms")
	s := runCmd(ctx, data, "send", "--cc", "cubic", "--progress", addr, "-")
	if s.code != 0 {
		t.Fatalf("send exited with %d:\n%s", s.code, s.stderr)
	}
	r := <-recvDone
	if r.code != 0 {
		t.Fatalf("recv exited with %d:\n%s", r.code, r.stderr)
	}
	if got := r.stdout.Bytes(); !bytes.Equal(got, data) {
		t.Fatalf("stdout has %d bytes, want the %d sent", len(got), len(data))
	}
	if !strings.Contains(s.stderr.String(), "sending") || !strings.Contains(s.stderr.String(), "205 kB") {
		t.Errorf("--progress drew no bar:\n%s", s.stderr)
	}
	if strings.Contains(r.stderr.String(), "receiving") {
		t.Errorf("recv drew a bar on a stderr that is no terminal:\n%s", r.stderr)
	}
}

func TestRecvKeepServesConnectionsInTurn(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "all")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rctx, stopRecv := context.WithCancel(ctx)
	addr, recvDone, _ := startServer(t, rctx, "recv", "--keep", "-o", out)
	for _, msg := range []string{"first\n", "second\n"} {
		if s := runCmd(ctx, []byte(msg), "send", addr); s.code != 0 {
			t.Fatalf("send exited with %d:\n%s", s.code, s.stderr)
		}
	}
	stopRecv()
	r := <-recvDone
	if r.code != 0 {
		t.Fatalf("recv --keep exited with %d after Ctrl-C:\n%s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(out); string(got) != "first\nsecond\n" {
		t.Fatalf("output %q, want both messages in order", got)
	}
	if n := strings.Count(r.stderr.String(), "received "); n != 2 {
		t.Errorf("%d summaries, want 2:\n%s", n, r.stderr)
	}
}

func TestSendRecvErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("x"), 0o644)

	// A UDP socket that never answers: a peer that is down.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing file", []string{"send", "127.0.0.1:9", filepath.Join(dir, "nope")}, 1, "cannot read the file to send"},
		{"directory", []string{"send", "127.0.0.1:9", dir}, 1, "is a directory"},
		{"no address", []string{"send"}, 2, "missing the receiver's address"},
		{"too many arguments", []string{"send", "h", "a", "b"}, 2, "too many arguments"},
		{"unknown flag", []string{"send", "--bogus", "h"}, 2, "tju send: unknown flag --bogus"},
		{"unknown flag after args", []string{"send", "h", file, "--bogus"}, 2, "tju send: unknown flag --bogus"},
		{"bad cc", []string{"send", "--cc", "vegas", "h", file}, 2, `--cc "vegas": want bbr, reno or cubic`},
		{"bad TJU port", []string{"send", "h:1/0", file}, 2, "the TJU port after the slash"},
		{"port conflict", []string{"send", "--port", "5", "h:1/6", file}, 2, "--port says 5"},
		{"bad stats", []string{"recv", "--stats", "1ns"}, 2, "--stats"},
		{"no answer", []string{"send", "--timeout", "300ms", silent.LocalAddr().String(), file}, 1, "no answer from " + silent.LocalAddr().String()},
		{"unwritable output", []string{"recv", "--listen", "127.0.0.1:0", "-o", filepath.Join(dir, "no", "such", "dir")}, 1, "cannot write the output"},
		{"bad listen address", []string{"recv", "--listen", "nowhere:x"}, 2, `--listen "nowhere:x": want a UDP port`},
		{"listen port out of range", []string{"recv", "--listen", ":99999"}, 2, `--listen ":99999": want a UDP port from 0 to 65535`},
		{"receiver port out of range", []string{"send", "h:99999", file}, 2, `tju send: receiver address "h:99999": the UDP port 99999`},
		{"stats without unit", []string{"recv", "--stats", "1"}, 2, `tju recv: --stats "1": want a duration like 1s`},
		{"recv argument", []string{"recv", "file"}, 2, "unexpected arguments"},
		{"bad metrics address", []string{"recv", "--listen", "127.0.0.1:0", "--metrics", "256.0.0.1:x"}, 1, "--metrics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r := runCmd(ctx, nil, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			if !strings.Contains(r.stderr.String(), tc.want) {
				t.Fatalf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
		})
	}
}

func TestSendToClosedPortIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rctx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()
	addr, recvDone, _ := startServer(t, rctx, "recv")
	udp, _, _ := strings.Cut(addr, "/")
	r := runCmd(ctx, []byte("x"), "send", "--port", "4321", udp)
	if r.code != 1 || !strings.Contains(r.stderr.String(), "refused") {
		t.Fatalf("exit %d, want 1 and \"refused\":\n%s", r.code, r.stderr)
	}
	stopRecv()
	<-recvDone
}

func TestSendRecvHelpHasExamples(t *testing.T) {
	for _, name := range []string{"send", "recv"} {
		r := runCmd(context.Background(), nil, name, "--help")
		if r.code != 0 {
			t.Fatalf("%s --help: exit %d", name, r.code)
		}
		for _, w := range []string{"Usage:\n  tju " + name, "Examples:", "-trace", "-stats", "-metrics", "-cc"} {
			if !strings.Contains(r.stdout.String(), w) {
				t.Errorf("%s --help lacks %q", name, w)
			}
		}
	}
}

func TestRecvKeepSurvivesAnInterruptedSender(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rctx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()
	addr, recvDone, recvErr := startServer(t, rctx, "recv", "--keep", "-v", "-o", filepath.Join(dir, "out"))

	// A sender interrupted (Ctrl-C) while its input has stalled: it resets
	// the connection.
	sctx, interrupt := context.WithCancel(ctx)
	var stderr testio.Buffer
	sendDone := make(chan int, 1)
	go func() {
		sendDone <- run(sctx, []string{"send", addr}, &env{stdin: &prefixReader{ctx: sctx, data: make([]byte, 100<<10), n: 100 << 10}, stdout: &testio.Buffer{}, stderr: &stderr})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(recvErr.String(), "msg=accepted") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	interrupt()
	if code := <-sendDone; code != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("interrupted send: exit %d:\n%s", code, stderr.String())
	}
	// The receiver goes on with the next sender.
	for !strings.Contains(recvErr.String(), "waiting for the next connection") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s := runCmd(ctx, []byte("after\n"), "send", addr); s.code != 0 {
		t.Fatalf("second send: exit %d:\n%s", s.code, s.stderr)
	}
	stopRecv()
	r := <-recvDone
	if r.code != 0 || !strings.Contains(r.stderr.String(), "reset the connection") || !strings.Contains(r.stderr.String(), "received 6 B") {
		t.Fatalf("recv --keep: exit %d:\n%s", r.code, r.stderr)
	}
}

// TestSendToAClosedPortFailsAtOnce: with nothing on the peer's UDP port,
// the kernel's ICMP port unreachable ends the send at once (in well under
// a second on loopback) with words that say so, long before --timeout.
func TestSendToAClosedPortFailsAtOnce(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, args := range [][]string{{"send", "--timeout", "30s", addr}, {"bench", "--timeout", "30s", "-c", addr}} {
		start := time.Now()
		r := runCmd(ctx, []byte("x"), args...)
		el := time.Since(start)
		if r.code != 1 || !strings.Contains(r.stderr.String(), "nothing listens at "+addr) || strings.Contains(r.stderr.String(), "no answer") {
			t.Errorf("tju %q: exit %d after %v, want 1 and \"nothing listens at %s\":\n%s", args, r.code, el, addr, r.stderr)
		}
		if strings.Contains(r.stdout.String(), "interval") {
			t.Errorf("tju %q printed a test header before failing to connect:\n%s", args, r.stdout)
		}
		if args[0] == "bench" {
			r := runCmd(ctx, nil, append(args, "-J")...)
			var j struct{ Error string }
			if err := json.Unmarshal(r.stdout.Bytes(), &j); err != nil || !strings.Contains(j.Error, "nothing listens at") {
				t.Errorf("bench -J: %v; want {\"error\": ...} on stdout, as iperf3 -J writes it:\n%s", err, r.stdout)
			}
		}
		t.Logf("tju %q failed after %v", args, el)
	}
}
