package perf

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

func TestHeaderRoundTrip(t *testing.T) {
	for _, h := range []header{
		{mode: Throughput, dur: 10 * time.Second},
		{mode: Throughput, reverse: true, bytes: 1 << 30, rate: 25e9},
		{mode: Latency, msgSize: 64, dur: time.Second},
	} {
		got, err := readHeader(bytes.NewReader(h.marshal()))
		if err != nil || got != h {
			t.Errorf("%+v read back as %+v, %v", h, got, err)
		}
	}
}

// TestHeaderRefusesWhatItCannotServe: a server reads headers from anyone;
// each malformed or abusive one is refused with a reason, never served.
func TestHeaderRefusesWhatItCannotServe(t *testing.T) {
	good := header{mode: Throughput, dur: time.Second}.marshal()
	mut := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short", good[:10], "no test header"},
		{"magic", mut(func(b []byte) { copy(b, "HTTP") }), "not a tju bench client"},
		{"version", mut(func(b []byte) { b[4] = 1 }), "protocol version 1"},
		{"mode", mut(func(b []byte) { b[5] = 'X' }), "unknown test mode"},
		{"latency size 0", header{mode: Latency, dur: time.Second}.marshal(), "bad message size 0"},
		{"latency size huge", header{mode: Latency, msgSize: MaxMessage + 1, dur: time.Second}.marshal(), "bad message size"},
		{"a year", mut(func(b []byte) { binary.BigEndian.PutUint64(b[12:20], uint64(365*24*time.Hour)) }), "longer than"},
		{"limit overflow", mut(func(b []byte) { binary.BigEndian.PutUint64(b[12:20], ^uint64(0)) }), "longer than"},
	} {
		if _, err := readHeader(bytes.NewReader(tc.b)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// FuzzReadHeader: any bytes a client sends are read without a panic, and
// a header that is accepted reads back the same once written again.
func FuzzReadHeader(f *testing.F) {
	f.Add(header{mode: Throughput, dur: time.Second}.marshal())
	f.Add(header{mode: Latency, msgSize: 64, bytes: 0, dur: time.Second}.marshal())
	f.Add(header{mode: Throughput, reverse: true, bytes: 1 << 20, rate: 1e6}.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readHeader(bytes.NewReader(b))
		if err != nil {
			return
		}
		again, err := readHeader(bytes.NewReader(h.marshal()))
		if err != nil || again != h {
			t.Fatalf("%+v read back as %+v, %v", h, again, err)
		}
	})
}
