package xfer

// The code-phrase handshake (--code).
//
// crypto/tls has no external pre-shared keys, so the phrase does not key
// TLS itself. Instead:
//
//  1. TLS 1.3 runs first with a throwaway self-signed certificate that
//     nobody checks: it gives confidentiality against eavesdroppers and a
//     session that a man in the middle cannot share between its two
//     victims (each leg has its own keys).
//  2. Inside it, the two ends run a PAKE on the phrase (SPAKE2-style, from
//     github.com/schollz/pake/v3 on P-256, as croc does). Each gets a key K
//     that equals the other's only if both used the same phrase.
//  3. Each proves it holds K for THIS TLS session: it sends
//     HMAC-SHA256(K, label || exporter), the exporter being the TLS
//     session's keying material (RFC 8446 section 7.5). A relay between two
//     TLS sessions sees two different exporters, so it cannot pass one
//     end's proof to the other.
//
// Why a dictionary attack needs one connection per guess: the PAKE
// messages are X = a·G + w·U and Y = b·G + w·V with fresh secret scalars a
// and b, so they look random whatever the phrase w is, and checking a
// guess against them means solving Diffie-Hellman. An active attacker who
// runs the PAKE with a guessed phrase learns from the proof only whether
// that one guess was right, and the receiver refuses the connection (a
// tju recv without --keep then exits). Offline, nothing recorded lets it
// test a guess.

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"time"

	"github.com/schollz/pake/v3"
)

const (
	pakeCurve     = "p256"
	pakeDomain    = "tjunet --code v1\x00"
	exporterLabel = "EXPORTER-tjunet-code-v1"
	maxPakeMsg    = 4096
	roleSender    = 0 // pake's role numbers
	roleReceiver  = 1
)

// phraseScalar derives the PAKE's secret from the code phrase; the
// domain string keeps it apart from any other use of the same phrase.
func phraseScalar(code string) []byte {
	h := sha256.Sum256([]byte(pakeDomain + code))
	return h[:]
}

// clientHandshake runs the sender's side over conn: TLS client, PAKE
// role 0, proofs. It returns the TLS connection, ready for the transfer.
func clientHandshake(ctx context.Context, conn net.Conn, code string, timeout time.Duration) (*tls.Conn, error) {
	tc := tls.Client(conn, &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The certificate is a throwaway: the PAKE proof below is what
		// authenticates the receiver, bound to this very session.
		InsecureSkipVerify:          true,
		ServerName:                  "tjunet",
		DynamicRecordSizingDisabled: true,
	})
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake for --code: %w", err)
	}
	p, err := pake.InitCurve(phraseScalar(code), roleSender, pakeCurve)
	if err != nil {
		return nil, err
	}
	if err := writeMsg(tc, p.Bytes()); err != nil {
		return nil, err
	}
	theirs, err := readMsg(tc)
	if err != nil {
		return nil, err
	}
	if err := update(p, theirs, roleReceiver); err != nil {
		return nil, err
	}
	key, err := p.SessionKey()
	if err != nil {
		return nil, err
	}
	mine, want, err := proofs(tc, key, "sender", "receiver")
	if err != nil {
		return nil, err
	}
	if _, err := tc.Write(mine); err != nil {
		return nil, fmt.Errorf("sending the code proof: %w", err)
	}
	var verdict [1]byte
	if err := readFull(tc, verdict[:], "receiver's answer to our code proof"); err != nil {
		return nil, err
	}
	if verdict[0] != 'Y' {
		return nil, ErrWrongCode
	}
	got := make([]byte, len(want))
	if err := readFull(tc, got, "receiver's code proof"); err != nil {
		return nil, err
	}
	if !hmac.Equal(got, want) {
		return nil, fmt.Errorf("%w (the receiver could not prove it knows the phrase)", ErrWrongCode)
	}
	return tc, nil
}

