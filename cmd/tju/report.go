package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/tjunet/tjunet/console"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/xfer"
)

// transferReport is what one end of a transfer prints when it ends.
type transferReport struct {
	verb    string // "sent" or "received"
	peer    string // "to 127.0.0.1:20218/1234"
	bytes   int64
	elapsed time.Duration
	info    tju.Info
	sum     []byte // SHA-256 of the data
	sender  bool   // print the sender's counters (retransmissions) rather than the receiver's
	result  *xfer.Result
}

// write prints the report as a short table:
//
//	sent 67.1 MB (67108864 bytes) to 127.0.0.1:20218/1234 in 1.52s
//	  goodput     44.15 MB/s (353 Mbit/s)
//	  segments    48913 sent, 12 retransmitted (0.02%), 0 timeouts, 2 fast recoveries
//	  rtt         smoothed 0.31ms, variation 0.1ms, min 0.05ms, rto 200ms
//	  check       SHA-256 matched at both ends
//	  sha256      9f86d081884c7d65...
//
// Every unit is SI (1 MB = 10^6 bytes), as on the progress bar.
func (r *transferReport) write(w io.Writer) {
	fmt.Fprintf(w, "%s %s (%d bytes) %s in %s\n", r.verb, formatBytes(r.bytes), r.bytes, r.peer, formatDuration(r.elapsed))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if res := r.result; res != nil && res.Offset > 0 {
		fmt.Fprintf(tw, "  resumed\tat byte %d: %s in all (%d bytes)\n", res.Offset, formatBytes(res.Total()), res.Total())
	}
	fmt.Fprintf(tw, "  goodput\t%s\n", formatGoodput(r.bytes, r.elapsed))
	fmt.Fprintf(tw, "  segments\t%s\n", r.info.SegmentsText(r.sender))
	fmt.Fprintf(tw, "  rtt\t%s\n", r.info.RTTText())
	if res := r.result; res != nil {
		switch {
		case res.Verified:
			fmt.Fprintf(tw, "  check\tSHA-256 matched at both ends\n")
		case !r.sender:
			fmt.Fprintf(tw, "  check\tnone: the sender is not tju send with tjunet's extensions (a lab peer, --plain or --lab): compare the SHA-256 below\n")
		default:
			fmt.Fprintf(tw, "  check\tnone: the receiver is not tju recv with tjunet's extensions (a lab peer, --plain or --lab)\n")
		}
		if res.Encrypted {
			fmt.Fprintf(tw, "  security\tTLS 1.3, both ends authenticated by the code phrase\n")
		}
	}
	if r.sum != nil {
		fmt.Fprintf(tw, "  sha256\t%s\n", hex.EncodeToString(r.sum))
	}
	tw.Flush()
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// connSet holds the connections a command is running, for --stats and
// --metrics. It is safe for concurrent use.
type connSet struct {
	mu    sync.Mutex
	conns map[*tju.Conn]struct{}
	order []*tju.Conn
	seen  atomic.Int64
}

func (s *connSet) add(c *tju.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = make(map[*tju.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	s.order = append(s.order, c)
	s.seen.Add(1)
}

func (s *connSet) remove(c *tju.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	for i, x := range s.order {
		if x == c {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// list returns the connections in the order they were added.
func (s *connSet) list() []*tju.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*tju.Conn(nil), s.order...)
}

// startStats prints the Info of each connection in set on con every
// interval, until ctx ends or the returned stop function is called. It
// does nothing if interval is 0.
func startStats(ctx context.Context, con *console.Console, interval time.Duration, set *connSet) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	format := "[%6.1fs] %s %s"
	if interval < time.Second {
		format = "[%7.2fs] %s %s"
	}
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				el := time.Since(start).Seconds()
				for _, c := range set.list() {
					con.Printf(format, el, c, c.Info().Summary())
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
