//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tjunet/tjunet/internal/testio"
	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/sigchan"
)

// bin holds the built program under its two user names.
var bin struct {
	once           sync.Once
	server, client string
	err            error
}

// build builds the command once into a temporary directory, as ./server and
// ./client.
func build(t testing.TB) (server, client string) {
	t.Helper()
	bin.once.Do(func() {
		dir, err := os.MkdirTemp("", "minitalk-e2e-")
		if err != nil {
			bin.err = err
			return
		}
		bin.server = filepath.Join(dir, "server")
		bin.client = filepath.Join(dir, "client")
		// As the Makefile builds it: static, without cgo.
		cmd := exec.Command("go", "build", "-o", bin.server, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			bin.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		bin.err = os.Link(bin.server, bin.client)
	})
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	return bin.server, bin.client
}

// TestMain removes the built binaries, and fails the tests if a goroutine
// they started (a demo's server, a reader of a child's output) is still
// running when they end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) {
		if bin.server != "" {
			os.RemoveAll(filepath.Dir(bin.server))
		}
	}))
}

// server is a running ./server.
type server struct {
	cmd    *exec.Cmd
	pid    int
	out    *testio.Buffer // stdout after the PID line
	stderr *testio.Buffer
	all    *testio.Buffer // all of stdout
}

func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	path, _ := build(t)
	s := &server{out: &testio.Buffer{}, stderr: &testio.Buffer{}, all: &testio.Buffer{}}
	s.cmd = exec.Command(path, args...)
	s.cmd.Stdout = s.all
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		if t.Failed() {
			t.Logf("server stderr:\n%s", s.stderr.String())
		}
	})
	waitFor(t, "the server's PID line", func() bool { return strings.Contains(s.all.String(), "\n") })
	first, _, _ := strings.Cut(s.all.String(), "\n")
	pid, err := strconv.Atoi(first)
	if err != nil || pid != s.cmd.Process.Pid {
		t.Fatalf("first line %q, want the PID %d alone", first, s.cmd.Process.Pid)
	}
	s.pid = pid
	return s
}

// printed returns what the server printed after its PID line.
func (s *server) printed() string {
	_, rest, _ := strings.Cut(s.all.String(), "\n")
	return rest
}

// waitPrinted waits until the server has printed at least n bytes after its
// PID line (its output passes through a pipe and a copying goroutine) and
// returns what it printed.
func (s *server) waitPrinted(t *testing.T, n int) string {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d bytes of output", n), func() bool { return len(s.printed()) >= n })
	return s.printed()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// client runs ./client with args (and stdin, if not nil) and returns its
// exit code and stderr.
func client(t *testing.T, stdin []byte, args ...string) (int, string) {
	t.Helper()
	return clientWithin(t, time.Minute, stdin, args...)
}

// clientWithin is client with a bound other than a minute on how long the
// client may take before it is said to hang.
func clientWithin(t *testing.T, hang time.Duration, stdin []byte, args ...string) (int, string) {
	t.Helper()
	_, path := build(t)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("client %.40q hung", args)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("client: %v", err)
		}
		code = ee.ExitCode()
	}
	return code, stderr.String()
}

func send(t *testing.T, s *server, msg string) {
	t.Helper()
	var code int
	var stderr string
	if strings.IndexByte(msg, 0) >= 0 {
		code, stderr = client(t, []byte(msg), strconv.Itoa(s.pid), "-")
	} else {
		code, stderr = client(t, nil, strconv.Itoa(s.pid), msg)
	}
	if code != 0 {
		t.Fatalf("client exited %d: %s", code, stderr)
	}
}

func TestServerPrintsEveryMessageExactlyAsSent(t *testing.T) {
	t.Parallel() // its own server; the slow tests overlap
	r := rand.New(rand.NewPCG(7, 7))
	binary := make([]byte, 2000)
	for i := range binary {
		binary[i] = byte(r.IntN(256))
	}
	long := strings.Repeat(minitalk.SeedLine, 40)[:20000]
	tests := []struct{ name, msg string }{
		{"the seed's banner", minitalk.SeedBanner},
		{"the seed's asdfjkl line", minitalk.SeedLine},
		{"20,000 characters", long},
		{"emoji and UTF-8", "minitalk 👋🏽 ça marche — 日本語 🚀✨"},
		{"empty message", ""},
		{"NUL bytes through stdin", "before\x00\x00after\x00"},
		{"binary through stdin", "\x00" + string(binary)},
		{"bytes 0x80-0x82", "\x80\x81\x82"},
	}
	s := startServer(t)
	var want strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send(t, s, tt.msg)
			if tt.msg != "" { // the empty message prints nothing
				want.WriteString(tt.msg + "\n")
			}
			if got := s.waitPrinted(t, want.Len()); got != want.String() {
				t.Fatalf("server printed %d bytes, want %d; the last message differs", len(got), want.Len())
			}
		})
	}
}

