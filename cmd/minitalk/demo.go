package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/internal/cli"
	"github.com/tjunet/tjunet/minitalk"
)

// newDemoCommand builds "minitalk demo".
func newDemoCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "a server and three clients started at once, on the seed's data",
		Long: `Starts a server and three clients at the same moment, sending the seed's
banner, its asdfjkl; line and a greeting. It shows the rejects and retries
as they happen and the messages as the server prints them.

Exit status: 0 if all three messages arrived whole and every client
exited 0, 1 otherwise.`,
		Example: `  minitalk demo`,
		Args:    cli.NoArgs,
		RunE:    func(*cobra.Command, []string) error { return demo(e.stdout) },
	}
}

// demo runs the demo: a server and three clients started at the same
// moment, sending the seed's banner, its asdfjkl; line and a greeting. It
// shows the rejects and retries as they happen and the messages as they
// arrive, and fails unless all three arrived whole.
func demo(stdout io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
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
		return fmt.Errorf("starting the server: %w", err)
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	out := bufio.NewReader(srvOut)
	first, err := out.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the server's PID: %w", err)
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
			return fmt.Errorf("starting a client: %w", err)
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
		return fmt.Errorf("%d of %d messages arrived whole", len(got), len(msgs))
	}
	say("all %d messages arrived whole in %v; every client exited 0", len(msgs), time.Since(start).Round(time.Millisecond))
	return nil
}
