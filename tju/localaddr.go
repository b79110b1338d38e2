package tju

import (
	"context"
	"net"
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
		if ip = ip.Unmap(); ip.Is4() {
			if ip.IsLoopback() {
				return "127.0.0.1:0"
			}
			return "0.0.0.0:0"
		}
	}
	if ips[0].IsLoopback() {
		return "[::1]:0"
	}
	return ":0"
}
