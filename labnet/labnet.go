// Package labnet builds the TJU lab's two hosts on one Linux machine: two
// network namespaces, "server" (172.17.0.3) and "client" (172.17.0.2),
// joined by a veth pair, and runs programs in them, each with its own
// hostname (a UTS namespace), since a lab program learns its role from its
// hostname. No Docker is needed, only root and iproute2 ("ip", "tc").
//
// The path between the hosts can be impaired: a rate limit with tc's tbf,
// and loss, delay, jitter, reordering, duplication and corruption from the
// project's netem emulator. The emulator sits transparently in the path:
// each host routes the other's address into a TUN device, and the
// emulator, in the process that built the lab (or in "tju labnet relay"),
// copies the IP packets between the two TUN devices through a netem link.
// Lab programs keep sending straight to the other host's address.
//
// Everything labnet creates is named after the lab's ID with the prefix
// "tjunet-" (namespaces tjunet-server and tjunet-client by default,
// tjunet-ID-server and tjunet-ID-client with an ID), so that Remove can
// find it again, from any process, and Leftovers can prove it is gone.
package labnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tjunet/tjunet/netem"
)

// Host is one of the lab's two hosts.
type Host string

// The lab's hosts.
const (
	Server Host = "server"
	Client Host = "client"
)

// Addr returns the host's IPv4 address in the lab.
func (h Host) Addr() netip.Addr {
	if h == Server {
		return netip.MustParseAddr("172.17.0.3")
	}
	return netip.MustParseAddr("172.17.0.2")
}

// Other returns the other host.
func (h Host) Other() Host {
	if h == Server {
		return Client
	}
	return Server
}

// ParseHost reads "server" or "client".
func ParseHost(s string) (Host, error) {
	switch Host(s) {
	case Server, Client:
		return Host(s), nil
	}
	return "", fmt.Errorf("labnet: unknown host %q: want server or client", s)
}

// Device names inside each namespace.
const (
	vethName = "tjunet-veth"
	tunName  = "tjunet-tun"
)

// Config describes a lab network.
type Config struct {
	// ID tells labs apart (letters, digits, '-', at most 12 characters);
	// "" is the default lab.
	ID string
	// Rate limits each direction of the path to Rate bits per second with
	// tc's tbf (0: no limit).
	Rate int64
	// Up (client to server) and Down (server to client) are the netem
	// impairments of the path. When either impairs anything, the path
	// goes through the emulator (see Emulate).
	Up, Down netem.Config
}

// Emulated reports whether the path needs the emulator.
func (c Config) Emulated() bool {
	up, down := c.Up, c.Down
	up.Seed, down.Seed = 0, 0
	return up != (netem.Config{}) || down != (netem.Config{})
}

var idRE = regexp.MustCompile(`^[a-zA-Z0-9-]{0,12}$`)

// Namespace returns the name of a host's network namespace in lab id.
func Namespace(id string, h Host) string {
	if id == "" {
		return "tjunet-" + string(h)
	}
	return "tjunet-" + id + "-" + string(h)
}

// stateDir holds the lab's relay pid file and log.
func stateDir(id string) string {
	name := "tjunet-lab"
	if id != "" {
		name = "tjunet-" + id
	}
	return filepath.Join("/run", name)
}

// PIDFile is where the relay process of lab id writes its pid.
func PIDFile(id string) string { return filepath.Join(stateDir(id), "relay.pid") }

// LogFile is where the relay process of lab id writes its log.
func LogFile(id string) string { return filepath.Join(stateDir(id), "relay.log") }

// Available reports why labnet cannot work here, or nil: it needs Linux,
// root, network namespaces and iproute2.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("labnet: needs root (network namespaces)")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("labnet: %s not found: install iproute2", tool)
		}
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return errors.New("labnet: no network namespaces in this kernel")
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		return fmt.Errorf("labnet: ip netns does not work here: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// EmulatorAvailable reports why the emulator cannot be put in the path
// here (it needs /dev/net/tun), or nil.
func EmulatorAvailable() error {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("labnet: the emulator needs TUN devices: %w", err)
	}
	f.Close()
	return nil
}

// Lab is a lab network: the two hosts and, when this process started it,
// the emulator in the path.
type Lab struct {
	cfg Config
	em  *emulator
}

// Create builds the lab described by cfg: the two namespaces with
// loopback up, the veth pair with the lab's addresses, and tbf when
// cfg.Rate is set. It does not start the emulator (see Emulate). If a lab
// with the same ID exists, Create fails; if anything fails midway, what
// was built is removed.
func Create(cfg Config) (*Lab, error) {
	if !idRE.MatchString(cfg.ID) {
		return nil, fmt.Errorf("labnet: bad ID %q: want up to 12 letters, digits or '-'", cfg.ID)
	}
	if err := Available(); err != nil {
		return nil, err
	}
	for _, h := range []Host{Server, Client} {
		if exists(cfg.ID, h) {
			return nil, fmt.Errorf("labnet: namespace %s exists: run \"tju labnet down\" first", Namespace(cfg.ID, h))
		}
	}
	l := &Lab{cfg: cfg}
	if err := l.build(); err != nil {
		Remove(cfg.ID)
		return nil, err
	}
	return l, nil
}

// Open returns the lab cfg.ID, built by Create in this or another
// process, for Command, Emulate (with cfg's impairments) and Close.
func Open(cfg Config) *Lab { return &Lab{cfg: cfg} }

// ID returns the lab's ID.
func (l *Lab) ID() string { return l.cfg.ID }

