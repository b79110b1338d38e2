package labnet_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tjunet/tjunet/labnet"
	"github.com/tjunet/tjunet/netem"
)

// The test binary doubles as the programs run on the lab's hosts: with
// LABNET_HELPER set it runs a helper instead of the tests.
func TestMain(m *testing.M) {
	if h := os.Getenv("LABNET_HELPER"); h != "" {
		os.Exit(helper(h, os.Args[1:]))
	}
	goleak.VerifyTestMain(m) // no goroutine outlives the tests
}

func helper(name string, args []string) int {
	switch name {
	case "hostname":
		h, err := os.Hostname()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(h)
	case "echo":
		// Echo datagrams on the lab's port until killed.
		pc, err := net.ListenPacket("udp", ":20218")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("ready") // the port is bound: pings may start
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return 1
			}
			pc.WriteTo(buf[:n], from)
		}
	case "ping":
		// Send N datagrams to ADDR one at a time; print the smallest RTT
		// in ms and how many came back.
		n, _ := strconv.Atoi(args[1])
		c, err := net.Dial("udp", args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		best, got := time.Hour, 0
		buf := make([]byte, 2048)
		for i := range n {
			start := time.Now()
			c.Write([]byte(fmt.Sprintf("ping %d", i)))
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(buf); err == nil {
				got++
				best = min(best, time.Since(start))
			}
		}
		fmt.Printf("%d %d\n", best.Milliseconds(), got)
	case "block":
		// Say it runs, then block until killed.
		fmt.Println("ready")
		time.Sleep(10 * time.Minute) // (select{} would die at once: a deadlock)
	default:
		return 2
	}
	return 0
}

// create builds a lab for one test, with an ID of its own, and checks at
// the end that nothing of it is left.
func create(t *testing.T, cfg labnet.Config) *labnet.Lab {
	t.Helper()
	if err := labnet.Available(); err != nil {
		t.Skipf("labnet is unavailable here: %v", err)
	}
	cfg.ID = fmt.Sprintf("t%d%s", os.Getpid()%100000, cfg.ID)
	l, err := labnet.Create(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if left := labnet.Leftovers(cfg.ID); len(left) > 0 {
			t.Errorf("left behind: %q", left)
		}
	})
	return l
}

// onHost runs the test binary as helper on host h and returns its output.
func onHost(ctx context.Context, t *testing.T, l *labnet.Lab, h labnet.Host, helper string, args ...string) *exec.Cmd {
	cmd := l.Command(ctx, h, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LABNET_HELPER="+helper)
	return cmd
}

// startReady starts cmd, a helper that prints "ready" once it can serve,
// and waits for that line: no sleep that a slow machine could outlast.
func startReady(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper %v said %q, %v; want ready", cmd.Args, line, err)
	}
}

// ping runs an echo on the server and n pings from the client; it returns
// the smallest RTT and how many answers came back.
func ping(t *testing.T, l *labnet.Lab, n int) (time.Duration, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	echo := onHost(ctx, t, l, labnet.Server, "echo")
	startReady(t, echo)
	defer func() { echo.Cancel(); echo.Wait() }()
	out, err := onHost(ctx, t, l, labnet.Client, "ping", "172.17.0.3:20218", strconv.Itoa(n)).Output()
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	var ms, got int
	fmt.Sscan(string(out), &ms, &got)
	return time.Duration(ms) * time.Millisecond, got
}

func TestHostsHaveTheLabsNamesAndAddresses(t *testing.T) {
	l := create(t, labnet.Config{ID: "a", Rate: 50_000_000})
	ctx := context.Background()
	for _, h := range []labnet.Host{labnet.Server, labnet.Client} {
		out, err := onHost(ctx, t, l, h, "hostname").Output()
		if err != nil || strings.TrimSpace(string(out)) != string(h) {
			t.Errorf("hostname on %s: %q, %v", h, out, err)
		}
		out, err = l.Command(ctx, h, "ip", "-4", "-o", "addr", "show").Output()
		if err != nil || !strings.Contains(string(out), h.Addr().String()+"/24") {
			t.Errorf("addresses on %s: %v\n%s", h, err, out)
		}
		out, err = exec.Command("tc", "-n", labnet.Namespace(l.ID(), h), "qdisc", "show").Output()
		if err != nil || !strings.Contains(string(out), "tbf") || !strings.Contains(string(out), "50Mbit") {
			t.Errorf("no tbf at 50 Mbit/s on %s: %v\n%s", h, err, out)
		}
	}
	if host, _ := os.Hostname(); host == "server" || host == "client" {
		t.Errorf("the machine's own hostname changed to %q", host)
	}
	if rtt, got := ping(t, l, 5); got != 5 {
		t.Errorf("ping over the veth: %d of 5 answers, best RTT %v", got, rtt)
	}
}

