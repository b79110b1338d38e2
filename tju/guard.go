package tju

import (
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"

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
	return c
}
