package main

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-V"}} {
		r := runCmd(context.Background(), nil, args...)
		out := r.stdout.String()
		if r.code != 0 || !strings.HasPrefix(out, "tju ") || !strings.Contains(out, runtime.Version()) || strings.Count(out, "\n") != 1 {
			t.Errorf("tju %q: exit %d, stdout %q; want one line \"tju VERSION (%s ...)\"", args, r.code, out, runtime.Version())
		}
	}
}

// TestExitCodes holds the exit status convention: 2 for a usage error
// (bad flags, bad addresses, unknown commands), 1 for a failure, 130 when
// interrupted (the context ends, as Ctrl-C ends main's).
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nosuch"}, 2, `tju: unknown command "nosuch" (want bench,`},
		{[]string{"send", "--stats", "1", "h"}, 2, `tju send: --stats "1": want a duration like 1s`},
		{[]string{"send", "-p", "x", "h"}, 2, `tju send: --port "x": want a whole number`},
		{[]string{"send", "--timeout"}, 2, `tju send: --timeout needs a value (want a duration`},
		{[]string{"send", "-Z", "h"}, 2, `tju send: unknown flag -Z`},
		{[]string{"recv", "--listen", ":99999"}, 2, `tju recv: --listen ":99999": want a UDP port from 0 to 65535`},
		{[]string{"send", "h:99999"}, 2, `tju send: receiver address "h:99999"`},
		{[]string{"bench", "-c", "h:0"}, 2, `tju bench: server address "h:0"`},
		{[]string{"netem", "--to", "127.0.0.1:99999"}, 2, `tju netem: --to "127.0.0.1:99999"`},
		{[]string{"version", "extra"}, 2, `tju version: unexpected arguments`},
		{[]string{"labnet", "sideways"}, 2, `tju labnet: unknown command "sideways"`},
		{[]string{"plot", filepath.Join(dir, "missing.trace")}, 1, "no such file"},
	} {
		r := runCmd(context.Background(), nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr.String(), tc.want) {
			t.Errorf("tju %q: exit %d, want %d and %q in:\n%s", tc.args, r.code, tc.code, tc.want, r.stderr)
		}
		if tc.code == 2 && !strings.Contains(r.stderr.String(), "--help' for usage") {
			t.Errorf("tju %q: a usage error without the pointer to --help:\n%s", tc.args, r.stderr)
		}
	}

	// Interrupted while waiting for a sender: 130, as a shell reports Ctrl-C.
	ctx, cancel := context.WithCancel(context.Background())
	ready := filepath.Join(dir, "ready")
	done, _ := runAsync(ctx, "recv", "--listen", "127.0.0.1:0", "--ready-file", ready, "-o", filepath.Join(dir, "out"))
	waitReadyFile(t, ready, done)
	cancel()
	select {
	case r := <-done:
		if r.code != 130 || !strings.Contains(r.stderr.String(), "tju recv: interrupted") {
			t.Errorf("interrupted recv: exit %d, want 130:\n%s", r.code, r.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("recv did not end after its context did")
	}
}

// TestOneDashLongFlags keeps the command lines of earlier versions working:
// Go's flag package took -name for --name.
func TestOneDashLongFlags(t *testing.T) {
	r := runCmd(context.Background(), nil, "recv", "-listen", ":99999")
	if r.code != 2 || !strings.Contains(r.stderr.String(), `--listen ":99999"`) {
		t.Errorf("-listen was not read as --listen: exit %d\n%s", r.code, r.stderr)
	}
	r = runCmd(context.Background(), nil, "send", "-stats=1", "h")
	if r.code != 2 || !strings.Contains(r.stderr.String(), `--stats "1"`) {
		t.Errorf("-stats=1 was not read as --stats=1: exit %d\n%s", r.code, r.stderr)
	}
}

// TestHelpStyle checks every subcommand's --help: GNU flags with their
// short forms, placeholders that say what goes there, an example, and no
// default said twice.
func TestHelpStyle(t *testing.T) {
	for _, name := range []string{"send", "recv", "bench", "demo", "netem", "plot", "conform", "labnet", "version",
		"labnet up", "labnet exec", "labnet run", "labnet status", "labnet down"} {
		r := runCmd(context.Background(), nil, append(strings.Fields(name), "--help")...)
		out := r.stdout.String()
		if r.code != 0 {
			t.Errorf("%s --help: exit %d", name, r.code)
			continue
		}
		for _, w := range []string{"Usage:\n  tju " + name, "Examples:\n  ", "-h, --help"} {
			if !strings.Contains(out, w) {
				t.Errorf("%s --help lacks %q:\n%s", name, w, out)
			}
		}
		if name != "version" && name != "labnet" && !strings.Contains(strings.ToLower(out), "exit status") {
			t.Errorf("%s --help does not say its exit status:\n%s", name, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, " value ") || strings.Contains(line, " string ") {
				t.Errorf("%s --help: a placeholder that does not say what: %q", name, line)
			}
			if strings.Count(line, "(default") > 1 || strings.Contains(line, "(default: ") && strings.Contains(line, "(default ") {
				t.Errorf("%s --help: a default said twice: %q", name, line)
			}
		}
	}
	r := runCmd(context.Background(), nil, "send", "--help")
	for _, w := range []string{"-p, --port TJUPORT", "-C, --cc NAME", "-v, --verbose", "--stats INTERVAL", "-b, --bind ADDR"} {
		if !strings.Contains(r.stdout.String(), w) {
			t.Errorf("send --help lacks %q", w)
		}
	}
}

// TestBenchTakesIperf3Seconds: "-t 10" and "-i 0.5" are seconds, as iperf3
// reads them; Go durations work too.
func TestBenchTakesIperf3Seconds(t *testing.T) {
	cmd := newBenchCommand(&env{})
	for _, tc := range []struct {
		args     []string
		time, iv time.Duration
	}{
		{[]string{"-t", "10", "-i", "0.5"}, 10 * time.Second, 500 * time.Millisecond},
		{[]string{"--time=1m", "--interval", "250ms"}, time.Minute, 250 * time.Millisecond},
	} {
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if got, iv := cmd.Flags().Lookup("time").Value.String(), cmd.Flags().Lookup("interval").Value.String(); got != tc.time.String() || iv != tc.iv.String() {
			t.Errorf("%q: --time %s, --interval %s; want %v, %v", tc.args, got, iv, tc.time, tc.iv)
		}
	}
	r := runCmd(context.Background(), nil, "bench", "-c", "h", "-t", "soon")
	if r.code != 2 || !strings.Contains(r.stderr.String(), `--time "soon": want a duration like 10s or 500ms, or a number of seconds`) {
		t.Errorf("-t soon: exit %d\n%s", r.code, r.stderr)
	}
}
