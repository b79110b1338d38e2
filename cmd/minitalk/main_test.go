package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/internal/cli"
)

// runArgs runs the program with args (args[0] its name) and returns its
// exit code, stdout and stderr.
func runArgs(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

func TestRunChoosesTheCommandByNameOrSubcommand(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // in stdout
		stderr string // in stderr
	}{
		{"no subcommand prints the help", []string{"minitalk"}, 0, "Commands:\n  client", ""},
		{"help", []string{"minitalk", "help"}, 0, "minitalk client", ""},
		{"unknown subcommand", []string{"minitalk", "talk"}, 2, "", `minitalk: unknown command "talk" (want client, completion, demo, server, version)`},
		{"client named client without arguments", []string{"./client"}, 2, "", "client: want SERVER_PID MESSAGE (got 0 arguments)\nRun 'client --help' for usage."},
		{"client subcommand with a bad PID", []string{"minitalk", "client", "12x", "hi"}, 2, "", `minitalk client: bad server PID "12x": want a positive number`},
		{"client help", []string{"/usr/bin/client", "-h"}, 0, "--timeout DURATION", ""},
		{"client help names ./client", []string{"client", "--help"}, 0, "Usage:\n  client [flags] SERVER_PID MESSAGE", ""},
		{"client: a flag after the PID is the message", []string{"client", "0", "--help"}, 2, "", "bad server PID"},
		{"client: one-dash long flag", []string{"client", "-timeout", "x", "1", "hi"}, 2, "", `client: --timeout "x": want a duration like 1s or 300ms`},
		{"client: unknown flag", []string{"client", "-x", "1", "hi"}, 2, "", "client: unknown flag -x"},
		{"server named server with an argument", []string{"server", "extra"}, 2, "", `server: unexpected arguments ["extra"] (want none)`},
		{"server help", []string{"minitalk", "server", "-h"}, 0, "--drop DURATION", ""},
		{"server: one-dash long flag", []string{"server_bonus", "-first=soon"}, 2, "", `server_bonus: --first "soon": want a duration`},
		{"demo with an argument", []string{"minitalk", "demo", "x"}, 2, "", "minitalk demo: unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d with %q on stdout and %q on stderr", tt.args, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"minitalk", "version"}, {"minitalk", "--version"}, {"./server", "--version"}, {"client", "-V"}} {
		code, out, _ := runArgs(args...)
		if code != 0 || !strings.HasPrefix(out, "minitalk ") || !strings.Contains(out, runtime.Version()) || strings.Count(out, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q; want one line \"minitalk VERSION (%s ...)\"", args, code, out, runtime.Version())
		}
	}
}

// TestHelpStyle checks every command's --help: flags with placeholders
// that say what goes there, the exit status, and an example.
func TestHelpStyle(t *testing.T) {
	for _, args := range [][]string{{"server"}, {"client"}, {"server_bonus"}, {"client_bonus"},
		{"minitalk", "server"}, {"minitalk", "client"}, {"minitalk", "demo"}, {"minitalk", "version"}, {"minitalk"}} {
		code, out, _ := runArgs(append(args, "--help")...)
		if code != 0 {
			t.Errorf("%q --help: exit %d", args, code)
			continue
		}
		for _, w := range []string{"Usage:\n  ", "Examples:\n  ", "-h, --help"} {
			if !strings.Contains(out, w) {
				t.Errorf("%q --help lacks %q:\n%s", args, w, out)
			}
		}
		if runs := args[len(args)-1]; runs != "minitalk" && runs != "version" && !strings.Contains(out, "Exit status: 0 ") {
			t.Errorf("%q --help does not say its exit status:\n%s", args, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, " value ") || strings.Contains(line, " string ") || strings.Contains(line, " duration ") {
				t.Errorf("%q --help: a placeholder that does not say what: %q", args, line)
			}
		}
	}
	// The examples name the program as it was run.
	if _, out, _ := runArgs("client", "--help"); !strings.Contains(out, "\n  ./server > out.txt &\n") || !strings.Contains(out, "  ./client \"$(head -n1 out.txt)\"") {
		t.Errorf("./client's example does not use ./server and ./client:\n%s", out)
	}
	if _, out, _ := runArgs("minitalk", "client", "--help"); !strings.Contains(out, "\n  minitalk server > out.txt &\n") {
		t.Errorf("minitalk client's example does not use minitalk server:\n%s", out)
	}
}

// The programs under the names server and client have no subcommands: a
// "version" or "completion" there is an argument like any other.
func TestServerAndClientHaveNoSubcommands(t *testing.T) {
	for _, c := range []*cobra.Command{newServerCommand(&env{}, "server", "./server"), newClientCommand(&env{}, "client", "./client")} {
		cli.Setup(c)
		if c.HasSubCommands() {
			t.Errorf("%s has subcommands %v", c.Name(), c.Commands())
		}
	}
}