func TestHundredThousandBytesArriveWhole(t *testing.T) {
	t.Parallel() // its own server; the slow tests overlap
	if testing.Short() {
		t.Skip("takes seconds")
	}
	msg := bytes.Repeat([]byte("0123456789abcdef\x00👋"), 100000/21+1)[:100000]
	s := startServer(t)
	// 1.6 million exchanges: half a minute on a busy machine, more on an
	// overloaded one.
	code, stderr := clientWithin(t, 10*time.Minute, msg, strconv.Itoa(s.pid), "-")
	if code != 0 {
		t.Fatalf("client exited %d: %s", code, stderr)
	}
	if got := s.waitPrinted(t, len(msg)+1); got != string(msg)+"\n" {
		t.Fatalf("printed %d bytes, want %d", len(got), len(msg)+1)
	}
}

func TestThousandMessagesInARowToOneServer(t *testing.T) {
	t.Parallel() // its own server; the slow tests overlap
	s := startServer(t)
	var want strings.Builder
	for i := range 1000 {
		msg := fmt.Sprintf("message %d", i)
		send(t, s, msg)
		want.WriteString(msg + "\n")
	}
	if got := s.waitPrinted(t, want.Len()); got != want.String() {
		t.Fatalf("the 1,000 messages did not arrive in order and whole")
	}
}

func TestTenClientsStartedAtOnceEachPrintedWholeOnALineOfItsOwn(t *testing.T) {
	s := startServer(t)
	_, path := build(t)
	var msgs []string
	var cmds []*exec.Cmd
	for i := range 10 {
		msg := fmt.Sprintf("client %d says %s", i, strings.Repeat(string(rune('a'+i)), 200))
		msgs = append(msgs, msg)
		cmds = append(cmds, exec.Command(path, strconv.Itoa(s.pid), msg))
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("client %d: %v", i, err)
		}
	}
	total := 0
	for _, m := range msgs {
		total += len(m) + 1
	}
	lines := strings.Split(strings.TrimSuffix(s.waitPrinted(t, total), "\n"), "\n")
	wantLines(t, lines, msgs)
}

// wantLines checks that lines are msgs in some order, each exactly once.
func wantLines(t *testing.T, lines, msgs []string) {
	t.Helper()
	left := map[string]int{}
	for _, m := range msgs {
		left[m]++
	}
	for _, l := range lines {
		if left[l] == 0 {
			t.Errorf("printed a line nobody sent: %.80q", l)
		}
		left[l]--
	}
	for m, n := range left {
		if n > 0 {
			t.Errorf("never printed: %.80q", m)
		}
	}
}

// startClient starts ./client sending msg and returns it with its stderr.
func startClient(t *testing.T, s *server, msg string, args ...string) (*exec.Cmd, *testio.Buffer) {
	t.Helper()
	_, path := build(t)
	cmd := exec.Command(path, append(args, strconv.Itoa(s.pid), msg)...)
	stderr := &testio.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, stderr
}

// waitReceiving waits until the server (started with -v) says that the
// first byte of c's message arrived: from then on c is provably mid-message
// until its message is printed.
func (s *server) waitReceiving(t *testing.T, c *exec.Cmd) {
	t.Helper()
	want := fmt.Sprintf("receiving a message from client %d\n", c.Process.Pid)
	waitFor(t, "the first byte of the client's message", func() bool { return strings.Contains(s.stderr.String(), want) })
}

// procState returns the state letter of process pid in /proc/<pid>/stat.
func procState(t *testing.T, pid int) byte {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndexByte(b, ')')
	return b[i+2]
}

// stopMidMessage stops c (SIGSTOP) once its message is arriving and checks
// that it is then provably mid-message: stopped, its message not printed.
func (s *server) stopMidMessage(t *testing.T, c *exec.Cmd, msg string) {
	t.Helper()
	s.waitReceiving(t, c)
	if err := c.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the client to stop", func() bool { return procState(t, c.Process.Pid) == 'T' })
	if strings.Contains(s.printed(), msg) {
		t.Fatal("the client had finished before it was stopped: the test proves nothing")
	}
}

func TestServerServesNextClientAfterOneIsKilledMidMessage(t *testing.T) {
	s := startServer(t, "-v")
	victim, _ := startClient(t, s, strings.Repeat("x", 100000))
	s.waitReceiving(t, victim)
	if err := victim.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := victim.Wait(); err == nil {
		t.Fatal("the client exited 0 before it was killed: the test proves nothing")
	}
	send(t, s, "the next client")
	if got := s.waitPrinted(t, len("the next client\n")); got != "the next client\n" {
		t.Fatalf("printed %.80q, want only the next client's message", got)
	}
	waitFor(t, "the server to say the client is gone", func() bool { return strings.Contains(s.stderr.String(), "gone") })
}

