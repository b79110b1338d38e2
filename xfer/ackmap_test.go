package xfer

import "testing"

// The marks stay bounded when nobody asks (no progress bar), and the
// mapping stays monotonic and exact at marks it kept.
func TestAckMapBounded(t *testing.T) {
	var m ackMap
	m.start(10, 0)
	for i := int64(1); i <= 100000; i++ {
		m.add(10+i*104, i*100) // 100 data bytes and 4 of framing a chunk
	}
	if len(m.marks) > maxMarks {
		t.Fatalf("%d marks kept", len(m.marks))
	}
	prev := int64(-1)
	for a := int64(0); a <= 10+100000*104; a += 997 {
		d := m.data(a)
		if d < prev || d > 100*100000 {
			t.Fatalf("data(%d) = %d after %d", a, d, prev)
		}
		prev = d
	}
	if d := m.data(10 + 100000*104); d != 100*100000 {
		t.Errorf("all acknowledged: %d, want %d", d, 100*100000)
	}
}
