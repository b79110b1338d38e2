package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tjunet/tjunet/labnet"
	"github.com/tjunet/tjunet/units"
)

func init() { register(newLabnetCommand) }

// labnetOptions are the flags of the tju labnet commands.
type labnetOptions struct {
	id          string
	rate        units.Rate
	impair      impairmentOptions
	timeout     time.Duration
	grace       time.Duration
	clientAfter time.Duration
}

func newLabnetCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "labnet",
		Short: "the lab's two hosts, server and client, on this machine (network namespaces; root)",
		Long: `Builds the TJU lab's two hosts on this machine, as the lab has them, without
Docker: two network namespaces, "server" (172.17.0.3) and "client"
(172.17.0.2), joined by a veth pair. Each program runs with its host's
hostname (a UTS namespace of its own), since a lab program learns its role
from its hostname. Needs root and iproute2 (ip, tc).

Impairments (--loss, --delay, --jitter, --reorder, --dup, --corrupt, each
with -up for client to server and -down for server to client, as in "tju
netem") put the project's emulator in the path: each host routes the
other's address into a TUN device, and a relay process ("tju labnet
relay", started by up) copies the IP packets between the two devices
through the impairments. Programs still send straight to the other host's
address.`,
		Example: `  # The lab's link: 100 Mbit/s, 20 ms each way, 1% loss.
  sudo tju labnet up --rate 100mbit --delay 20ms --loss 1%
  sudo tju labnet exec server -- ./server
  sudo tju labnet exec client -- ./client
  sudo tju labnet down

  # tju against itself, in lab mode, through 10% loss and 300 ms of delay:
  sudo tju labnet run --delay 300ms --jitter 50ms --loss 10% -- \
      tju recv --lab -o /tmp/got.bin ::: tju send --lab 172.17.0.3 data.bin

  # Check a student's client with the lab's grader programs:
  sudo tju labnet up
  sudo tju labnet exec server -- tju conform client &
  for i in $(seq 11); do sudo tju labnet exec client -- ./client; done`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("missing the action (want up, exec, run, status or down)")
		},
	}
	sub := func(use, short, example string, link bool, run func(cmd *cobra.Command, o *labnetOptions, cfg labnet.Config, args []string) error) (*cobra.Command, *labnetOptions) {
		o := &labnetOptions{}
		c := &cobra.Command{
			Use: use, Short: short, Example: example,
			RunE: func(c *cobra.Command, args []string) error {
				cfg := labnet.Config{ID: o.id}
				if link {
					cfg.Rate = int64(o.rate)
					var err error
					if cfg.Up, cfg.Down, err = o.impair.configs(); err != nil {
						return err
					}
				}
				return run(c, o, cfg, args)
			},
		}
		fs := c.Flags()
		fs.StringVar(&o.id, "id", "", "the lab's `ID`, to run several labs at once (names tjunet-ID-server, tjunet-ID-client)")
		if link {
			fs.Var(&o.rate, "rate", "limit each direction to this `RATE` with tbf (100mbit)")
			// The rate is tbf's; netem's bottleneck is not offered.
			o.impair.addFlags(fs, "", " (through the emulator)", true, "rate", "queue")
		}
		cmd.AddCommand(c)
		return c, o
	}
	up, _ := sub("up [flags]", "build the two hosts: namespaces tjunet[-ID]-server and -client; --rate adds tbf, impairments the emulator",
		"  sudo tju labnet up --rate 100mbit --delay 20ms --loss 1%", true,
		func(c *cobra.Command, _ *labnetOptions, cfg labnet.Config, _ []string) error {
			return labnetUp(c.Context(), c.Flags(), cfg, e)
		})
	up.Args = noArgs
	up.Long = `Builds the two hosts: network namespaces tjunet[-ID]-server (172.17.0.3) and
tjunet[-ID]-client (172.17.0.2) joined by a veth pair; --rate adds tbf, the
impairments put the emulator ("tju labnet relay") in the path.

Exit status: 0 once the lab is up, 1 if it cannot be built (not root, no
ip or tc, say), 2 for a usage error.`
	exe, _ := sub("exec [flags] server|client -- COMMAND [ARGS...]", "run a command on a host; its output is the command's, its exit status 0 or 1",
		"  sudo tju labnet exec server -- ./server", false,
		func(c *cobra.Command, _ *labnetOptions, cfg labnet.Config, args []string) error {
			return labnetExec(c.Context(), cfg, args, e)
		})
	exe.Flags().SetInterspersed(false) // the command's own flags are its
	exe.Long = `Runs COMMAND on the server or the client host of a lab "tju labnet up"
built, with that host's hostname; its standard input, output and error are
this command's.

Exit status: 0 if COMMAND exited 0, 1 if it failed or could not start (or
there is no lab), 2 for a usage error, 130 when interrupted.`
	run, ro := sub("run [flags] -- SERVER-COMMAND [ARGS...] ::: CLIENT-COMMAND [ARGS...]",
		"all in one: up, the server, the client --client-after later, down (the server gets --grace after the client)",
		"  sudo tju labnet run --loss 10% -- tju recv --lab -o /tmp/got.bin ::: tju send --lab 172.17.0.3 data.bin", true,
		func(c *cobra.Command, o *labnetOptions, cfg labnet.Config, args []string) error {
			return labnetRun(c.Context(), o, cfg, args, e)
		})
	run.Flags().SetInterspersed(false)
	run.Long = `Builds a lab (as "tju labnet up", with the link flags), starts
SERVER-COMMAND on the server host and, --client-after later, CLIENT-COMMAND
on the client host; when the client ends, the server has --grace to end by
itself before it is stopped (a server stopped that way is not a failure).
The lab is removed afterwards, also after a failure.

Exit status: 0 if the client, and the server unless it had to be stopped,
exited 0; 1 otherwise, or after --timeout; 2 for a usage error; 130 when
interrupted.`
	run.Flags().DurationVar(&ro.timeout, "timeout", 10*time.Minute, "stop both programs after this `DURATION`")
	run.Flags().DurationVar(&ro.grace, "grace", 10*time.Second, "after the client ends, how long (a `DURATION`) the server has to end by itself")
	run.Flags().DurationVar(&ro.clientAfter, "client-after", time.Second, "start the client this long (a `DURATION`) after the server")
	st, _ := sub("status [flags]", "show what exists of the lab", "  tju labnet status", false,
		func(_ *cobra.Command, _ *labnetOptions, cfg labnet.Config, _ []string) error {
			return labnetStatus(cfg, e)
		})
	st.Args = noArgs
	st.Long = `Lists what exists of the lab: its namespaces, links, relay process and
state directory.

Exit status: 0, also when there is no lab; 2 for a usage error.`
	down, _ := sub("down [flags]", "stop what runs on the hosts and remove the lab (safe to run any time)",
		"  sudo tju labnet down", false,
		func(_ *cobra.Command, _ *labnetOptions, cfg labnet.Config, _ []string) error {
			if err := labnet.Remove(cfg.ID); err != nil {
				return err
			}
			if left := labnet.Leftovers(cfg.ID); len(left) > 0 {
				return fmt.Errorf("could not remove: %s", strings.Join(left, ", "))
			}
			fmt.Fprintf(e.stdout, "tju labnet: lab %s removed\n", labnet.Name(cfg.ID))
			return nil
		})
	down.Args = noArgs
	down.Long = `Stops what runs on the two hosts and removes the lab: namespaces, links,
the relay, its state directory. Safe to run any time, with or without a lab.

Exit status: 0 once nothing is left, 1 if something could not be removed
(it says what), 2 for a usage error.`
	relay, _ := sub("relay [flags]", "the emulator process that up starts", "", true,
		func(c *cobra.Command, _ *labnetOptions, cfg labnet.Config, _ []string) error {
			return labnetRelay(c.Context(), cfg)
		})
	relay.Hidden = true
	relay.Args = noArgs
	return cmd
}

