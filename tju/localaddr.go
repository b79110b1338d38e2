package tju

import (
	"context"
	"net"
	"net/netip"
)

// LocalAddrFor returns the UDP address to open an endpoint at for talking
// to peer (HOST:PORT): a free port of peer's family, on loopback for a
// loopback peer (so that logs show real addresses), else on every
// interface; ":0" if peer does not resolve.
func LocalAddrFor(ctx context.Context, peer string) string {
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		return ":0"
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return ":0"
	}
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return localFor(ip)
		}
	}
	return localFor(ips[0])
}

// localFor returns the address of a private endpoint for a peer at ip: a
// free port on loopback for a loopback peer, else on every interface of
// its family.
func localFor(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.Is4() && ip.IsLoopback():
		return "127.0.0.1:0"
	case ip.Is4():
		return "0.0.0.0:0"
	case ip.IsLoopback():
		return "[::1]:0"
	}
	return ":0"
}
