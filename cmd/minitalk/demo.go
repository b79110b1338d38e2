package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tjunet/tjunet/minitalk"
)

// demoMain runs "minitalk demo": a server and three clients started at the
// same moment, sending the seed's banner, its asdfjkl; line and a greeting.
// It shows the rejects and retries as they happen and the messages as they
// arrive, and exits 0 if all three arrived whole.
func demoMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("minitalk demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "minitalk demo: %v\n", err)
		return 1
	}
	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, format+"\n", a...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Args[0] is "minitalk" whatever the name this program was run under.
	srv := exec.CommandContext(ctx, exe, "server", "-v")
	srv.Args[0] = "minitalk"
	dieWithDemo(srv)
	srvOut, _ := srv.StdoutPipe()
	srvErr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		fmt.Fprintf(stderr, "minitalk demo: starting the server: %v\n", err)
		return 1
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	out := bufio.NewReader(srvOut)
	first, err := out.ReadString('\n')
	if err != nil {
		fmt.Fprintf(stderr, "minitalk demo: reading the server's PID: %v\n", err)
		return 1
	}
	pid := strings.TrimSpace(first)
	say("server: PID %s", pid)
	go func() {
		sc := bufio.NewScanner(srvErr)
		for sc.Scan() {
			say("  %s", sc.Text())
		}
	}()

	msgs := []string{minitalk.SeedBanner, minitalk.SeedLine, "hello from the third client 👋"}
	names := []string{"banner", "asdfjkl", "greeting"}
	var wg sync.WaitGroup
	results := make([]string, len(msgs))
	start := time.Now()
	for i, m := range msgs {
		c := exec.CommandContext(ctx, exe, "client", "-v", pid, m)
		c.Args[0] = "minitalk"
		dieWithDemo(c)
		cerr, _ := c.StderrPipe()
		if err := c.Start(); err != nil {
			fmt.Fprintf(stderr, "minitalk demo: starting a client: %v\n", err)
			return 1
		}
		say("client %d (%s, %d bytes): PID %d", i+1, names[i], len(m), c.Process.Pid)
		wg.Go(func() {
			sc := bufio.NewScanner(cerr)
			for sc.Scan() {
				say("  client %d: %s", i+1, strings.TrimPrefix(sc.Text(), "minitalk client: "))
			}
			err := c.Wait()
			results[i] = "exit 0"
			if err != nil {
				results[i] = err.Error()
			}
			say("client %d done after %v: %s", i+1, time.Since(start).Round(time.Millisecond), results[i])
		})
	}

	// Read the messages as the server prints them: a message may hold
	// newlines, so match it against what was sent.
	got := map[int]bool{}
	var printed strings.Builder
	for len(got) < len(msgs) {
		line, err := out.ReadString('\n')
		if err != nil {
			say("server output ended: %v", err)
			break
		}
		printed.WriteString(line)
		for i, m := range msgs {
			if !got[i] && strings.HasSuffix(printed.String(), m+"\n") {
				got[i] = true
				say("server printed the %s message whole (%d bytes):", names[i], len(m))
				for _, l := range strings.Split(m, "\n") {
					say("    | %s", l)
				}
				printed.Reset()
			}
		}
	}
	wg.Wait()
	ok := len(got) == len(msgs)
	for _, r := range results {
		ok = ok && r == "exit 0"
	}
	if !ok {
		say("FAILED: %d of %d messages arrived whole", len(got), len(msgs))
		return 1
	}
	say("all %d messages arrived whole in %v; every client exited 0", len(msgs), time.Since(start).Round(time.Millisecond))
	return 0
}