func TestEmulatorSitsInThePath(t *testing.T) {
	if err := labnet.EmulatorAvailable(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	delay := netem.Config{Delay: 50 * time.Millisecond, Seed: 1}
	l := create(t, labnet.Config{ID: "b", Up: delay, Down: delay})
	if err := l.Emulate(); err != nil {
		t.Fatal(err)
	}
	rtt, got := ping(t, l, 5)
	// 100 ms is the floor the emulator sets; the ceiling only guards
	// against a stuck relay (a loaded machine adds its own delays).
	if got != 5 || rtt < 100*time.Millisecond || rtt > 2*time.Second {
		t.Errorf("ping through the emulator (50 ms each way): %d of 5 answers, best RTT %v", got, rtt)
	}
	up, down, ok := l.EmulatorStats()
	if !ok || up.Delivered < 5 || down.Delivered < 5 {
		t.Errorf("emulator stats: up %v, down %v", up, down)
	}
	for _, h := range []labnet.Host{labnet.Server, labnet.Client} {
		out, err := l.Command(context.Background(), h, "ip", "link", "show", "tjunet-tun").Output()
		if err != nil || !strings.Contains(string(out), "qlen 4096") {
			t.Errorf("the TUN device on %s: %v\n%s; want a queue of 4096 packets", h, err, out)
		}
		if n, err := l.DeviceDrops(h); err != nil || n != 0 {
			t.Errorf("DeviceDrops(%s) = %d, %v; want 0 drops for a few pings", h, n, err)
		}
	}
}

func TestRemoveCleansUpAfterAFailure(t *testing.T) {
	if err := labnet.Available(); err != nil {
		t.Skipf("labnet is unavailable here: %v", err)
	}
	id := fmt.Sprintf("t%dc", os.Getpid()%100000)
	l, err := labnet.Create(labnet.Config{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	defer labnet.Remove(id)
	if _, err := labnet.Create(labnet.Config{ID: id}); err == nil {
		t.Error("creating the same lab twice succeeded")
	}
	// A program left running, as after a crash of the process that made
	// the lab: Remove, from anywhere, ends it and takes the rest.
	sleeper := onHost(context.Background(), t, l, labnet.Server, "block")
	startReady(t, sleeper) // it runs in the namespace
	waited := make(chan error, 1)
	go func() { waited <- sleeper.Wait() }()
	if err := labnet.Remove(id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Error("the program in the lab still runs after Remove")
	}
	if left := labnet.Leftovers(id); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
	// Remove is idempotent, and takes half-built labs too.
	if err := exec.Command("ip", "netns", "add", labnet.Namespace(id, labnet.Client)).Run(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := labnet.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	if left := labnet.Leftovers(id); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

// TestDoOpensSocketsOnEachHost holds a listener on the server and a
// connection from the client in this one process, over the veth, and sets
// a sysctl on one host without touching the other or the machine.
func TestDoOpensSocketsOnEachHost(t *testing.T) {
	l := create(t, labnet.Config{ID: "d"})
	var ln net.Listener
	if err := l.Do(labnet.Server, func() (err error) {
		ln, err = net.Listen("tcp4", labnet.Server.Addr().String()+":0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hello"))
			c.Close()
		}
	}()
	var c net.Conn
	if err := l.Do(labnet.Client, func() (err error) {
		c, err = net.DialTimeout("tcp4", ln.Addr().String(), 10*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "hello" {
		t.Errorf("read %q, %v; want hello", b, err)
	}
	if got := c.LocalAddr().(*net.TCPAddr).IP.String(); got != labnet.Client.Addr().String() {
		t.Errorf("the client's socket has address %s, want the client host's", got)
	}
	// Outside Do, this process is still in its own namespace.
	if _, err := net.DialTimeout("tcp4", ln.Addr().String(), 2*time.Second); err == nil {
		t.Error("the lab's server is reachable from outside the lab: Do left this thread in a namespace")
	}

	const name = "net.ipv4.tcp_no_metrics_save"
	host, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_no_metrics_save")
	before, err := l.Sysctl(labnet.Server, name)
	if err != nil {
		t.Fatal(err)
	}
	want := "1"
	if before == "1" {
		want = "0"
	}
	if err := l.SetSysctl(labnet.Client, name, want); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Sysctl(labnet.Client, name); err != nil || got != want {
		t.Errorf("client %s = %q, %v; want %q", name, got, err, want)
	}
	if got, _ := l.Sysctl(labnet.Server, name); got != before {
		t.Errorf("setting the client's %s changed the server's: %q, was %q", name, got, before)
	}
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_no_metrics_save"); string(now) != string(host) {
		t.Errorf("setting the client's %s changed the machine's: %q, was %q", name, now, host)
	}
	if err := l.SetSysctl(labnet.Client, "kernel.hostname", "x"); err == nil {
		t.Error("SetSysctl accepted a setting outside net.")
	}
}
