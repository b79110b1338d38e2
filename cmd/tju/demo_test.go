package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/trace"
	"github.com/tjunet/tjunet/trace/traceio"
)

func TestDemoWritesTracesAndCharts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// SVG only: drawing PNGs under the race detector takes seconds.
	r := runCmd(ctx, nil, "demo", "-o", dir, "--size", "384KiB", "--delay", "5ms", "--loss", "1%", "--seed", "3", "--format", "svg")
	if r.code != 0 {
		t.Fatalf("demo exited with %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout.String()
	for _, w := range []string{"100 Mbit/s, 5ms each way", "1% loss", "goodput", "MB/s", "% of the link's 100 Mbit/s",
		"intact: 393216 bytes", "retransmissions", "timeout", "smoothed", "client.event.trace", "server.event.trace"} {
		if !strings.Contains(out, w) {
			t.Errorf("the summary lacks %q:\n%s", w, out)
		}
	}
	for _, role := range []string{trace.RoleClient, trace.RoleServer} {
		events, bad, err := traceio.ReadFile(filepath.Join(dir, trace.FileName(role)))
		if err != nil || len(bad) > 0 || len(events) == 0 {
			t.Errorf("%s trace: %d events, %d bad lines, %v", role, len(events), len(bad), err)
		}
	}
	for _, f := range []string{"client-cwnd.svg", "client-rtt.svg", "client-sequence.svg", "client-windows.svg",
		"server-throughput.svg", "server-rwnd.svg"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("chart %s missing or empty: %v", f, err)
		}
	}
	if r.stderr.String() != "" {
		t.Errorf("stderr is not a terminal, yet the demo wrote on it:\n%s", r.stderr)
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "fast"}, `tju demo: --rate "fast": want`},
		{[]string{"--size", "big"}, `tju demo: --size "big": want`},
		{[]string{"--loss", "150%"}, `tju demo: --loss "150%": want`},
		{[]string{"--delay", "20"}, `tju demo: --delay "20": want a duration like 1s`},
		{[]string{"--loss", "60%"}, "nothing useful gets through"},
		{[]string{"--burst", "3", "--loss", "0"}, "give a loss rate too"},
		{[]string{"--format", "gif"}, `unknown format "gif"`},
		{[]string{"--burst", "0.5", "--loss", "1%"}, "mean burst length"},
		{[]string{"--cc", "bbr2"}, `--cc "bbr2"`},
		{[]string{"--size", "0"}, "--size 0: want at least 1 byte"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		r := runCmd(context.Background(), nil, append([]string{"demo"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr.String(), tc.want) {
			t.Errorf("tju demo %q: exit %d, want 2 and %q in:\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
}

// TestBareTjuPrintsHelp runs tju with no arguments: it prints the help,
// with every subcommand, exits 0, and runs nothing (no demo, no files).
func TestBareTjuPrintsHelp(t *testing.T) {
	t.Chdir(t.TempDir())
	r := runCmd(context.Background(), nil)
	if r.code != 0 {
		t.Fatalf("tju: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout.String()
	for _, w := range []string{"Usage:", "Commands:", "demo ", "send ", "recv ", "bench ", "netem ", "plot ", "version ", "--version", "Examples:"} {
		if !strings.Contains(out, w) {
			t.Errorf("tju's help lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "TJU TCP demo: sending") || r.stderr.String() != "" {
		t.Errorf("bare tju ran something:\nstdout:\n%s\nstderr:\n%s", out, r.stderr)
	}
	if left, _ := os.ReadDir("."); len(left) > 0 {
		t.Errorf("bare tju wrote into the current directory: %v", left)
	}
}

func TestHelpOfDemo(t *testing.T) {
	for _, args := range [][]string{{"help", "demo"}, {"demo", "--help"}, {"demo", "-h"}} {
		r := runCmd(context.Background(), nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout.String(), "Examples:") || !strings.Contains(r.stdout.String(), "--burst LENGTH") {
			t.Fatalf("tju %q: exit %d:\n%s", args, r.code, r.stdout)
		}
	}
}