// A client stopped briefly (less than the server's release time) and
// continued finishes its message as if nothing happened.
func TestClientStoppedAndContinuedStillDelivers(t *testing.T) {
	s := startServer(t, "-v")
	msg := strings.Repeat(minitalk.SeedLine, 10)
	c, stderr := startClient(t, s, msg)
	s.stopMidMessage(t, c, msg)
	time.Sleep(300 * time.Millisecond) // stopped for a while; the server keeps it
	if err := c.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("client: %v: %s", err, stderr)
	}
	if got := s.waitPrinted(t, len(msg)+1); got != msg+"\n" {
		t.Fatalf("printed %.80q, want the message whole", got)
	}
}

// A client stopped for good mid-message releases the server (after 1.5 s,
// minitalk.DefaultRelease, where the state machines' test shows the 2 s
// bound in virtual time): the next client is served while the first is
// still stopped. Continued, the first client is told to start over and
// delivers too.
func TestStoppedClientReleasesTheServerForTheNext(t *testing.T) {
	s := startServer(t, "-v")
	msg := strings.Repeat(minitalk.SeedLine, 10)
	c, stderr := startClient(t, s, msg)
	s.stopMidMessage(t, c, msg)
	send(t, s, "the next client")
	if got := s.waitPrinted(t, len("the next client\n")); got != "the next client\n" {
		t.Fatalf("printed %.80q, want only the next client's message", got)
	}
	if st := procState(t, c.Process.Pid); st != 'T' {
		t.Fatalf("the first client is in state %c, want still stopped", st)
	}
	if !strings.Contains(s.stderr.String(), fmt.Sprintf("client %d is stopped", c.Process.Pid)) {
		t.Errorf("the server did not say why it dropped the stopped client")
	}
	if err := c.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("the continued client: %v: %s", err, stderr)
	}
	want := "the next client\n" + msg + "\n"
	if got := s.waitPrinted(t, len(want)); got != want {
		t.Fatalf("printed %.80q, want the next client's message, then the stopped one's", got)
	}
}

// The empty message prints nothing, not even a newline, as minitalk's public
// testers expect; the client still waits for the server's acknowledgement.
func TestEmptyMessagePrintsNothing(t *testing.T) {
	t.Parallel() // its own server; the slow tests overlap
	s := startServer(t)
	for range 3 {
		send(t, s, "")
	}
	send(t, s, "after three empty messages")
	if got := s.waitPrinted(t, len("after three empty messages\n")); got != "after three empty messages\n" {
		t.Fatalf("printed %q, want only the non-empty message's line", got)
	}
}

// noise sends random SIGUSR1 and SIGUSR2 to pid from this test process until
// stop is closed, and reports how many it sent.
func noise(pid int, seed uint64, stop <-chan struct{}) <-chan int {
	n := make(chan int, 1)
	go func() {
		r := rand.New(rand.NewPCG(seed, 3))
		sent := 0
		for {
			select {
			case <-stop:
				n <- sent
				return
			case <-time.After(time.Duration(r.IntN(2000)) * time.Microsecond):
			}
			sig := syscall.SIGUSR1
			if r.IntN(2) == 0 {
				sig = syscall.SIGUSR2
			}
			// To the main thread, where the clients' symbols go too, so
			// that the noise merges with them.
			if syscall.Tgkill(pid, pid, sig) == nil {
				sent++
			}
		}
	}()
	return n
}

func TestRandomSignalsFromAnotherProcessCorruptNothing(t *testing.T) {
	s := startServer(t)
	// The server answers the noise's knocks; this process ignores them.
	stop := make(chan struct{})
	sent := noise(s.pid, 1, stop)
	time.Sleep(300 * time.Millisecond) // noise while idle
	msgs := []string{strings.Repeat(minitalk.SeedLine, 4), minitalk.SeedBanner, "after the noise"}
	for _, m := range msgs[:2] {
		send(t, s, m) // noise during the transfer
	}
	close(stop)
	n := <-sent
	start := time.Now()
	send(t, s, msgs[2])
	t.Logf("%d noise signals; the next client took %v", n, time.Since(start))
	want := strings.Join(msgs, "\n") + "\n"
	if got := s.waitPrinted(t, len(want)); got != want {
		t.Fatalf("printed\n%.200q\nwant\n%.200q", got, want)
	}
}

func TestClientOfServerKilledMidMessageFailsClearly(t *testing.T) {
	s := startServer(t, "-v")
	c, stderr := startClient(t, s, strings.Repeat("y", 100000))
	s.waitReceiving(t, c)
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	err := c.Wait()
	if err == nil {
		t.Fatal("client exited 0 after its server was killed")
	}
	if !strings.Contains(stderr.String(), strconv.Itoa(s.pid)) {
		t.Errorf("client said %q, want a message naming the server", stderr)
	}
}