func labnetUp(ctx context.Context, sub *pflag.FlagSet, cfg labnet.Config, e *env) error {
	l, err := labnet.Create(cfg)
	if err != nil {
		return err
	}
	if cfg.Emulated() {
		if err := startRelay(ctx, sub, cfg); err != nil {
			l.Close()
			return err
		}
	}
	fmt.Fprintf(e.stdout, "tju labnet: lab %s is up\n", labnet.Name(cfg.ID))
	cfg.Describe(e.stdout)
	if cfg.Emulated() {
		b, _ := os.ReadFile(labnet.PIDFile(cfg.ID))
		fmt.Fprintf(e.stdout, "  relay  pid %s, log %s\n", strings.TrimSpace(string(b)), labnet.LogFile(cfg.ID))
	}
	flagID := ""
	if cfg.ID != "" {
		flagID = " --id " + cfg.ID
	}
	fmt.Fprintf(e.stdout, "Run programs with \"tju labnet exec%s server -- CMD\" (or client); remove the lab with \"tju labnet down%s\".\n", flagID, flagID)
	return nil
}

// startRelay starts "tju labnet relay" in the background with the flags
// up was given, and waits until its emulator is in the path.
func startRelay(ctx context.Context, sub *pflag.FlagSet, cfg labnet.Config) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	argv := []string{self, "labnet", "relay"}
	sub.Visit(func(f *pflag.Flag) {
		v := f.Value.String()
		if f.Name == "rate" {
			v = strconv.FormatInt(cfg.Rate, 10) // exact, not as printed
		}
		argv = append(argv, "--"+f.Name+"="+v)
	})
	return labnet.StartRelay(ctx, cfg.ID, argv)
}

