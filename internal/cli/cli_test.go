package cli

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// tree builds a root "prog" with a subcommand "run" (flags anywhere) and
// "say" (flags first), recording what each was given.
func tree(got *[]string) *cobra.Command {
	root := &cobra.Command{Use: "prog", Args: NoArgs, RunE: func(c *cobra.Command, _ []string) error { return c.Help() }}
	run := &cobra.Command{
		Use: "run",
		RunE: func(c *cobra.Command, args []string) error {
			d, _ := c.Flags().GetDuration("every")
			*got = append([]string{d.String()}, args...)
			switch {
			case slices.Contains(args, "fail"):
				return errors.New("it failed")
			case slices.Contains(args, "wait"):
				<-c.Context().Done()
				return c.Context().Err()
			}
			return nil
		},
	}
	run.Flags().Duration("every", time.Second, "every `INTERVAL`")
	run.Flags().BoolP("verbose", "v", false, "say more")
	say := &cobra.Command{
		Use: "say",
		RunE: func(c *cobra.Command, args []string) error {
			d, _ := c.Flags().GetDuration("every")
			*got = append([]string{d.String()}, args...)
			return nil
		},
	}
	say.Flags().Duration("every", time.Second, "every `INTERVAL`")
	say.Flags().BoolP("verbose", "v", false, "say more")
	FlagsFirst(say)
	root.AddCommand(run, say)
	Setup(root)
	return root
}

func execute(ctx context.Context, args ...string) (code int, stdout, stderr string, got []string) {
	root := tree(&got)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	code = Execute(ctx, root, args)
	return code, out.String(), errb.String(), got
}

func TestExecute(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		got    []string
		stderr string
	}{
		{[]string{"run", "a", "-every", "2s", "b"}, 0, []string{"2s", "a", "b"}, ""},
		{[]string{"run", "-every=3s", "-v", "x"}, 0, []string{"3s", "x"}, ""},
		{[]string{"run", "--", "-every", "5s"}, 0, []string{"1s", "-every", "5s"}, ""},
		{[]string{"say", "-every", "2s", "-v", "a", "-every", "--x", "-v"}, 0, []string{"2s", "a", "-every", "--x", "-v"}, ""},
		{[]string{"say", "-v", "--every", "4s", "msg", "--help"}, 0, []string{"4s", "msg", "--help"}, ""},
		{[]string{"run", "fail"}, 1, []string{"1s", "fail"}, "prog run: it failed\n"},
		{[]string{"run", "-every", "soon"}, 2, nil, "prog run: --every \"soon\": want a duration like 1s or 300ms\nRun 'prog run --help' for usage.\n"},
		{[]string{"run", "--every"}, 2, nil, "prog run: --every needs a value (want a duration like 1s or 300ms)\n"},
		{[]string{"run", "-x"}, 2, nil, "prog run: unknown flag -x\n"},
		{[]string{"run", "-vx"}, 2, nil, "prog run: unknown flag -x\n"},
		{[]string{"nosuch"}, 2, nil, `prog: unknown command "nosuch" (want completion, run, say, version)`},
		{[]string{"version", "x"}, 2, nil, `prog version: unexpected arguments ["x"] (want none)`},
	} {
		code, _, stderr, got := execute(context.Background(), tc.args...)
		if code != tc.code || !slices.Equal(got, tc.got) || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%q: exit %d, ran with %q, stderr %q; want exit %d, %q, %q", tc.args, code, got, stderr, tc.code, tc.got, tc.stderr)
		}
	}
}

func TestExecuteInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	if code, _, stderr, _ := execute(ctx, "run", "wait"); code != ExitInterrupted {
		t.Errorf("exit %d (%s), want %d", code, stderr, ExitInterrupted)
	}
}

func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-V"}} {
		code, out, _, _ := execute(context.Background(), args...)
		if code != 0 || out != Version("prog")+"\n" || !strings.HasPrefix(out, "prog ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%q: exit %d, %q", args, code, out)
		}
	}
	code, out, _, _ := execute(context.Background())
	for _, w := range []string{"prog: ", "\n  prog COMMAND [flags]", "Commands:\n", "  say ", "Run 'prog COMMAND --help'"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("bare prog: exit %d, help lacks %q:\n%s", code, w, out)
		}
	}
	if _, out, _, _ := execute(context.Background(), "run", "--help"); !strings.Contains(out, "--every INTERVAL") {
		t.Errorf("run --help:\n%s", out)
	}
}
