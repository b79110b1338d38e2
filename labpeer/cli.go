package labpeer

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
)

// ResolvePeer reads HOST[:PORT], the address of an implementation under
// test (the lab's UDP port 20218 if PORT is absent).
func ResolvePeer(s string) (netip.AddrPort, error) {
	if _, _, err := net.SplitHostPort(s); err != nil {
		s = net.JoinHostPort(s, fmt.Sprint(LabUDPPort))
	}
	ua, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// Opener returns the open function of Suite.Run for a socket at addr
// (UDP HOST:PORT, port 0 for any): the transfer, which opens it again,
// gets the port the first call was given.
func Opener(addr string) func() (net.PacketConn, error) {
	return func() (net.PacketConn, error) {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("cannot open %s: %w", addr, err)
		}
		addr = pc.LocalAddr().String()
		return pc, nil
	}
}

// SeededData returns a Suite.Data of size bytes of fixed pseudo-random
// data (ChaCha8 with a fixed key), the same at every call: what the
// transfer check sends when no file is given.
func SeededData(size int64) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		return io.NopCloser(io.LimitReader(rand.NewChaCha8(transferSeed), size)), nil
	}
}

// transferSeed seeds SeededData.
var transferSeed = [32]byte{'t', 'j', 'u', 'n', 'e', 't'}

// WriteList writes each check's name, group, what it tests, what the
// implementation's application must do, and its steps.
func WriteList(w io.Writer, checks []Check) {
	for _, c := range checks {
		fmt.Fprintf(w, "%-26s %-10s %s\n    app: %s\n", c.Name, c.Group, c.Tests, c.App)
		for _, l := range strings.SplitAfter(c.Describe(), "\n") {
			if l != "" {
				fmt.Fprint(w, "    "+l)
			}
		}
	}
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Err says how many checks failed, or nil if all passed.
func (rep *Report) Err() error {
	if rep.Passed < rep.Total {
		return fmt.Errorf("%d of %d checks fail", rep.Total-rep.Passed, rep.Total)
	}
	return nil
}
