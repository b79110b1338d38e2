package tju

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// AddrError reports an address ParseAddr cannot read.
type AddrError struct {
	Addr string // as given
	Why  string // what is wrong with it, in words
}

func (e *AddrError) Error() string { return fmt.Sprintf("tju: bad address %q: %s", e.Addr, e.Why) }

// ParseAddr reads a TJU address the way the tju command, Dial and the lab's
// tools write it: HOST[:PORT][/TJUPORT].
//
//   - HOST is a host name or an IP address; an IPv6 address with a PORT is
//     written in brackets ("[::1]:20218"), as net.JoinHostPort writes it.
//   - PORT is the UDP port of the peer's endpoint, 1 to 65535; without it
//     the lab's, LabUDPPort (20218).
//   - TJUPORT is the TJU port on that endpoint, 1 to 65535; without it
//     ParseAddr returns 0 and the caller chooses (usually DefaultPort).
//
// It returns the UDP address as "host:port", which Dial and
// net.ResolveUDPAddr take. It checks the syntax and the ranges but does not
// resolve HOST. Its errors are *AddrError.
func ParseAddr(s string) (udp string, tjuPort uint16, err error) {
	bad := func(format string, a ...any) (string, uint16, error) {
		return "", 0, &AddrError{Addr: s, Why: fmt.Sprintf(format, a...)}
	}
	rest := s
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		p, ok := parsePort(rest[i+1:])
		if !ok {
			return bad("the TJU port after the slash must be a number from 1 to 65535")
		}
		rest, tjuPort = rest[:i], p
	}
	if rest == "" {
		return bad("no host")
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		// No port: a name, an IPv4 address, or a bare or bracketed IPv6 one.
		host = rest
		if inner, ok := strings.CutPrefix(rest, "["); ok {
			host, ok = strings.CutSuffix(inner, "]")
			if !ok {
				return bad("want HOST[:PORT][/TJUPORT]")
			}
		}
		if strings.Contains(host, ":") {
			if ip, perr := netip.ParseAddr(host); perr != nil || !ip.Is6() {
				return bad("want HOST[:PORT][/TJUPORT] (an IPv6 address with a port goes in brackets: [::1]:20218)")
			}
		}
		port = strconv.Itoa(LabUDPPort)
	}
	if host == "" {
		return bad("no host")
	}
	if strings.ContainsAny(host, " /\\") {
		return bad("%q is not a host name or IP address", host)
	}
	if _, ok := parsePort(port); !ok {
		return bad("the UDP port %s is not a number from 1 to 65535", port)
	}
	return net.JoinHostPort(host, port), tjuPort, nil
}

// parsePort reads a port number from 1 to 65535, digits only.
func parsePort(s string) (uint16, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil || p == 0 {
		return 0, false
	}
	return uint16(p), true
}
