package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/perf/linkbench"
)

// TestBenchLinkUsage checks that tju bench link rejects bad flags as
// usage errors (exit 2), saying what it wants, before it needs root.
func TestBenchLinkUsage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--link", "e"}, `--link "e": unknown link "e" (want a, b, c, d or all)`},
		{[]string{"--cc", "tju,quic"}, `--cc "tju,quic": unknown transport "quic"`},
		{[]string{"--cc", "tju-vegas"}, `--cc "tju-vegas": unknown tju congestion control "vegas"`},
		{[]string{"--seeds", "0"}, "--seeds 0: want 1 to 1000 seeds"},
		{[]string{"--time", "0"}, "--time 0s: want a positive duration"},
		{[]string{"--time", "soon"}, "--time"},
		{[]string{"a"}, `unexpected arguments ["a"]`},
		{[]string{"--json", "--markdown"}, "--json and --markdown: want one output"},
	} {
		r := runCmd(ctx, nil, append([]string{"bench", "link"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr.String(), "tju bench link: "+tc.want) {
			t.Errorf("tju bench link %q: exit %d, stderr %q; want exit 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	r := runCmd(ctx, nil, "bench", "--help")
	if r.code != 0 || !strings.Contains(r.stdout.String(), "link") || !strings.Contains(r.stdout.String(), "tju bench link --help") {
		t.Errorf("tju bench --help does not mention the link bench:\n%s", r.stdout)
	}
}

// TestBenchLinkRuns runs one short run through the real emulator (root
// only): exit 0, the JSON on stdout and in the --save file, a line per run
// on stderr.
func TestBenchLinkRuns(t *testing.T) {
	if err := linkbench.Available(); err != nil {
		t.Skipf("skipping: tju bench link needs root, network namespaces and TUN devices: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	saved := filepath.Join(t.TempDir(), "bench.json")
	r := runCmd(ctx, nil, "bench", "link", "--link", "a", "--cc", "tju", "--time", "1s", "--json", "--save", saved)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	file, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range [][]byte{r.stdout.Bytes(), file} {
		var rep linkbench.Report
		if err := json.Unmarshal(doc, &rep); err != nil {
			t.Fatalf("the JSON does not parse: %v\n%s", err, doc)
		}
		if len(rep.Runs) != 1 || rep.Runs[0].Transport != "tju" || !rep.Runs[0].Verified || rep.Runs[0].Bytes <= 0 {
			t.Errorf("runs: %+v", rep.Runs)
		}
	}
	if !strings.HasPrefix(r.stderr.String(), "link a, tju, seed 1: ") {
		t.Errorf("stderr: %q, want a line about the run", r.stderr)
	}
}
