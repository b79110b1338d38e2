package tju

import (
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"time"

	"github.com/tjunet/tjunet/internal/tcb"
	"github.com/tjunet/tjunet/internal/wire"
)

// endpointKeys are an endpoint's secrets, drawn when it is created: one
// for the per-connection secrets sent in OptAuth, one for SYN cookies.
type endpointKeys struct {
	mu             sync.Mutex
	secret, cookie hash.Hash // HMAC-SHA256
	out            [sha256.Size]byte
}

func (k *endpointKeys) init() {
	var a, b [32]byte
	crand.Read(a[:]) // never fails (crypto/rand since Go 1.24)
	crand.Read(b[:])
	k.secret = hmac.New(sha256.New, a[:])
	k.cookie = hmac.New(sha256.New, b[:])
}

// appendKey appends the connection's identity as this endpoint sees it.
func appendKey(b []byte, key connKey) []byte {
	a := key.peer.Addr().As16()
	b = append(b, a[:]...)
	b = binary.BigEndian.AppendUint16(b, key.peer.Port())
	b = binary.BigEndian.AppendUint16(b, key.local)
	return binary.BigEndian.AppendUint16(b, key.remote)
}

// secretFor returns this endpoint's secret for the connection key: a keyed
// hash of the peer's address and the ports, so that after the endpoint
// forgot a connection it can still compute its reset token (see
// wire.ResetToken). An attacker who does not know the endpoint's key
// learns nothing from the inputs.
func (e *Endpoint) secretFor(key connKey) wire.Secret {
	var buf [32]byte
	k := &e.keys
	k.mu.Lock()
	k.secret.Reset()
	k.secret.Write(appendKey(buf[:0], key))
	sum := k.secret.Sum(k.out[:0])
	var s wire.Secret
	copy(s[:], sum)
	k.mu.Unlock()
	return s
}

// connConfig is the engine configuration for a connection on key.
func (e *Endpoint) connConfig(key connKey, isn uint32) tcb.Config {
	c := e.cfg.tcbConfig(key.local, key.remote, isn, e.epochMicros)
	if c.Extensions {
		c.Secret = e.secretFor(key)
	}
	c.NoAuth = e.cfg.noAuth
	return c
}

// SYN cookies (RFC 4987 section 3.6). When the listener's half-open queue
// is full, a SYN is answered from a cookie, the server's ISN, and the
// listener keeps nothing: the client's ACK brings the cookie back as
// ack - 1, and the connection is rebuilt from it. Layout of the cookie:
//
//	bits 31-30  time slot (cookieSlot long) modulo 4; the current and the
//	            previous slot are accepted
//	bits 29-26  the client's window scale, 15 for none
//	bits 25-24  what the SYN offered: 0 nothing (a lab peer), 1 tjunet's
//	            options without OptAuth, 2 with OptAuth
//	bits 23-0   HMAC-SHA256 (key drawn by the endpoint) of the slot, the
//	            connection key, the client's ISN and the bits above
//
// A blind attacker who wants a connection opened in someone else's name
// must guess the 24-bit hash. With OptAuth, the client repeats its secret
// in its segments until the server answers (the listener forgot it), and
// the server's secret is derived from the 4-tuple anyway (secretFor).
const cookieSlot = 64 * time.Second

const (
	profilePlain = iota
	profileExt
	profileAuth
)

// synProfile classifies what a SYN offered; a partial set of tjunet's
// options falls back to the largest complete profile it covers.
func synProfile(s *wire.Segment) uint32 {
	ext := s.HasCRC && s.SACKPermitted && s.RSTPermitted
	switch {
	case ext && s.HasAuth:
		return profileAuth
	case ext:
		return profileExt
	}
	return profilePlain
}

func (e *Endpoint) cookieHash(slot uint64, key connKey, clientISN, bits uint32) uint32 {
	var buf [64]byte
	b := binary.BigEndian.AppendUint64(buf[:0], slot)
	b = appendKey(b, key)
	b = binary.BigEndian.AppendUint32(b, clientISN)
	b = binary.BigEndian.AppendUint32(b, bits)
	k := &e.keys
	k.mu.Lock()
	k.cookie.Reset()
	k.cookie.Write(b)
	sum := k.cookie.Sum(k.out[:0])
	h := binary.BigEndian.Uint32(sum) & 0xffffff
	k.mu.Unlock()
	return h
}

