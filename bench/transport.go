package main

import (
	"io"
	"net"
	"sort"
)

// A transport is one way of moving a byte stream between two endpoints in
// this process. Each implementation lives in its own file (tcp.go, tju.go,
// quic.go, kcp.go) and registers itself from an init function.
type transport struct {
	// name is the short name used in -only and in the table.
	name string
	// order fixes the position in the table: tcp, tju, tju-reno, quic, kcp.
	order float64
	// settings is a one-line summary of how the transport is configured.
	settings string
	// eof reports whether the sender's Close ends the receiver's stream
	// with io.EOF. KCP has no FIN, so for kcp the receiver stops after the
	// expected byte count instead.
	eof bool
	// listen starts a server on 127.0.0.1 with an ephemeral port.
	listen func() (*server, error)
	// dial connects to addr and returns the sending side of one stream.
	// It returns once the connection is usable (handshake done where the
	// protocol has one), so that setup is not counted in the transfer time.
	dial func(addr string) (io.WriteCloser, error)
	// stats, if set, is called before a transfer and returns a function
	// that describes what the transport counted during it (retransmissions
	// and the like), for -v.
	stats func() func() string
}

// A server is a listening endpoint of a transport.
type server struct {
	// addr is the address to pass to dial.
	addr string
	// accept waits for the next stream and returns its receiving side.
	accept func() (io.ReadCloser, error)
	// close releases the listener and its socket.
	close func() error
}

// listenerServer is the server of a transport whose listener is a
// net.Listener (kernel TCP, tju.Listener): each accepted connection is one
// stream.
func listenerServer(ln net.Listener, err error) (*server, error) {
	if err != nil {
		return nil, err
	}
	return &server{
		addr:   ln.Addr().String(),
		accept: func() (io.ReadCloser, error) { return ln.Accept() },
		close:  ln.Close,
	}, nil
}

var transports = map[string]*transport{}

func register(t *transport) { transports[t.name] = t }

// knownTransports lists every transport the program knows about, in table
// order, including those not compiled in (tju before the package exists).
var knownTransports = []string{"tcp", "tju", "tju-reno", "quic", "kcp"}

func registered() []*transport {
	var ts []*transport
	for _, t := range transports {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].order < ts[j].order })
	return ts
}
