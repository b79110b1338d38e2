package labpeer

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/tjunet/tjunet/netem"
)

// LabLimit is the window of the lab's transfer scoring: megabytes
// delivered within 90 s.
const LabLimit = 90 * time.Second

// TransferOptions configures the lab's transfer check: a stream sent over
// an impaired link and verified byte for byte. The check's own end is
// impaired by netem (Out for what it sends, In for what it receives); the
// implementation's end is not touched.
type TransferOptions struct {
	// IUT is the implementation's role: a Client sends and the check
	// receives (on TJU port ServerPort); a Server receives what the check
	// sends.
	IUT Role
	// Peer is the server's UDP address (IUT Server).
	Peer netip.AddrPort
	// ServerPort is the server's TJU port (default 1234).
	ServerPort uint16
	// Data is what the check sends (IUT Server), or what the client must
	// send (IUT Client; nil: not verified, only counted and hashed).
	Data io.Reader
	// Size caps what the check sends from Data (IUT Server; 0: all of it).
	Size int64
	// Limit is the scoring window (default LabLimit); the transfer is cut
	// off there, as the lab stops the programs.
	Limit time.Duration
	// Wait is how long a check of a client waits for it to connect
	// (default 60 s).
	Wait time.Duration
	// ClientPort is the TJU port the check sends from (IUT Server;
	// default 5678). A Suite uses a port after its checks': a check before
	// may have left a half-open connection (the lab's sender never
	// completes its handshake).
	ClientPort uint16
	// Lab answers the client host's port 20218 whatever port its
	// datagrams come from, as a lab host (IUT Client). Skeleton sends data
	// with flags 0 and ack 0 and the FIN alone, in the skeleton's shape.
	Lab, Skeleton bool
	// Out and In impair the check's own end.
	Out, In netem.Config
}

// TransferResult is the outcome of the transfer check.
type TransferResult struct {
	Pass bool `json:"pass"`
	// Bytes delivered in order: received by the check, or acknowledged by
	// the implementation.
	Bytes int64 `json:"bytes"`
	// WithinLimit is what was delivered within the limit, as the lab
	// scores it; MB is that in megabytes (10^6 bytes).
	WithinLimit int64         `json:"within_limit"`
	MB          float64       `json:"mb_within_limit"`
	Limit       time.Duration `json:"limit_ns"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	Complete    bool          `json:"complete"` // every byte delivered, the connection closed both ways
	// Verified tells how the data compared: "identical", "differs at byte
	// N", or "not verified" when there was nothing to compare with.
	Verified string `json:"verified"`
	SHA256   string `json:"sha256"`
	Problem  string `json:"problem,omitempty"`
	Impaired string `json:"impaired"` // the check's own impairments, out / in
}

// Transfer runs the transfer check over pc, which it owns. Its own end is
// scripted here, with labpeer's segments, not an implementation of TJU
// TCP: a receiver that acknowledges every segment at once and keeps what
// arrives out of order, or a sender with the lab's fixed window of 44,000
// bytes, RFC 6298 retransmission timing and a retransmission on the third
// duplicate ACK. So a bug shared by tjunet and the implementation under
// test does not cancel out.
func Transfer(ctx context.Context, pc net.PacketConn, o TransferOptions) *TransferResult {
	if o.Limit <= 0 {
		o.Limit = LabLimit
	}
	if o.Wait <= 0 {
		o.Wait = time.Minute
	}
	if o.ServerPort == 0 {
		o.ServerPort = LabServerPort
	}
	if o.ClientPort == 0 {
		o.ClientPort = LabClientPort
	}
	res := &TransferResult{Limit: o.Limit, Verified: "not verified", Impaired: "out " + o.Out.String() + "; in " + o.In.String()}
	w, err := netem.Wrap(pc, o.Out, o.In)
	if err != nil {
		pc.Close()
		res.Problem = err.Error()
		return res
	}
	e := newStream(w, o)
	defer e.close()
	if o.IUT == Client {
		e.receive(ctx, res)
	} else {
		e.send(ctx, res)
	}
	res.MB = float64(res.WithinLimit) / 1e6
	res.Judge()
	return res
}

// Judge sets Pass: the transfer completed within the limit and, when it
// was verified, the data is identical. A caller that compares the data
// itself (CompareFile, for what a server wrote) sets Verified and calls
// Judge again.
func (res *TransferResult) Judge() {
	res.Pass = res.Problem == "" && res.Complete &&
		(res.Verified == "identical" || res.Verified == "not verified")
}

// firstDiff returns the first index where a and b differ (a longer than
// b counts as a difference at len(b)), or -1.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return n
	}
	return -1
}

// CompareFile compares the last n bytes of the file at path (all of it
// when it is not longer) with want, byte for byte, and returns
// "identical", "differs at byte N" or what went wrong. Comparing the end
// suits a receiver that appends connection after connection ("tju recv
// --keep").
func CompareFile(path string, want io.Reader, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "cannot compare: " + err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		if _, err := f.Seek(st.Size()-n, io.SeekStart); err != nil {
			return "cannot compare: " + err.Error()
		}
	}
	a, b := make([]byte, 64<<10), make([]byte, 64<<10)
	var off int64
	for {
		n, errA := io.ReadFull(f, a)
		m, errB := io.ReadFull(want, b)
		if i := firstDiff(a[:n], b[:m]); i >= 0 {
			return fmt.Sprintf("differs at byte %d", off+int64(i))
		}
		off += int64(n)
		endA := errA == io.EOF || errA == io.ErrUnexpectedEOF
		endB := errB == io.EOF || errB == io.ErrUnexpectedEOF
		if endA && endB {
			return "identical"
		}
		if errA != nil && !endA {
			return "cannot compare: " + errA.Error()
		}
		if errB != nil && !endB {
			return "cannot compare: " + errB.Error()
		}
	}
}
