package labnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// RelayStartTimeout bounds how long StartRelay waits for the relay to put
// its emulator in the path.
const RelayStartTimeout = 10 * time.Second

// StartRelay starts the emulator of lab id as a process of its own: argv
// (usually this program again, with the arguments that make it run
// Lab.Emulate until SIGTERM and write PIDFile) in a new session, so that
// it outlives the command that started it and a Ctrl-C in that terminal
// does not reach it, with its output in LogFile(id). It returns once the
// relay has written PIDFile(id), or with the relay's log if it exits
// first. Remove (or Lab.Close) stops it.
func StartRelay(ctx context.Context, id string, argv []string) error {
	if len(argv) == 0 {
		return errors.New("labnet: no relay command")
	}
	if err := os.MkdirAll(filepath.Dir(LogFile(id)), 0o755); err != nil {
		return err
	}
	logf, err := os.Create(LogFile(id))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.NewTimer(RelayStartTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		if _, err := os.Stat(PIDFile(id)); err == nil {
			return nil
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(LogFile(id))
			return fmt.Errorf("the relay failed: %s", bytes.TrimSpace(b))
		case <-deadline.C:
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("the relay did not start within %v", RelayStartTimeout)
		case <-ctx.Done():
			cmd.Process.Kill()
			<-exited
			return ctx.Err()
		case <-poll.C:
		}
	}
}

// RunConfig is a server and a client program run on a lab's hosts.
type RunConfig struct {
	Server, Client []string // argv of each
	// ClientAfter is how long after the server the client starts.
	ClientAfter time.Duration
	// Grace is how long the server has to end by itself after the client
	// ends; then it gets SIGTERM, and StopAfter later SIGKILL.
	Grace     time.Duration
	StopAfter time.Duration // default 2s
	// Stdout and Stderr receive both programs' output, each line prefixed
	// with "[server] " or "[client] ". Nil discards.
	Stdout, Stderr io.Writer
}

// RunResult says how the two programs ended.
type RunResult struct {
	ServerErr, ClientErr error // as exec.Cmd.Wait reports them
	// ClientRan is false when the server ended (or ctx did) before the
	// client was due.
	ClientRan bool
	// Stopped says the server was still running Grace after the client
	// ended and was stopped; ServerErr is then its signal's.
	Stopped bool
}

// Run runs rc.Server on the server host, then rc.Client on the client
// host, waits for the client, gives the server rc.Grace to finish, and
// stops it if it has not (SIGTERM, then SIGKILL). When ctx ends both are
// killed. The error is for programs that could not start; how they ended
// is in the result.
func (l *Lab) Run(ctx context.Context, rc RunConfig) (RunResult, error) {
	var res RunResult
	if len(rc.Server) == 0 || len(rc.Client) == 0 {
		return res, errors.New("labnet: Run needs a server and a client command")
	}
	if rc.StopAfter <= 0 {
		rc.StopAfter = 2 * time.Second
	}
	start := func(h Host, argv []string) (*exec.Cmd, <-chan error, error) {
		cmd := l.Command(ctx, h, argv[0], argv[1:]...)
		cmd.Stdout = prefixed(rc.Stdout, h)
		cmd.Stderr = prefixed(rc.Stderr, h)
		if err := cmd.Start(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", h, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done, nil
	}
	srv, srvDone, err := start(Server, rc.Server)
	if err != nil {
		return res, err
	}
	srvEnded := false
	after := time.NewTimer(rc.ClientAfter)
	defer after.Stop()
	select {
	case res.ServerErr = <-srvDone:
		srvEnded = true
	case <-after.C:
	case <-ctx.Done():
	}
	if !srvEnded && ctx.Err() == nil {
		_, cliDone, err := start(Client, rc.Client)
		if err != nil {
			srv.Cancel()
			<-srvDone
			return res, err
		}
		res.ClientRan = true
		res.ClientErr = <-cliDone
	}
	if srvEnded {
		return res, nil
	}
	grace := time.NewTimer(rc.Grace)
	defer grace.Stop()
	select {
	case res.ServerErr = <-srvDone:
	case <-ctx.Done():
		res.ServerErr = <-srvDone // exec.CommandContext kills it
	case <-grace.C:
		res.Stopped = true
		srv.Process.Signal(syscall.SIGTERM)
		kill := time.NewTimer(rc.StopAfter)
		defer kill.Stop()
		select {
		case res.ServerErr = <-srvDone:
		case <-kill.C:
			srv.Cancel()
			res.ServerErr = <-srvDone
		}
	}
	return res, nil
}

// prefixed writes each line to w with the host's name before it.
func prefixed(w io.Writer, h Host) io.Writer {
	if w == nil {
		return io.Discard
	}
	return &prefixWriter{w: w, prefix: "[" + string(h) + "] "}
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
