package main

import (
	"io"
	"net"
)

// Kernel TCP over loopback, with Go's defaults (TCP_NODELAY on, kernel
// auto-tuned socket buffers). It is the reference the UDP transports are
// measured against.
func init() {
	register(&transport{
		name:     "tcp",
		order:    0,
		settings: "kernel TCP, Go defaults (kernel-autotuned buffers, Nagle off)",
		eof:      true,
		listen: func() (*server, error) {
			return listenerServer(net.Listen("tcp", "127.0.0.1:0"))
		},
		dial: func(addr string) (io.WriteCloser, error) {
			return net.Dial("tcp", addr)
		},
	})
}