// serverHandshake runs the receiver's side: TLS server, PAKE role 1,
// proofs.
func serverHandshake(ctx context.Context, conn net.Conn, code string, timeout time.Duration) (*tls.Conn, error) {
	cert, err := throwawayCert()
	if err != nil {
		return nil, err
	}
	tc := tls.Server(conn, &tls.Config{
		MinVersion:                  tls.VersionTLS13,
		Certificates:                []tls.Certificate{cert},
		DynamicRecordSizingDisabled: true,
	})
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake for --code: %w", err)
	}
	p, err := pake.InitCurve(phraseScalar(code), roleReceiver, pakeCurve)
	if err != nil {
		return nil, err
	}
	theirs, err := readMsg(tc)
	if err != nil {
		return nil, err
	}
	if err := update(p, theirs, roleSender); err != nil {
		return nil, err
	}
	if err := writeMsg(tc, p.Bytes()); err != nil {
		return nil, err
	}
	key, err := p.SessionKey()
	if err != nil {
		return nil, err
	}
	mine, want, err := proofs(tc, key, "receiver", "sender")
	if err != nil {
		return nil, err
	}
	got := make([]byte, len(want))
	if err := readFull(tc, got, "sender's code proof"); err != nil {
		return nil, err
	}
	if !hmac.Equal(got, want) {
		tc.Write([]byte{'N'})
		tc.CloseWrite()
		return nil, ErrWrongCode
	}
	if _, err := tc.Write(append([]byte{'Y'}, mine...)); err != nil {
		return nil, fmt.Errorf("sending the code proof: %w", err)
	}
	return tc, nil
}

// proofs returns this end's proof of the PAKE key for this TLS session
// and the one expected from the peer.
func proofs(tc *tls.Conn, key []byte, me, peer string) (mine, want []byte, err error) {
	cs := tc.ConnectionState()
	ekm, err := cs.ExportKeyingMaterial(exporterLabel, nil, 32)
	if err != nil {
		return nil, nil, err
	}
	mac := func(who string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("tjunet code proof from the " + who + "\x00"))
		m.Write(ekm)
		return m.Sum(nil)
	}
	return mac(me), mac(peer), nil
}

// writeMsg sends a PAKE message with a 2-byte length.
func writeMsg(w io.Writer, b []byte) error {
	if len(b) > maxPakeMsg {
		return errors.New("xfer: PAKE message too long")
	}
	out := binary.BigEndian.AppendUint16(nil, uint16(len(b)))
	if _, err := w.Write(append(out, b...)); err != nil {
		return fmt.Errorf("sending the code handshake: %w", err)
	}
	return nil
}

// readMsg reads a PAKE message of at most maxPakeMsg bytes.
func readMsg(r io.Reader) ([]byte, error) {
	var l [2]byte
	if err := readFull(r, l[:], "code handshake"); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint16(l[:])
	if n == 0 || n > maxPakeMsg {
		return nil, fmt.Errorf("%w: code handshake message of %d bytes", ErrMalformed, n)
	}
	b := make([]byte, n)
	if err := readFull(r, b, "code handshake"); err != nil {
		return nil, err
	}
	return b, nil
}

// pakeMsg is the part of pake's JSON message that Update reads: the
// sender's point X or the receiver's point Y (pake names the coordinates
// with subscripts).
type pakeMsg struct {
	Role int
	Xu   *big.Int `json:"Xᵤ"`
	Xv   *big.Int `json:"Xᵥ"`
	Yu   *big.Int `json:"Yᵤ"`
	Yv   *big.Int `json:"Yᵥ"`
}

// update checks the peer's PAKE message before handing it to pake, which
// would dereference missing points: the point it uses must be present, in
// range and on the curve. A peer that sends anything else is malformed.
func update(p *pake.Pake, msg []byte, wantRole int) (err error) {
	var m pakeMsg
	if err := json.Unmarshal(msg, &m); err != nil {
		return fmt.Errorf("%w: code handshake: %v", ErrMalformed, err)
	}
	x, y := m.Xu, m.Xv
	if wantRole == roleReceiver {
		x, y = m.Yu, m.Yv
	}
	if m.Role != wantRole || !onP256(x, y) {
		return fmt.Errorf("%w: code handshake: bad point", ErrMalformed)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: code handshake: %v", ErrMalformed, r)
		}
	}()
	if err := p.Update(msg); err != nil {
		return fmt.Errorf("%w: code handshake: %v", ErrMalformed, err)
	}
	return nil
}

// onP256 reports whether (x, y) is a point of P-256 other than the
// identity, by crypto/ecdh's check of an uncompressed public key.
func onP256(x, y *big.Int) bool {
	if x == nil || y == nil || x.Sign() < 0 || y.Sign() < 0 || x.BitLen() > 256 || y.BitLen() > 256 {
		return false
	}
	b := make([]byte, 65)
	b[0] = 4
	x.FillBytes(b[1:33])
	y.FillBytes(b[33:])
	_, err := ecdh.P256().NewPublicKey(b)
	return err == nil
}

// throwawayCert makes a self-signed Ed25519 certificate for one TLS
// session; nothing checks it (see the top of this file).
func throwawayCert() (tls.Certificate, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tjunet"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}
