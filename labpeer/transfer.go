package labpeer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
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
	// Lab makes the check's endpoint a lab host (tju.Config.Lab) when it
	// receives; when it sends, it connects from a free TJU port rather than
	// 5678, and answers where the server's datagrams come from (a lab
	// host's port 20218). Skeleton sends data in the skeleton's shape.
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

// Transfer runs the transfer check over pc, which it owns.
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
	res := &TransferResult{Limit: o.Limit, Verified: "not verified", Impaired: "out " + o.Out.String() + "; in " + o.In.String()}
	w, err := netem.Wrap(pc, o.Out, o.In)
	if err != nil {
		pc.Close()
		res.Problem = err.Error()
		return res
	}
	// A check of a server connects from a free TJU port, not the lab
	// client's 5678: a check before may have left a half-open connection
	// on that port (the lab's sender never completes its handshake).
	lab := o.Lab && o.IUT == Client
	ep := tju.NewEndpoint(w, &tju.Config{Lab: lab, Plain: true, SkeletonShape: o.Skeleton})
	defer ep.Close()
	if o.IUT == Client {
		err = receive(ctx, ep, o, res)
	} else {
		err = send(ctx, ep, o, res)
	}
	if err != nil && res.Problem == "" {
		res.Problem = err.Error()
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

// receive accepts the client's connection and reads it to the end (or the
// limit), comparing with o.Data.
func receive(ctx context.Context, ep *tju.Endpoint, o TransferOptions, res *TransferResult) error {
	l, err := ep.Listen(o.ServerPort)
	if err != nil {
		return err
	}
	defer l.Close()
	actx, cancel := context.WithTimeout(ctx, o.Wait)
	c, err := l.AcceptTJU(actx)
	cancel()
	if err != nil {
		return fmt.Errorf("no client connected: %w", err)
	}
	start := time.Now()
	stop := context.AfterFunc(ctx, func() { c.Abort() })
	defer stop()
	c.SetReadDeadline(start.Add(o.Limit))
	h := sha256.New()
	buf := make([]byte, 256<<10)
	want := make([]byte, len(buf))
	mismatch := int64(-1)
	var rerr error
	for {
		n, err := c.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if o.Data != nil && mismatch < 0 {
				k, _ := io.ReadFull(o.Data, want[:n])
				if i := firstDiff(buf[:n], want[:k]); i >= 0 {
					mismatch = res.Bytes + int64(i)
				}
			}
			res.Bytes += int64(n)
			if time.Since(start) <= o.Limit {
				res.WithinLimit = res.Bytes
			}
		}
		if err != nil {
			rerr = err
			break
		}
	}
	res.Elapsed = time.Since(start)
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	switch {
	case errors.Is(rerr, io.EOF):
		res.Complete = true
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		res.Problem = fmt.Sprintf("cut off at the %v limit after %d bytes", o.Limit, res.Bytes)
	default:
		res.Problem = fmt.Sprintf("the connection failed after %d bytes: %v", res.Bytes, rerr)
	}
	if o.Data != nil {
		switch {
		case mismatch >= 0:
			res.Verified = fmt.Sprintf("differs at byte %d", mismatch)
		case res.Complete:
			if n, _ := io.ReadFull(o.Data, want[:1]); n > 0 {
				res.Verified = fmt.Sprintf("short: the file is longer than the %d bytes received", res.Bytes)
			} else {
				res.Verified = "identical"
			}
		default:
			res.Verified = fmt.Sprintf("identical for the %d bytes received", res.Bytes)
		}
	}
	// The client waits for our FIN: close, and let the teardown finish.
	c.Close()
	wait(ctx, c.Done(), 5*time.Second)
	return nil
}

// send connects to the server, sends o.Data and waits for the server to
// close in turn (it then has every byte).
func send(ctx context.Context, ep *tju.Endpoint, o TransferOptions, res *TransferResult) error {
	dctx, cancel := context.WithTimeout(ctx, o.Wait)
	c, err := ep.Dial(dctx, o.Peer.String(), o.ServerPort)
	cancel()
	if err != nil {
		return fmt.Errorf("cannot connect: %w", err)
	}
	start := time.Now()
	stop := context.AfterFunc(ctx, func() { c.Abort() })
	defer stop()
	deadline := start.Add(o.Limit)
	c.SetDeadline(deadline)
	var src io.Reader = o.Data
	if src == nil {
		src = bytes.NewReader(nil)
	}
	if o.Size > 0 {
		src = io.LimitReader(src, o.Size)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(c, h), src)
	if err == nil {
		err = c.CloseWrite()
	}
	if err == nil {
		// The server closes once it has read our FIN.
		_, err = io.Copy(io.Discard, c)
	}
	res.Elapsed = time.Since(start)
	res.Bytes = int64(c.Info().BytesAcked)
	res.WithinLimit = res.Bytes
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	switch {
	case err == nil:
		res.Complete = true
	case errors.Is(err, os.ErrDeadlineExceeded):
		res.Problem = fmt.Sprintf("cut off at the %v limit after %d bytes acknowledged", o.Limit, res.Bytes)
	default:
		res.Problem = fmt.Sprintf("the connection failed after %d bytes acknowledged: %v", res.Bytes, err)
	}
	c.Close()
	wait(ctx, c.Done(), 5*time.Second)
	return nil
}

func wait(ctx context.Context, ch <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
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
