package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tjunet/tjunet/labnet"
)

func init() {
	register(&command{
		name:    "labnet",
		summary: "the lab's two hosts, server and client, on this machine (network namespaces; root)",
		usage:   labnetUsage,
		run:     runLabnet,
	})
}

const labnetUsage = `Usage: tju labnet up     [--id ID] [--rate RATE] [impairments]
       tju labnet exec   [--id ID] server|client -- COMMAND [ARGS...]
       tju labnet run    [--id ID] [--rate RATE] [impairments] [--timeout D] [--grace D]
                         -- SERVER-COMMAND [ARGS...] ::: CLIENT-COMMAND [ARGS...]
       tju labnet status [--id ID]
       tju labnet down   [--id ID]

Builds the TJU lab's two hosts on this machine, as the lab has them, without
Docker: two network namespaces, "server" (172.17.0.3) and "client"
(172.17.0.2), joined by a veth pair. Each program runs with its host's
hostname (a UTS namespace of its own), since a lab program learns its role
from its hostname. Needs root and iproute2 (ip, tc).

up      builds the hosts (namespaces tjunet-server and tjunet-client, or
        tjunet-ID-server and tjunet-ID-client with --id). --rate limits
        each direction with tc's tbf. Impairments (--loss, --delay,
        --jitter, --reorder, --dup, --corrupt, each with -up for client to
        server and -down for server to client, as in "tju netem") put the
        project's emulator in the path: each host routes the other's
        address into a TUN device, and a relay process ("tju labnet
        relay", started by up) copies the IP packets between the two
        devices through the impairments. Programs still send straight to
        the other host's address.
exec    runs a command on a host; its output and exit status are the
        command's (the status is 1 for any failure).
run     all in one: up, the server command, one second later the client
        command, then down. When the client ends, the server gets --grace
        to end too, then is stopped. Everything is removed on every exit,
        interrupted or failed.
status  shows what exists of the lab.
down    stops the relay and any program still running on the hosts and
        removes the namespaces, links and files. Safe to run any time.

Examples:
  # The lab's link: 100 Mbit/s, 20 ms each way, 1% loss.
  sudo tju labnet up --rate 100mbit --delay 20ms --loss 1%
  sudo tju labnet exec server -- ./server
  sudo tju labnet exec client -- ./client
  sudo tju labnet down

  # tju against itself, in lab mode, through 10% loss and 300 ms of delay:
  sudo tju labnet run --delay 300ms --jitter 50ms --loss 10% -- \
      tju recv --lab -o /tmp/got.bin ::: tju send --lab 172.17.0.3 data.bin

  # Check a student's client with the lab's grader programs:
  sudo tju labnet up
  sudo tju labnet exec server -- tju conform client &
  for i in $(seq 11); do sudo tju labnet exec client -- ./client; done`

func runLabnet(ctx context.Context, fs *flag.FlagSet, e *env) error {
	args := fs.Args()
	if len(args) == 0 {
		return usagef("missing the action: up, exec, run, status or down")
	}
	action, args := args[0], args[1:]
	sub := flag.NewFlagSet("tju labnet "+action, flag.ContinueOnError)
	sub.SetOutput(e.stderr)
	sub.String("id", "", "the lab's `ID`, to run several labs at once (names tjunet-ID-server, tjunet-ID-client)")
	switch action {
	case "up", "run", "relay":
		sub.Var(new(rateValue), "rate", "limit each direction to this `rate` with tbf (100mbit)")
		// The rate is tbf's; netem's bottleneck is not offered.
		impairmentFlags(sub, "", " (through the emulator)", true, "rate", "queue")
	}
	if action == "run" {
		sub.Duration("timeout", 10*time.Minute, "stop both programs after this long")
		sub.Duration("grace", 10*time.Second, "after the client ends, how long the server has to end by itself")
		sub.Duration("client-after", time.Second, "start the client this long after the server")
	}
	if err := sub.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	id := flagValue[string](sub, "id")
	cfg := labnet.Config{ID: id}
	if action == "up" || action == "run" || action == "relay" {
		cfg.Rate = flagValue[int64](sub, "rate")
		var err error
		if cfg.Up, cfg.Down, err = readImpairments(sub, true, "rate", "queue"); err != nil {
			return err
		}
	}
	switch action {
	case "up":
		if sub.NArg() > 0 {
			return usagef("unexpected arguments %q", sub.Args())
		}
		return labnetUp(ctx, sub, cfg, e)
	case "exec":
		return labnetExec(ctx, cfg, sub.Args(), e)
	case "run":
		return labnetRun(ctx, sub, cfg, e)
	case "status":
		return labnetStatus(cfg, e)
	case "down":
		if err := labnet.Remove(id); err != nil {
			return err
		}
		if left := labnet.Leftovers(id); len(left) > 0 {
			return fmt.Errorf("could not remove: %s", strings.Join(left, ", "))
		}
		fmt.Fprintf(e.stdout, "tju labnet: lab %s removed\n", labName(id))
		return nil
	case "relay":
		return labnetRelay(ctx, cfg)
	}
	return usagef("unknown action %q: want up, exec, run, status or down", action)
}