func (l *Lab) build() error {
	s, c := Namespace(l.cfg.ID, Server), Namespace(l.cfg.ID, Client)
	steps := [][]string{
		{"netns", "add", s},
		{"netns", "add", c},
		{"link", "add", vethName, "netns", s, "type", "veth", "peer", "name", vethName, "netns", c},
	}
	for _, h := range []Host{Server, Client} {
		ns := Namespace(l.cfg.ID, h)
		steps = append(steps,
			[]string{"-n", ns, "addr", "add", h.Addr().String() + "/24", "dev", vethName},
			[]string{"-n", ns, "link", "set", "lo", "up"},
			[]string{"-n", ns, "link", "set", vethName, "up"})
	}
	for _, args := range steps {
		if err := ip(args...); err != nil {
			return err
		}
	}
	if l.cfg.Rate > 0 {
		for _, h := range []Host{Server, Client} {
			if err := tbf(Namespace(l.cfg.ID, h), vethName, l.cfg.Rate); err != nil {
				return err
			}
		}
	}
	return nil
}

// tbf limits dev's egress in namespace ns to rate bits per second, with a
// bucket of at least 10 ms of traffic and a queue of 50 ms.
func tbf(ns, dev string, rate int64) error {
	burst := max(rate/8/100, 4*1500)
	return run("tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf",
		"rate", strconv.FormatInt(rate, 10)+"bit", "burst", strconv.FormatInt(burst, 10), "latency", "50ms")
}

// Command returns a command that runs name with args on host h: in its
// network namespace, in a UTS namespace of its own whose hostname is the
// host's name ("server" or "client"), in its own process group.
// Cancelling ctx sends SIGTERM to the whole group, and SIGKILL to the
// command 5 s later if it is still there.
func (l *Lab) Command(ctx context.Context, h Host, name string, args ...string) *exec.Cmd {
	// ip netns exec enters the network namespace; the shell, already in
	// the new UTS namespace, names the host and becomes the command.
	script := `echo "$0" > /proc/sys/kernel/hostname && exec "$@"`
	argv := append([]string{"netns", "exec", Namespace(l.cfg.ID, h), "sh", "-c", script, string(h), name}, args...)
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.SysProcAttr = hostAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Close stops the emulator this process runs, if any, and removes the lab.
func (l *Lab) Close() error {
	l.StopEmulator()
	return Remove(l.cfg.ID)
}

// Remove removes everything of lab id that exists: it stops the relay
// process, ends the processes still running in the lab's namespaces (all
// started by labnet, by their pids) and deletes the namespaces, which
// takes their devices with them. It can be called any number of times, from
// any process.
func Remove(id string) error {
	var errs []error
	if err := stopRelay(id); err != nil {
		errs = append(errs, err)
	}
	for _, h := range []Host{Server, Client} {
		ns := Namespace(id, h)
		st, err := os.Stat(filepath.Join("/run/netns", ns))
		if err != nil {
			continue
		}
		killIn(st)
		if err := ip("netns", "del", ns); err != nil && nsExists(ns) {
			errs = append(errs, err)
		}
		// A program that was entering the namespace meanwhile still holds
		// it: find it by the namespace's identity, now that it has no name.
		killIn(st)
	}
	if err := os.RemoveAll(stateDir(id)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killIn ends the processes whose network namespace is ns (the file
// info of its /run/netns entry): SIGTERM, then SIGKILL for those still
// there after two seconds.
func killIn(ns os.FileInfo) {
	pids := func() []int {
		var ps []int
		links, _ := filepath.Glob("/proc/[0-9]*/ns/net")
		for _, l := range links {
			st, err := os.Stat(l)
			if err != nil || !os.SameFile(st, ns) {
				continue
			}
			p, err := strconv.Atoi(strings.Split(l, "/")[2])
			if err == nil && p != os.Getpid() {
				ps = append(ps, p)
			}
		}
		return ps
	}
	ps := pids()
	for _, p := range ps {
		syscall.Kill(p, syscall.SIGTERM)
	}
	for i := 0; i < 40 && len(ps) > 0; i++ {
		time.Sleep(50 * time.Millisecond)
		ps = pids()
	}
	for _, p := range ps {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// stopRelay stops the relay process of lab id, if its pid file names a
// live "labnet relay" process.
func stopRelay(id string) error {
	b, err := os.ReadFile(PIDFile(id))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !isRelay(pid) {
		return nil
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for range 100 {
		if !isRelay(pid) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	return nil
}

// isRelay reports whether pid is a running "labnet relay" process.
func isRelay(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// A zombie (state Z) is gone for our purpose.
		if i := bytes.LastIndexByte(st, ')'); i >= 0 && i+2 < len(st) && st[i+2] == 'Z' {
			return false
		}
	}
	return bytes.Contains(b, []byte("labnet\x00relay"))
}

// Leftovers lists what remains of lab id: namespaces, links in the root
// namespace named after it, a live relay process, its state directory.
// It is empty once Remove has run.
func Leftovers(id string) []string {
	var left []string
	for _, h := range []Host{Server, Client} {
		if ns := Namespace(id, h); nsExists(ns) {
			left = append(left, "namespace "+ns)
		}
	}
	prefix := "tjunet-"
	if id != "" {
		prefix = "tjunet-" + id + "-"
	}
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 {
				name := strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":")
				if strings.HasPrefix(name, prefix) || name == vethName || name == tunName {
					left = append(left, "link "+name)
				}
			}
		}
	}
	if b, err := os.ReadFile(PIDFile(id)); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && isRelay(pid) {
			left = append(left, fmt.Sprintf("relay process %d", pid))
		}
	}
	if _, err := os.Stat(stateDir(id)); err == nil {
		left = append(left, "directory "+stateDir(id))
	}
	return left
}

func exists(id string, h Host) bool { return nsExists(Namespace(id, h)) }

func nsExists(ns string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", ns))
	return err == nil
}

func ip(args ...string) error { return run("ip", args...) }

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("labnet: %s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
