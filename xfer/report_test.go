package xfer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/xfer"
)

func TestReport(t *testing.T) {
	var b strings.Builder
	r := &xfer.Report{Result: &xfer.Result{Bytes: 10e6, Offset: 5e6, Verified: true, Encrypted: true, Sum: []byte{0xab, 0xcd}},
		Sender: true, Peer: "to 127.0.0.1:1/1234", Elapsed: time.Second, Segments: "SEGS", RTT: "RTT"}
	r.Write(&b)
	for _, w := range []string{"sent 10.0 MB (10000000 bytes) to 127.0.0.1:1/1234 in 1s\n", "resumed", "15.0 MB in all",
		"goodput   10.00 MB/s (80.0 Mbit/s)", "segments  SEGS", "rtt       RTT", "SHA-256 matched", "TLS 1.3", "sha256    abcd"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("the report lacks %q:\n%s", w, b.String())
		}
	}
	b.Reset()
	(&xfer.Report{Result: &xfer.Result{Bytes: 1}, Peer: "from x"}).Write(&b)
	if s := b.String(); !strings.HasPrefix(s, "received 1 B (1 bytes) from x") || !strings.Contains(s, "compare the SHA-256") || strings.Contains(s, "resumed") {
		t.Errorf("an unchecked receiver's report:\n%s", s)
	}
}
