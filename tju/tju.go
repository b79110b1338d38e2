// Package tju is TJU TCP: a reliable, ordered, flow- and congestion-
// controlled byte stream over UDP, built like TCP and wire-compatible with
// the Tianjin University networking lab it comes from.
//
// A Listener (net.Listener) accepts connections and a Conn (net.Conn) carries
// one; both live on an Endpoint, one UDP socket that carries any number of
// connections, demultiplexed by TJU ports and peer address, as the lab's
// "kernel" does. Listen and Dial are conveniences that make a private
// endpoint:
//
//	l, err := tju.Listen("127.0.0.1:20218", nil) // TJU port 1234 by default
//	...
//	c, err := tju.Dial("127.0.0.1:20218", nil)
//
// On the wire a segment is one UDP datagram with the lab's 20-byte header.
// Two tjunet endpoints also negotiate window scaling, SACK, CRC-32C checksums
// and resets through header options; a plain lab implementation never sees
// them. See docs/protocol.md.
package tju

import (
	"context"
	"net"
	"net/netip"
)

// Listen opens a UDP socket on address ("host:port"; ":0" or "127.0.0.1:0"
// pick a free port) and listens there on TJU port cfg.Port (default 1234).
// The endpoint is private to the listener: it closes when the listener is
// closed and its connections are gone.
func Listen(address string, cfg *Config) (*Listener, error) {
	e, err := OpenEndpoint(address, cfg)
	if err != nil {
		return nil, err
	}
	e.private = true
	l, err := e.Listen(e.cfg.Port)
	if err != nil {
		e.Close()
		return nil, err
	}
	return l, nil
}

// Dial connects to TJU port cfg.Port (default 1234) at the endpoint whose
// UDP address is address ("host:port", or "host:port/tjuport" as
// Addr.String prints it). It uses a private endpoint on a free UDP port,
// which closes once the connection is gone.
func Dial(address string, cfg *Config) (*Conn, error) {
	return DialContext(context.Background(), address, cfg)
}

// DialContext is Dial with a context that can cancel the handshake.
func DialContext(ctx context.Context, address string, cfg *Config) (*Conn, error) {
	hostport, port, err := splitTJUPort(address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tju", Err: err}
	}
	d := cfg.withDefaults()
	if port == 0 {
		port = d.Port
	}
	peer, err := resolveUDP(ctx, hostport)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tju", Err: err}
	}
	e, err := OpenEndpoint(localFor(peer.Addr()), cfg)
	if err != nil {
		return nil, err
	}
	e.private = true
	c, err := e.dial(ctx, netip.AddrPortFrom(peer.Addr(), peer.Port()), port)
	if err != nil {
		e.Close()
		return nil, err
	}
	return c, nil
}