// makeCookie returns the ISN that encodes syn's options for key.
func (e *Endpoint) makeCookie(syn *wire.Segment, key connKey) uint32 {
	slot := uint64(e.now() / cookieSlot)
	ws := uint32(15)
	if syn.HasWindowScale {
		ws = uint32(syn.WindowScale)
	}
	bits := uint32(slot%4)<<30 | ws<<26 | synProfile(syn)<<24
	return bits | e.cookieHash(slot, key, syn.Seq, bits)
}

// checkCookie validates the cookie an ACK returns and rebuilds the SYN it
// answered: what the listener would have kept.
func (e *Endpoint) checkCookie(ack *wire.Segment, key connKey) (wire.Segment, bool) {
	cookie, clientISN := ack.Ack-1, ack.Seq-1
	bits := cookie &^ 0xffffff
	slot := uint64(e.now() / cookieSlot)
	switch uint64(cookie >> 30) {
	case slot % 4:
	case (slot + 3) % 4:
		slot--
	default:
		return wire.Segment{}, false
	}
	if e.cookieHash(slot, key, clientISN, bits) != cookie&0xffffff {
		return wire.Segment{}, false
	}
	syn := wire.Segment{SrcPort: key.remote, DstPort: key.local, Seq: clientISN, Flags: wire.FlagSYN}
	if ws := cookie >> 26 & 15; ws <= 14 {
		syn.HasWindowScale, syn.WindowScale = true, uint8(ws)
	}
	switch cookie >> 24 & 3 {
	case profileAuth:
		if !ack.HasAuth || !ack.HasMAC {
			return wire.Segment{}, false // the client's secret must come back
		}
		syn.HasAuth, syn.Secret = true, ack.Secret
		fallthrough
	case profileExt:
		syn.HasCRC, syn.SACKPermitted, syn.RSTPermitted = true, true, true
	case profilePlain:
	default:
		return wire.Segment{}, false
	}
	return syn, true
}

// sendCookie answers syn statelessly.
func (l *Listener) sendCookie(syn *wire.Segment, key connKey, b *segRun) {
	e := l.e
	s := *syn
	switch synProfile(&s) {
	case profilePlain:
		s.Options = wire.Options{}
	case profileExt:
		s.HasAuth = false
	}
	cfg := e.connConfig(key, e.makeCookie(&s, key))
	var buf [wire.MaxDatagram]byte
	n := tcb.StatelessSynAck(cfg, &s, buf[:])
	e.stats.synCookies.Add(1)
	b.queue(buf[:n], key.peer)
}

// onCookieACK opens the connection an ACK with a valid cookie completes.
// It reports whether the segment was a cookie's (valid or not, it is then
// consumed).
func (l *Listener) onCookieACK(ack *wire.Segment, key connKey) bool {
	e := l.e
	syn, ok := e.checkCookie(ack, key)
	if !ok {
		return false
	}
	now := e.now()
	cfg := e.connConfig(key, ack.Ack-1)
	cfg.Stateless = true
	t := tcb.NewPassive(cfg, &syn, now)
	if !t.Handle(ack, now) {
		e.stats.badMAC.Add(1)
		return true
	}
	if !t.Synchronized() {
		return true
	}
	l.mu.Lock()
	if l.closed || len(l.accept) >= l.backlog {
		l.mu.Unlock()
		e.stats.acceptOverflows.Add(1)
		return true
	}
	l.halfOpen++ // enqueue moves it to the accept queue at once
	l.mu.Unlock()
	c := e.newConn(key, l)
	c.tcb = t
	c.state = StateSynRecv
	e.mu.Lock()
	if e.closed || e.conns[key] != nil {
		e.mu.Unlock()
		l.halfOpenDone()
		return true
	}
	e.conns[key] = c
	e.mu.Unlock()
	e.stats.synCookiesAccepted.Add(1)
	c.mu.Lock()
	c.afterLocked(now)
	c.mu.Unlock()
	return true
}
