package tju

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Addr is the address of one end of a TJU connection: the UDP address of
// its endpoint and a TJU port on that endpoint.
type Addr struct {
	UDP  netip.AddrPort
	Port uint16
}

// Network returns "tju".
func (a *Addr) Network() string { return "tju" }

// String returns "ip:udpport/tjuport", a form Dial accepts.
func (a *Addr) String() string { return a.UDP.String() + "/" + strconv.Itoa(int(a.Port)) }

// splitTJUPort splits "host:port/tjuport" into "host:port" and the TJU
// port, which is 0 when absent.
func splitTJUPort(address string) (string, uint16, error) {
	i := strings.LastIndexByte(address, '/')
	if i < 0 {
		return address, 0, nil
	}
	p, err := strconv.ParseUint(address[i+1:], 10, 16)
	if err != nil || p == 0 {
		return "", 0, fmt.Errorf("tju: bad TJU port in address %q", address)
	}
	return address[:i], uint16(p), nil
}

// resolveUDP resolves "host:port" to an AddrPort, preferring IPv4.
func resolveUDP(ctx context.Context, address string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(address); err == nil {
		return unmap(ap), nil
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("tju: bad address %q: %w", address, err)
	}
	pn, err := net.DefaultResolver.LookupPort(ctx, "udp", port)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("tju: bad port in %q: %w", address, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("tju: resolve %q: %w", host, err)
	}
	best := ips[0]
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			best = ip
			break
		}
	}
	return unmap(netip.AddrPortFrom(best, uint16(pn))), nil
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// addrPortOf converts a net.Addr from a PacketConn into an AddrPort.
func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	switch v := a.(type) {
	case nil:
		return netip.AddrPort{}, false
	case *net.UDPAddr:
		return unmap(v.AddrPort()), true
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return unmap(ap), true
}