func TestClientRejectsBadPIDsAndSilentProcesses(t *testing.T) {
	build(t)
	// A process that ignores both signals and never answers.
	mute := exec.Command("sh", "-c", `trap "" USR1 USR2; exec sleep 60`)
	if err := mute.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = mute.Process.Kill(); _ = mute.Wait() }()
	// A process that SIGUSR1 would kill.
	innocent := exec.Command("sleep", "60")
	if err := innocent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = innocent.Process.Kill(); _ = innocent.Wait() }()
	// The PID of a process that has exited and been reaped.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sh to ignore SIGUSR1", func() bool {
		handles, _ := sigchan.Handles(mute.Process.Pid)
		return handles
	})
	tests := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"not a number", []string{"abc", "hi"}, 2, "bad server PID"},
		{"zero", []string{"0", "hi"}, 2, "bad server PID"},
		{"negative", []string{"--", "-5", "hi"}, 2, "bad server PID"},
		{"missing message", []string{"123"}, 2, "usage"},
		{"no such process", []string{strconv.Itoa(gone.Process.Pid), "hi"}, 1, "no process"},
		{"never answers", []string{"-patience", "300ms", strconv.Itoa(mute.Process.Pid), "hi"}, 1, "does not answer"},
		{"would be killed by SIGUSR1", []string{strconv.Itoa(innocent.Process.Pid), "hi"}, 1, "not a minitalk server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := client(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.says) {
				t.Errorf("exit %d, stderr %q; want exit %d saying %q", code, stderr, tt.code, tt.says)
			}
		})
	}
	if err := innocent.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process that does not handle SIGUSR1 is gone: %v", err)
	}
}

func TestBusyServerMakesClientWaitThenGiveUpWithTimeout(t *testing.T) {
	s := startServer(t, "-v", "-first", "30s", "-drop", "30s", "-resend", "20s")
	// Bind the server to this test process, which then stays silent.
	if err := syscall.Tgkill(s.pid, s.pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	bound := fmt.Sprintf("bound to client %d\n", os.Getpid())
	waitFor(t, "the server to accept this process", func() bool { return strings.Contains(s.stderr.String(), bound) })
	code, stderr := client(t, nil, "-timeout", "200ms", strconv.Itoa(s.pid), "hi")
	if code == 0 || !strings.Contains(stderr, "busy") {
		t.Errorf("exit %d, stderr %q; want a non-zero exit after waiting", code, stderr)
	}
}

func TestSIGTERMAndSIGINTEndTheServerCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startServer(t)
			send(t, s, "bye")
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := s.cmd.Wait(); err != nil {
				t.Fatalf("server ended with %v", err)
			}
			if got := s.waitPrinted(t, 4); got != "bye\n" {
				t.Fatalf("stdout after the PID %q", got)
			}
		})
	}
}

func TestDemoDeliversTheSeedDataFromThreeClients(t *testing.T) {
	path, _ := build(t)
	cmd := exec.Command(path, "demo")
	cmd.Args[0] = "minitalk"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("all 3 messages arrived whole")) {
		t.Fatalf("demo said:\n%s", out)
	}
}

// Ctrl-C ends a client mid-message with exit status 130, as shells report
// an interrupted program; the server drops that message and serves the next
// client.
func TestInterruptedClientExits130(t *testing.T) {
	s := startServer(t, "-v")
	c, stderr := startClient(t, s, strings.Repeat("z", 100000))
	s.waitReceiving(t, c)
	if err := c.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 || !strings.Contains(stderr.String(), "client: interrupted") {
		t.Fatalf("interrupted client: %v, stderr %q; want exit status 130 saying it was interrupted", err, stderr)
	}
	send(t, s, "the next client")
	if got := s.waitPrinted(t, len("the next client\n")); got != "the next client\n" {
		t.Fatalf("printed %.80q, want only the next client's message", got)
	}
}

// Messages that look like flags are sent as they are: the client takes
// flags only before the PID.
func TestMessagesThatLookLikeFlagsArriveAsSent(t *testing.T) {
	s := startServer(t)
	msgs := []string{"-n", "--help", "-v", "--", "-timeout 1s", "-"}
	var want strings.Builder
	for _, m := range msgs {
		var code int
		var stderr string
		if m == "-" { // "-" alone means standard input
			code, stderr = client(t, []byte(m), strconv.Itoa(s.pid), "-")
		} else {
			code, stderr = client(t, nil, "-v", strconv.Itoa(s.pid), m)
		}
		if code != 0 {
			t.Fatalf("client %q: exit %d: %s", m, code, stderr)
		}
		want.WriteString(m + "\n")
	}
	if got := s.waitPrinted(t, want.Len()); got != want.String() {
		t.Fatalf("printed %q, want %q", got, want.String())
	}
}