func labName(id string) string {
	if id == "" {
		return "(default)"
	}
	return id
}

// describeLab prints what a lab is made of.
func describeLab(w io.Writer, cfg labnet.Config) {
	for _, h := range []labnet.Host{labnet.Server, labnet.Client} {
		fmt.Fprintf(w, "  %-6s %-10s namespace %s\n", h, h.Addr(), labnet.Namespace(cfg.ID, h))
	}
	path := "veth"
	if cfg.Emulated() {
		path = "the emulator, between a TUN device on each host"
	}
	if cfg.Rate > 0 {
		path += ", tbf " + formatBitRate(float64(cfg.Rate)) + " each way"
	}
	fmt.Fprintf(w, "  path   %s\n", path)
	if cfg.Emulated() {
		fmt.Fprintf(w, "  emulator up (client -> server):   %s\n", cfg.Up)
		fmt.Fprintf(w, "  emulator down (server -> client): %s\n", cfg.Down)
	}
}

func labnetUp(ctx context.Context, sub *flag.FlagSet, cfg labnet.Config, e *env) error {
	l, err := labnet.Create(cfg)
	if err != nil {
		return err
	}
	if cfg.Emulated() {
		if err := startRelay(ctx, sub, cfg); err != nil {
			l.Close()
			return err
		}
	}
	fmt.Fprintf(e.stdout, "tju labnet: lab %s is up\n", labName(cfg.ID))
	describeLab(e.stdout, cfg)
	if cfg.Emulated() {
		b, _ := os.ReadFile(labnet.PIDFile(cfg.ID))
		fmt.Fprintf(e.stdout, "  relay  pid %s, log %s\n", strings.TrimSpace(string(b)), labnet.LogFile(cfg.ID))
	}
	flagID := ""
	if cfg.ID != "" {
		flagID = " --id " + cfg.ID
	}
	fmt.Fprintf(e.stdout, "Run programs with \"tju labnet exec%s server -- CMD\" (or client); remove the lab with \"tju labnet down%s\".\n", flagID, flagID)
	return nil
}

// startRelay starts "tju labnet relay" in the background with the flags
// up was given, and waits until its emulator is in the path.
func startRelay(ctx context.Context, sub *flag.FlagSet, cfg labnet.Config) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"labnet", "relay"}
	sub.Visit(func(f *flag.Flag) {
		v := f.Value.String()
		if f.Name == "rate" {
			v = strconv.FormatInt(cfg.Rate, 10) // exact, not as printed
		}
		args = append(args, "--"+f.Name+"="+v)
	})
	if err := os.MkdirAll(filepath.Dir(labnet.LogFile(cfg.ID)), 0o755); err != nil {
		return err
	}
	logf, err := os.Create(labnet.LogFile(cfg.ID))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if _, err := os.Stat(labnet.PIDFile(cfg.ID)); err == nil {
			return nil
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(labnet.LogFile(cfg.ID))
			return fmt.Errorf("the relay failed: %s", bytes.TrimSpace(b))
		case <-deadline.C:
			cmd.Process.Kill()
			return errors.New("the relay did not start within 10s")
		case <-ctx.Done():
			cmd.Process.Kill()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// labnetRelay is the relay process: the emulator in the lab's path until
// SIGTERM or SIGINT.
func labnetRelay(ctx context.Context, cfg labnet.Config) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	l := labnet.Open(cfg)
	if err := l.Emulate(); err != nil {
		return err
	}
	defer l.StopEmulator()
	if err := os.WriteFile(labnet.PIDFile(cfg.ID), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("tju labnet relay: pid %d, emulator in the path of lab %s\n", os.Getpid(), labName(cfg.ID))
	<-ctx.Done()
	up, down, _ := l.EmulatorStats()
	fmt.Printf("tju labnet relay: stopped\n  up:   %v\n  down: %v\n", up, down)
	return nil
}

// splitHostCommand reads "server|client -- COMMAND ARGS..." (the "--" is
// optional).
func splitHostCommand(args []string) (labnet.Host, []string, error) {
	if len(args) == 0 {
		return "", nil, usagef("missing the host: server or client")
	}
	h, err := labnet.ParseHost(args[0])
	if err != nil {
		return "", nil, usageError{err}
	}
	rest := args[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return "", nil, usagef("missing the command to run on %s", h)
	}
	return h, rest, nil
}

func labnetExec(ctx context.Context, cfg labnet.Config, args []string, e *env) error {
	h, argv, err := splitHostCommand(args)
	if err != nil {
		return err
	}
	if _, err := os.Stat("/run/netns/" + labnet.Namespace(cfg.ID, h)); err != nil {
		return fmt.Errorf("no lab %s here: run \"tju labnet up\" first", labName(cfg.ID))
	}
	cmd := labnet.Open(cfg).Command(ctx, h, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %s: %w", h, argv[0], err)
	}
	return nil
}

func labnetStatus(cfg labnet.Config, e *env) error {
	left := labnet.Leftovers(cfg.ID)
	if len(left) == 0 {
		fmt.Fprintf(e.stdout, "tju labnet: no lab %s\n", labName(cfg.ID))
		return nil
	}
	fmt.Fprintf(e.stdout, "tju labnet: lab %s\n", labName(cfg.ID))
	for _, s := range left {
		fmt.Fprintf(e.stdout, "  %s\n", s)
	}
	return nil
}

// splitRun splits "SERVER ARGS ::: CLIENT ARGS".
func splitRun(args []string) (server, client []string, err error) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	for i, a := range args {
		if a == ":::" {
			server, client = args[:i], args[i+1:]
			break
		}
	}
	if len(server) == 0 || len(client) == 0 {
		return nil, nil, usagef("want -- SERVER-COMMAND [ARGS] ::: CLIENT-COMMAND [ARGS]")
	}
	return server, client, nil
}

