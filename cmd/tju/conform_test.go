package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/labpeer/labpeertest"
	"github.com/tjunet/tjunet/tju"
)

// conformArgs parses a conform command line as the command does.
func conformArgs(t *testing.T, args ...string) *conformConfig {
	t.Helper()
	o := &conformOptions{}
	cmd := conformCommand(o, &env{stdout: io.Discard, stderr: io.Discard})
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	o.sizeGiven = cmd.Flags().Changed("size")
	cfg, err := readConformFlags(o, cmd.Flags().Args())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestConformAgainstTjunet runs conform's suite, as the command line sets
// it up, with the transfer, against tjunet's own server (as tju recv
// --keep, writing what it reads to the file --compare names) and client
// (as tju send of a small file): all pass.
func TestConformAgainstTjunet(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.txt")
	if err := os.WriteFile(small, []byte("twenty bytes of data"), 0o644); err != nil {
		t.Fatal(err)
	}
	received := filepath.Join(dir, "received.bin")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"server", []string{"--transfer", "--size", "1MiB", "--compare", received, "--loss", "2%", "--delay", "20ms", "server"}},
		{"client", []string{"--transfer", "--file", small, "--loss", "2%", "--delay", "20ms", "client"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(received)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg := conformArgs(t, tc.args...)
			impl := labpeertest.Tjunet{Config: tju.Config{Lab: true, MSL: time.Second},
				Data: []byte("twenty bytes of data"), Out: &labpeertest.LockedWriter{W: f}}
			rep := labpeertest.Suite(t, cfg.suite, impl)
			var text bytes.Buffer
			rep.WriteText(&text, false)
			t.Logf("\n%s", text.String())
			if rep.Passed != rep.Total || !strings.Contains(text.String(), "all ") {
				t.Errorf("not every check passes")
			}
			if rep.Transfer == nil || rep.Transfer.Verified != "identical" {
				t.Errorf("transfer not verified: %+v", rep.Transfer)
			}
			if js, err := json.Marshal(rep); err != nil || !json.Valid(js) {
				t.Errorf("report does not encode as JSON: %v", err)
			}
		})
	}
}

// TestConformCheckSelectsExactly: --check runs the checks named and no
// other (it used to run every check after the first name too).
func TestConformCheckSelectsExactly(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--check", "sender", "server"}, []string{"sender"}},
		{[]string{"--check", "last-ack,close_client_for_server 1", "server"}, []string{"close_client_for_server 1", "last-ack"}},
		{[]string{"--check", "receiver", "--group", "grader", "client"}, []string{"receiver"}},
		{[]string{"--group", "grader", "client"}, []string{"receiver", "close_server 0", "close_server 1"}},
	} {
		var got []string
		for _, c := range conformArgs(t, tc.args...).suite.Checks {
			got = append(got, c.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("tju conform %q runs %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestConformSuggestsFlags: against the student's server (peer ISN 0,
// SYN-ACK window 1), the report names both habits beyond the graders,
// passes the graders as the binaries do, and suggests tju send's flags.
func TestConformSuggestsFlags(t *testing.T) {
	cfg := conformArgs(t, "server")
	rep := labpeertest.Suite(t, cfg.suite, &labpeertest.Skeleton{Habits: labpeertest.Student})
	var text bytes.Buffer
	rep.WriteText(&text, false)
	t.Logf("\n%s", text.String())
	if rep.GraderPassed != rep.GraderTotal {
		t.Errorf("graders %d/%d; the binaries pass this student", rep.GraderPassed, rep.GraderTotal)
	}
	for _, want := range []string{"you assume the peer's ISN is 0", "your SYN-ACK window is 1",
		"your FIN carries seq 0 instead of your next sequence number", "tju send --lab --isn 0 --lab-window"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the report does not say %q", want)
		}
	}
}

func TestConformUsage(t *testing.T) {
	for _, args := range [][]string{
		{"conform"},
		{"conform", "both"},
		{"conform", "--check", "nosuch", "client"},
		{"conform", "--check", "sender", "client"},
		{"conform", "--shape", "round", "client"},
		{"conform", "--size", "1MB", "client"},
		{"conform", "--file", "x", "server"},
		{"conform", "--check", "none", "client"},
		{"conform", "--group", "nosuch", "client"},
	} {
		r := runCmd(context.Background(), nil, args...)
		if r.code != 2 {
			t.Errorf("tju %q: exit %d, want 2; stderr %s", args, r.code, r.stderr)
		}
	}
	r := runCmd(context.Background(), nil, "conform", "--list", "server")
	if r.code != 0 || !strings.Contains(r.stdout.String(), "close_client_for_server 0") || strings.Contains(r.stdout.String(), "close_server 0") {
		t.Errorf("--list server: exit %d\n%s", r.code, r.stdout)
	}
	_ = labpeer.Client
}
