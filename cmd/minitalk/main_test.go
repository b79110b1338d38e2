package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunChoosesTheCommandByNameOrSubcommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		out  string // in stdout or stderr
	}{
		{"no subcommand", []string{"minitalk"}, 2, "usage:"},
		{"help", []string{"minitalk", "help"}, 0, "minitalk client"},
		{"unknown subcommand", []string{"minitalk", "talk"}, 2, `unknown command "talk"`},
		{"client named client without arguments", []string{"./client"}, 2, "usage: client"},
		{"client subcommand with a bad PID", []string{"minitalk", "client", "12x", "hi"}, 2, "bad server PID"},
		{"client help", []string{"/usr/bin/client", "-h"}, 0, "-timeout"},
		{"server named server with an argument", []string{"server", "extra"}, 2, "usage: server"},
		{"server help", []string{"minitalk", "server", "-h"}, 0, "-drop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(tt.args, strings.NewReader(""), &out, &out)
			if code != tt.code || !strings.Contains(out.String(), tt.out) {
				t.Errorf("exit %d, output %q; want exit %d with %q", code, out.String(), tt.code, tt.out)
			}
		})
	}
}
