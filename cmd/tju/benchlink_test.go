package main

import (
	"context"
	"strings"
	"testing"
	"time"
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
