package labnet

import (
	"errors"
	"strings"
	"testing"

	"github.com/tjunet/tjunet/netem"
)

func TestDescribe(t *testing.T) {
	var b strings.Builder
	Config{ID: "x", Rate: 100e6, Up: netem.Config{Loss: 0.01}}.Describe(&b)
	for _, w := range []string{"server", "172.17.0.3", "namespace tjunet-x-server", "the emulator", "tbf 100 Mbit/s each way", "emulator up (client -> server)"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("the description lacks %q:\n%s", w, b.String())
		}
	}
	b.Reset()
	Config{}.Describe(&b)
	if !strings.Contains(b.String(), "path   veth\n") || strings.Contains(b.String(), "emulator") {
		t.Errorf("a lab without impairments is veth only:\n%s", b.String())
	}
	if Name("") != "(default)" || Name("a") != "a" {
		t.Errorf("Name: %q, %q", Name(""), Name("a"))
	}
}

func TestRunResultErr(t *testing.T) {
	boom := errors.New("exit status 1")
	for _, tc := range []struct {
		r    RunResult
		want string
	}{
		{RunResult{ClientRan: true}, ""},
		{RunResult{ClientErr: boom}, "client: exit status 1"},
		{RunResult{ServerErr: boom}, "server: exit status 1"},
		{RunResult{ServerErr: boom, Stopped: true}, ""},
		{RunResult{ClientErr: boom, ServerErr: boom}, "client: exit status 1\nserver: exit status 1"},
	} {
		got := ""
		if err := tc.r.Err(); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}
