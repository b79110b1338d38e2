package labnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/tjunet/tjunet/netem"
)

// hostAttr puts a host's command in a UTS namespace of its own (its
// hostname) and in its own process group.
func hostAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS, Setpgid: true}
}

// tunQueueLen is the TUN devices' queue, in packets.
const tunQueueLen = 4096

// Addresses of the emulator's two ends inside its in-memory network.
var (
	emClient = netip.MustParseAddrPort("10.255.0.2:1")
	emServer = netip.MustParseAddrPort("10.255.0.3:1")
)

// emulator copies IP packets between the hosts' TUN devices through a
// netem link: the client's packets through the Up impairments, the
// server's through Down.
type emulator struct {
	tun    map[Host]*os.File
	conn   map[Host]*netem.PacketConn // the emulator's end on each host's side
	wg     sync.WaitGroup
	closed sync.Once
}

// Emulate puts this process's emulator in the path: a TUN device in each
// host, the other host's address routed into it (so the veth is no longer
// used between them), tbf at the lab's Rate on it, and goroutines copying
// the packets between the two devices through the lab's Up and Down
// impairments until Close. The packets are not modified (except by
// deliberate corruption). The devices and their routes go away with this
// process, or when Close stops the emulator.
func (l *Lab) Emulate() error {
	if l.em != nil {
		return errors.New("labnet: the emulator already runs")
	}
	e := &emulator{tun: map[Host]*os.File{}, conn: map[Host]*netem.PacketConn{}}
	n := netem.NewNetwork()
	n.SetTimers(netem.PreciseAfterFunc)
	var err error
	if e.conn[Client], err = n.Attach(emClient, l.cfg.Up); err != nil {
		return err
	}
	if e.conn[Server], err = n.Attach(emServer, l.cfg.Down); err != nil {
		e.close()
		return err
	}
	for _, h := range []Host{Server, Client} {
		ns := Namespace(l.cfg.ID, h)
		f, err := openTUN(ns)
		if err != nil {
			e.close()
			return err
		}
		e.tun[h] = f
		// A long device queue (the TUN device's ring; the default is 500
		// packets) rides out the moments a busy machine does not run the
		// emulator, instead of dropping what no link setting asked for.
		if err := ip("-n", ns, "link", "set", tunName, "txqueuelen", strconv.Itoa(tunQueueLen), "up"); err != nil {
			e.close()
			return err
		}
		if err := ip("-n", ns, "route", "replace", h.Other().Addr().String()+"/32", "dev", tunName, "src", h.Addr().String()); err != nil {
			e.close()
			return err
		}
		if l.cfg.Rate > 0 {
			if err := tbf(ns, tunName, l.cfg.Rate); err != nil {
				e.close()
				return err
			}
		}
	}
	peerOf := map[Host]netip.AddrPort{Client: emServer, Server: emClient}
	for _, h := range []Host{Server, Client} {
		e.wg.Add(2)
		go e.pump(e.tun[h], e.conn[h], peerOf[h])
		go e.deliver(e.conn[h], e.tun[h])
	}
	l.em = e
	return nil
}

// StopEmulator stops the emulator this process runs for the lab, if any;
// the TUN devices and their routes go with it, and the hosts talk over the
// veth again.
func (l *Lab) StopEmulator() {
	if l.em != nil {
		l.em.close()
		l.em = nil
	}
}

// EmulatorStats returns what the emulator did to each direction: up is
// client to server, down server to client. ok is false when this process
// runs no emulator for the lab.
func (l *Lab) EmulatorStats() (up, down netem.Stats, ok bool) {
	if l.em == nil {
		return up, down, false
	}
	return l.em.conn[Client].Stats(), l.em.conn[Server].Stats(), true
}

// pump sends the packets a host writes into its TUN device through that
// side's impairments.
func (e *emulator) pump(tun *os.File, out *netem.PacketConn, to netip.AddrPort) {
	defer e.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, err := tun.Read(buf)
		if err != nil {
			return
		}
		out.WriteToUDPAddrPort(buf[:n], to)
	}
}

// deliver writes the packets that crossed the link into the other host's
// TUN device.
func (e *emulator) deliver(in *netem.PacketConn, tun *os.File) {
	defer e.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, _, err := in.ReadFrom(buf)
		if err != nil {
			return
		}
		tun.Write(buf[:n])
	}
}

func (e *emulator) close() {
	e.closed.Do(func() {
		for _, f := range e.tun {
			f.Close()
		}
		for _, c := range e.conn {
			c.Close()
		}
		e.wg.Wait()
	})
}

// openTUN creates the TUN device tunName in namespace ns and returns it,
// non-blocking (served by Go's poller). The device lives as long as the
// file is open.
func openTUN(ns string) (*os.File, error) {
	var f *os.File
	err := inNamespace(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("TUN device in %s: %w", ns, err)
		}
		ifr, err := unix.NewIfreq(tunName)
		if err == nil {
			ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
			err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
		}
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("TUN device in %s: %w", ns, err)
		}
		f = os.NewFile(uintptr(fd), tunName)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("labnet: %w", err)
	}
	return f, nil
}

// DeviceDrops returns how many packets host h dropped on their way into
// the emulator: those its TUN device's queue discarded (the device's
// tx_dropped) plus those its qdisc did. They are losses the emulator does
// not count; a busy machine whose emulator falls behind makes them.
func (l *Lab) DeviceDrops(h Host) (uint64, error) {
	ns := Namespace(l.cfg.ID, h)
	var dev []struct {
		Stats struct {
			TX struct {
				Dropped uint64 `json:"dropped"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	var qdiscs []struct {
		Drops uint64 `json:"drops"`
	}
	for _, q := range []struct {
		args []string
		v    any
	}{
		{[]string{"ip", "-n", ns, "-s", "-j", "link", "show", "dev", tunName}, &dev},
		{[]string{"tc", "-n", ns, "-s", "-j", "qdisc", "show", "dev", tunName}, &qdiscs},
	} {
		out, err := exec.Command(q.args[0], q.args[1:]...).Output()
		if err != nil {
			return 0, fmt.Errorf("labnet: %s: %v", strings.Join(q.args, " "), err)
		}
		if err := json.Unmarshal(out, q.v); err != nil {
			return 0, fmt.Errorf("labnet: %s: %v", strings.Join(q.args, " "), err)
		}
	}
	var n uint64
	for _, d := range dev {
		n += d.Stats.TX.Dropped
	}
	for _, q := range qdiscs {
		n += q.Drops
	}
	return n, nil
}