func labnetRun(ctx context.Context, sub *flag.FlagSet, cfg labnet.Config, e *env) (err error) {
	serverArgs, clientArgs, err := splitRun(sub.Args())
	if err != nil {
		return err
	}
	timeout := flagValue[time.Duration](sub, "timeout")
	grace := flagValue[time.Duration](sub, "grace")
	clientAfter := flagValue[time.Duration](sub, "client-after")
	l, err := labnet.Create(cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if left := labnet.Leftovers(cfg.ID); len(left) > 0 && err == nil {
			err = fmt.Errorf("could not remove: %s", strings.Join(left, ", "))
		}
	}()
	if cfg.Emulated() {
		if err := l.Emulate(); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "tju labnet: lab %s is up\n", labName(cfg.ID))
	describeLab(e.stderr, cfg)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := func(h labnet.Host, argv []string) (*exec.Cmd, <-chan error, error) {
		cmd := l.Command(ctx, h, argv[0], argv[1:]...)
		cmd.Stdout = &prefixWriter{w: e.stdout, prefix: "[" + string(h) + "] "}
		cmd.Stderr = &prefixWriter{w: e.stderr, prefix: "[" + string(h) + "] "}
		if err := cmd.Start(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", h, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done, nil
	}
	srv, srvDone, err := start(labnet.Server, serverArgs)
	if err != nil {
		return err
	}
	var srvErr error
	srvEnded := false
	select {
	case srvErr = <-srvDone:
		srvEnded = true
	case <-time.After(clientAfter):
	case <-ctx.Done():
	}
	var cliErr error
	if !srvEnded && ctx.Err() == nil {
		_, cliDone, err := start(labnet.Client, clientArgs)
		if err != nil {
			srv.Cancel()
			<-srvDone
			return err
		}
		cliErr = <-cliDone
	}
	stopped := false
	if !srvEnded {
		select {
		case srvErr = <-srvDone:
		case <-time.After(grace):
			stopped = true
			srv.Process.Signal(syscall.SIGTERM)
			select {
			case srvErr = <-srvDone:
			case <-time.After(2 * time.Second):
				srv.Cancel()
				srvErr = <-srvDone
			}
		case <-ctx.Done():
			srvErr = <-srvDone
		}
	}
	if up, down, ok := l.EmulatorStats(); ok {
		fmt.Fprintf(e.stderr, "tju labnet: emulator up (client -> server): %v\n", up)
		fmt.Fprintf(e.stderr, "tju labnet: emulator down (server -> client): %v\n", down)
	}
	var errs []error
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		errs = append(errs, fmt.Errorf("stopped after --timeout %v", timeout))
	case ctx.Err() != nil:
		errs = append(errs, ctx.Err())
	}
	if cliErr != nil {
		errs = append(errs, fmt.Errorf("client: %w", cliErr))
	}
	if srvErr != nil && !stopped {
		errs = append(errs, fmt.Errorf("server: %w", srvErr))
	}
	if stopped {
		fmt.Fprintf(e.stderr, "tju labnet: the server was still running %v after the client ended: stopped\n", grace)
	}
	return errors.Join(errs...)
}

// prefixWriter writes each line with a prefix.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	mid    bool // in the middle of a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	var out bytes.Buffer
	for len(b) > 0 {
		if !p.mid {
			out.WriteString(p.prefix)
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out.Write(b)
			p.mid = true
			break
		}
		out.Write(b[:i+1])
		p.mid = false
		b = b[i+1:]
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return n, nil
}
