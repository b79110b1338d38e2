package main

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
)

func netemUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// netemWait polls, up to 10 s, until cond holds.
func netemWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// netemStat extracts "<name> N" from the line of the final counters that
// starts with prefix ("up:" or "down:").
func netemStat(t *testing.T, out, prefix, name string) int {
	t.Helper()
	i := strings.LastIndex(out, prefix)
	if i < 0 {
		t.Fatalf("no %q line in output:\n%s", prefix, out)
	}
	line, _, _ := strings.Cut(out[i:], "\n")
	m := regexp.MustCompile(`\b` + name + ` (\d+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no %q in %q", name, line)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestNetemRelaysDatagramsWithLossAndDelay(t *testing.T) {
	upstream := netemUDP(t)
	var mu sync.Mutex
	var atUpstream []time.Time
	go func() { // echo server, recording arrival times
		buf := make([]byte, 2000)
		for {
			n, from, err := upstream.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			atUpstream = append(atUpstream, time.Now())
			mu.Unlock()
			upstream.WriteTo(buf[:n], from)
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testio.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"netem", "--listen", "127.0.0.1:0", "--to", upstream.LocalAddr().String(),
			"--loss-up", "30%", "--delay", "20ms", "--seed", "7"}, &env{stdout: &stdout, stderr: &stderr})
	}()
	var relay *net.UDPAddr
	netemWait(t, "the relay to listen", func() bool {
		m := regexp.MustCompile(`listening on (\S+),`).FindStringSubmatch(stdout.String())
		if m != nil {
			relay, _ = net.ResolveUDPAddr("udp", m[1])
		}
		return relay != nil
	})

	client := netemUDP(t)
	var replies int
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 2000)
		for {
			if _, _, err := client.ReadFrom(buf); err != nil {
				return
			}
			mu.Lock()
			replies++
			mu.Unlock()
		}
	}()
	const n = 100
	start := time.Now()
	for i := range n {
		if _, err := client.WriteTo(fmt.Appendf(nil, "datagram %d", i), relay); err != nil {
			t.Fatal(err)
		}
	}
	// With 30% loss, about 70 get through; wait until the flow stops:
	// every echo back at the client and nothing new for 500 ms (25 times
	// the delay).
	last, lastChange := -1, time.Now()
	netemWait(t, "the transfer to finish", func() bool {
		mu.Lock()
		r, e := replies, len(atUpstream)
		mu.Unlock()
		if r != last {
			last, lastChange = r, time.Now()
		}
		return r > 0 && r == e && time.Since(lastChange) > 500*time.Millisecond
	})
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", c, stderr.String())
	}
	client.Close()
	<-readerDone

	out := stdout.String()
	mu.Lock()
	defer mu.Unlock()
	if got := netemStat(t, out, "up:", "offered"); got != n {
		t.Errorf("up offered %d, want %d\n%s", got, n, out)
	}
	delivered := netemStat(t, out, "up:", "delivered")
	if delivered != len(atUpstream) || delivered+netemStat(t, out, "up:", "lost") != n {
		t.Errorf("up delivered %d, upstream received %d\n%s", delivered, len(atUpstream), out)
	}
	if delivered < 50 || delivered > 90 {
		t.Errorf("%d of %d delivered with 30%% loss", delivered, n)
	}
	if d := netemStat(t, out, "down:", "delivered"); d != replies || d != delivered {
		t.Errorf("down delivered %d, client received %d, want %d\n%s", d, replies, delivered, out)
	}
	if len(atUpstream) > 0 && atUpstream[0].Sub(start) < 20*time.Millisecond {
		t.Errorf("first datagram reached upstream after %v, want at least 20ms", atUpstream[0].Sub(start))
	}
	if !strings.Contains(out, "loss 30%, delay 20ms") || !strings.Contains(out, "stopped") {
		t.Errorf("output does not describe the link:\n%s", out)
	}
}

func TestNetemStopsAfterDuration(t *testing.T) {
	upstream := netemUDP(t)
	var stdout, stderr testio.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"netem", "--listen", "127.0.0.1:0", "--to", upstream.LocalAddr().String(),
		"--duration", "50ms", "--every", "10ms"}, &env{stdout: &stdout, stderr: &stderr})
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("returned after %v, want at least 50ms", d)
	}
	if out := stdout.String(); strings.Count(out, "up:") < 2 {
		t.Fatalf("want periodic and final counters:\n%s", out)
	}
}

func TestNetemRejectsBadFlagsWithExitCode2(t *testing.T) {
	to := []string{"--listen", "127.0.0.1:0", "--to", "127.0.0.1:20218"}
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"missing --to", []string{"--listen", "127.0.0.1:0"}, "--to is required"},
		{"loss over 100%", append([]string{"--loss", "150%"}, to...), `tju netem: --loss "150%": want`},
		{"loss not a number", append([]string{"--loss-up", "lots"}, to...), `tju netem: --loss-up "lots": want`},
		{"negative delay", append([]string{"--delay", "-5ms"}, to...), `tju netem: --delay "-5ms": want`},
		{"delay without unit", append([]string{"--delay-down", "300"}, to...), `tju netem: --delay-down "300": want`},
		{"bad rate", append([]string{"--rate", "fast"}, to...), `tju netem: --rate "fast": want`},
		{"bad queue", append([]string{"--rate", "1mbit", "--queue", "-3"}, to...), `tju netem: --queue "-3": want`},
		{"queue without rate", append([]string{"--queue", "100p"}, to...), "--queue needs --rate"},
		{"burst below 1", append([]string{"--loss", "5%", "--burst", "0.5"}, to...), `tju netem: --burst "0.5": want`},
		{"burst without loss", append([]string{"--burst", "3"}, to...), "give a loss rate"},
		{"impossible burst", append([]string{"--loss", "90%", "--burst", "1"}, to...), "needs bursts longer"},
		{"bad mtu", append([]string{"--mtu", "big"}, to...), `tju netem: --mtu "big": want`},
		{"unknown flag", append([]string{"--bandwidth", "1"}, to...), "tju netem: unknown flag --bandwidth"},
		{"bad duration", append([]string{"--duration", "soon"}, to...), `--duration "soon": want a duration like 1s`},
		{"extra argument", append(to, "extra"), "unexpected arguments"},
		{"upstream without port", []string{"--listen", "127.0.0.1:0", "--to", "127.0.0.1"}, `--to "127.0.0.1"`},
		{"bad listen address", []string{"--listen", "nowhere", "--to", "127.0.0.1:20218"}, `--listen "nowhere"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr testio.Buffer
			code := run(context.Background(), append([]string{"netem"}, tc.args...), &env{stdout: &stdout, stderr: &stderr})
			if code != 2 {
				t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr does not mention %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

func TestNetemHelpShowsExamples(t *testing.T) {
	var stdout, stderr testio.Buffer
	if code := run(context.Background(), []string{"netem", "--help"}, &env{stdout: &stdout, stderr: &stderr}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{"Examples:", "-loss-up", "-delay-down", "-seed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