// labnetRelay is the relay process: the emulator in the lab's path until
// SIGTERM or SIGINT.
func labnetRelay(ctx context.Context, cfg labnet.Config) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	return labnet.ServeRelay(ctx, cfg, os.Stdout)
}

// splitHostCommand reads "server|client -- COMMAND ARGS..." (the "--" is
// optional).
func splitHostCommand(args []string) (labnet.Host, []string, error) {
	if len(args) == 0 {
		return "", nil, usagef("missing the host: server or client")
	}
	h, err := labnet.ParseHost(args[0])
	if err != nil {
		return "", nil, usageError{Err: err}
	}
	rest := args[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return "", nil, usagef("missing the command to run on %s", h)
	}
	return h, rest, nil
}

func labnetExec(ctx context.Context, cfg labnet.Config, args []string, e *env) error {
	h, argv, err := splitHostCommand(args)
	if err != nil {
		return err
	}
	if _, err := os.Stat("/run/netns/" + labnet.Namespace(cfg.ID, h)); err != nil {
		return fmt.Errorf("no lab %s here: run \"tju labnet up\" first", labnet.Name(cfg.ID))
	}
	cmd := labnet.Open(cfg).Command(ctx, h, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %s: %w", h, argv[0], err)
	}
	return nil
}

func labnetStatus(cfg labnet.Config, e *env) error {
	left := labnet.Leftovers(cfg.ID)
	if len(left) == 0 {
		fmt.Fprintf(e.stdout, "tju labnet: no lab %s\n", labnet.Name(cfg.ID))
		return nil
	}
	fmt.Fprintf(e.stdout, "tju labnet: lab %s\n", labnet.Name(cfg.ID))
	for _, s := range left {
		fmt.Fprintf(e.stdout, "  %s\n", s)
	}
	return nil
}

// splitRun splits "SERVER ARGS ::: CLIENT ARGS".
func splitRun(args []string) (server, client []string, err error) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	for i, a := range args {
		if a == ":::" {
			server, client = args[:i], args[i+1:]
			break
		}
	}
	if len(server) == 0 || len(client) == 0 {
		return nil, nil, usagef("want -- SERVER-COMMAND [ARGS] ::: CLIENT-COMMAND [ARGS]")
	}
	return server, client, nil
}

func labnetRun(ctx context.Context, o *labnetOptions, cfg labnet.Config, args []string, e *env) error {
	serverArgs, clientArgs, err := splitRun(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := labnet.RunOnce(ctx, cfg, labnet.RunConfig{Server: serverArgs, Client: clientArgs,
		ClientAfter: o.clientAfter, Grace: o.grace, Stdout: e.stdout, Stderr: e.stderr})
	var errs []error
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		errs = append(errs, fmt.Errorf("stopped after --timeout %v", o.timeout))
	case ctx.Err() != nil:
		errs = append(errs, ctx.Err())
	}
	if runErr := errors.Join(append(errs, res.Err())...); runErr != nil {
		return runErr
	}
	return err
}
