package tju_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"time"

	"github.com/tjunet/tjunet/tju"
)

// Confidentiality and integrity against anyone on the path: TJU carries
// crypto/tls like any net.Conn. TJU's own MAC only stops blind, off-path
// attackers; TLS hides the bytes and authenticates the server (here with a
// certificate made on the spot; use a real one, or pin it, in practice).
func Example_tls() {
	cert, pool := selfSigned("tju.example")
	cfg := &tju.Config{MSL: 10 * time.Millisecond} // a short TIME_WAIT (default 30 s)

	l, err := tju.Listen("127.0.0.1:0", cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		defer s.Close()
		io.Copy(s, s) // echo, encrypted both ways
	}()

	c, err := tju.Dial(l.Addr().String(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "tju.example"})
	defer tc.Close()
	if _, err := tc.Write([]byte("attack at dawn")); err != nil {
		log.Fatal(err)
	}
	tc.CloseWrite() // TLS close_notify, then TJU's FIN: the server sees EOF
	reply, err := io.ReadAll(tc)
	if err != nil {
		log.Fatal(err)
	}
	st := tc.ConnectionState()
	fmt.Printf("%s over %s, %s\n", reply, c.RemoteAddr().Network(), tls.VersionName(st.Version))
	// Output: attack at dawn over tju, TLS 1.3
}

// selfSigned makes a certificate for name and a pool that trusts it.
func selfSigned(name string) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
