package main

import (
	"io"
	"net"

	"github.com/tjunet/tjunet/tju"
)

// TJU TCP from this repository's working tree (the bench module replaces
// github.com/tjunet/tjunet with ../), with its default configuration
// (nil *tju.Config).
func init() {
	registerTJU("tju", 1, "tju (working tree) with default Config", nil)
	// The default before BBR (Reno, the lab's algorithm), so one run shows
	// whether the default controller costs loopback throughput.
	registerTJU("tju-reno", 1.5, "tju (working tree), default Config but CongestionControl \"reno\"",
		&tju.Config{CongestionControl: "reno"})
}

// registerTJU registers tju with cfg (nil: the defaults) under name.
func registerTJU(name string, order float64, settings string, cfg *tju.Config) {
	register(&transport{
		name:     name,
		order:    order,
		settings: settings,
		eof:      true,
		listen: func() (*server, error) {
			return listenerServer(tju.Listen("127.0.0.1:0", cfg))
		},
		dial: func(addr string) (io.WriteCloser, error) {
			c, err := tju.Dial(addr, cfg)
			if err != nil {
				return nil, err
			}
			return tjuWriter{c}, nil
		},
	})
}

// tjuWriter ends the stream with CloseWrite when tju.Conn has one, and
// otherwise with Close, which in a TCP-like protocol sends FIN after the
// data already written; the receiver then sees io.EOF.
type tjuWriter struct{ net.Conn }

func (w tjuWriter) CloseWrite() error {
	if cw, ok := w.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return w.Conn.Close()
}
