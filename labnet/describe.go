package labnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/tjunet/tjunet/units"
)

// Name is how messages name lab id: the id, or "(default)" for "".
func Name(id string) string {
	if id == "" {
		return "(default)"
	}
	return id
}

// Describe writes what a lab of c is made of: each host's address and
// namespace, the path between them (veth, or the emulator between TUN
// devices, and tbf's rate), and each direction's impairments.
func (c Config) Describe(w io.Writer) {
	for _, h := range []Host{Server, Client} {
		fmt.Fprintf(w, "  %-6s %-10s namespace %s\n", h, h.Addr(), Namespace(c.ID, h))
	}
	path := "veth"
	if c.Emulated() {
		path = "the emulator, between a TUN device on each host"
	}
	if c.Rate > 0 {
		path += ", tbf " + units.FormatBitRate(float64(c.Rate)) + " each way"
	}
	fmt.Fprintf(w, "  path   %s\n", path)
	if c.Emulated() {
		fmt.Fprintf(w, "  emulator up (client -> server):   %s\n", c.Up)
		fmt.Fprintf(w, "  emulator down (server -> client): %s\n", c.Down)
	}
}

// ServeRelay is the body of the relay process StartRelay starts: it puts
// the emulator of the lab of cfg (already created) in the path, writes
// PIDFile, and keeps the emulator running until ctx ends; then it writes
// on w what each direction did.
func ServeRelay(ctx context.Context, cfg Config, w io.Writer) error {
	l := Open(cfg)
	if err := l.Emulate(); err != nil {
		return err
	}
	defer l.StopEmulator()
	if err := os.WriteFile(PIDFile(cfg.ID), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "tju labnet relay: pid %d, emulator in the path of lab %s\n", os.Getpid(), Name(cfg.ID))
	<-ctx.Done()
	up, down, _ := l.EmulatorStats()
	fmt.Fprintf(w, "tju labnet relay: stopped\n  up:   %v\n  down: %v\n", up, down)
	return nil
}

// Err says how the run failed, or nil: the client's error, and the
// server's unless it was stopped after the grace period (a server that
// serves until stopped is no failure).
func (r RunResult) Err() error {
	var errs []error
	if r.ClientErr != nil {
		errs = append(errs, fmt.Errorf("client: %w", r.ClientErr))
	}
	if r.ServerErr != nil && !r.Stopped {
		errs = append(errs, fmt.Errorf("server: %w", r.ServerErr))
	}
	return errors.Join(errs...)
}

// RunOnce builds a lab of cfg (with its emulator in the path if cfg has
// impairments), says on rc.Stderr what it is, runs rc in it as Lab.Run
// does, reports on rc.Stderr what the emulator did and whether the server
// had to be stopped, and removes the lab. Its error is for a lab that
// could not be built or removed, or programs that could not start; how
// they ended is in the result.
func RunOnce(ctx context.Context, cfg Config, rc RunConfig) (res RunResult, err error) {
	l, err := Create(cfg)
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if left := Leftovers(cfg.ID); len(left) > 0 && err == nil {
			err = fmt.Errorf("could not remove: %s", strings.Join(left, ", "))
		}
	}()
	if cfg.Emulated() {
		if err := l.Emulate(); err != nil {
			return res, err
		}
	}
	w := rc.Stderr
	if w == nil {
		w = io.Discard
	}
	fmt.Fprintf(w, "tju labnet: lab %s is up\n", Name(cfg.ID))
	cfg.Describe(w)
	if res, err = l.Run(ctx, rc); err != nil {
		return res, err
	}
	if up, down, ok := l.EmulatorStats(); ok {
		fmt.Fprintf(w, "tju labnet: emulator up (client -> server): %v\n", up)
		fmt.Fprintf(w, "tju labnet: emulator down (server -> client): %v\n", down)
	}
	if res.Stopped {
		fmt.Fprintf(w, "tju labnet: the server was still running %v after the client ended: stopped\n", rc.Grace)
	}
	return res, nil
}
