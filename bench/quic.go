package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// quic-go with its documented defaults. QUIC always runs TLS 1.3, so every
// packet is encrypted and authenticated (AES-128-GCM here, with AES-NI
// where the CPU has it): a real cost that the other transports in this
// table do not pay, and part of what a user buys with quic-go.
//
// Defaults kept on purpose: flow-control windows auto-tune up to 6 MB per
// stream and 15 MB per connection, which is far above the bandwidth-delay
// product of loopback; GSO and ECN are used on Linux; path MTU discovery is
// on. quic-go sets its own UDP socket buffers to 7 MiB (forcing past
// net.core.rmem_max when root) and logs a warning when it cannot; the
// warning is captured below and printed as a note.
func init() {
	log.SetOutput(io.MultiWriter(os.Stderr, logWatcher{}))
	register(&transport{
		name:     "quic",
		order:    2,
		settings: "quic-go " + quicVersion() + " defaults: TLS 1.3 always on, auto-tuned flow control (6 MB stream / 15 MB conn max), GSO, PMTUD; asks 7 MiB UDP buffers itself",
		eof:      true,
		listen:   quicListen,
		dial:     quicDial,
	})
}

// logWatcher turns quic-go's UDP buffer warning into a note in the report.
type logWatcher struct{}

func (logWatcher) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("buffer size")) {
		addNote("quic-go: " + string(bytes.TrimSpace(p)))
	}
	return len(p), nil
}

func quicVersion() string { return moduleVersion("github.com/quic-go/quic-go") }

const quicALPN = "tjunet-bench"

var (
	tlsOnce   sync.Once
	tlsServer *tls.Config
	tlsClient *tls.Config
	tlsErr    error
)

// benchTLS makes a throwaway self-signed ECDSA P-256 certificate for
// "localhost" that the client trusts explicitly (no InsecureSkipVerify).
func benchTLS() (server, client *tls.Config, err error) {
	tlsOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tlsErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "tjunet bench"},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			tlsErr = err
			return
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			tlsErr = err
			return
		}
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		tlsServer = &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
			NextProtos:   []string{quicALPN},
		}
		tlsClient = &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{quicALPN}}
	})
	return tlsServer, tlsClient, tlsErr
}

func quicConfig() *quic.Config {
	return &quic.Config{} // documented defaults; see the comment on init
}

func quicListen() (*server, error) {
	tlsConf, _, err := benchTLS()
	if err != nil {
		return nil, err
	}
	ln, err := quic.ListenAddr("127.0.0.1:0", tlsConf, quicConfig())
	if err != nil {
		return nil, err
	}
	return &server{
		addr: ln.Addr().String(),
		accept: func() (io.ReadCloser, error) {
			ctx := context.Background()
			conn, err := ln.Accept(ctx)
			if err != nil {
				return nil, err
			}
			str, err := conn.AcceptStream(ctx)
			if err != nil {
				conn.CloseWithError(1, "no stream")
				return nil, err
			}
			return &quicReader{conn: conn, str: str}, nil
		},
		close: ln.Close,
	}, nil
}

type quicReader struct {
	conn *quic.Conn
	str  *quic.Stream
}

func (r *quicReader) Read(p []byte) (int, error) { return r.str.Read(p) }

func (r *quicReader) Close() error {
	r.str.CancelRead(0)
	return r.conn.CloseWithError(0, "")
}

func quicDial(addr string) (io.WriteCloser, error) {
	_, tlsConf, err := benchTLS()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, tlsConf, quicConfig())
	if err != nil {
		return nil, err
	}
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		conn.CloseWithError(1, "no stream")
		return nil, err
	}
	return &quicWriter{conn: conn, str: str}, nil
}

type quicWriter struct {
	conn *quic.Conn
	str  *quic.Stream
}

func (w *quicWriter) Write(p []byte) (int, error) { return w.str.Write(p) }

// CloseWrite sends the stream's FIN after the data written so far.
func (w *quicWriter) CloseWrite() error { return w.str.Close() }

// Close tears down the whole connection; the runner calls it only after the
// receiver has every byte.
func (w *quicWriter) Close() error { return w.conn.CloseWithError(0, "") }
