package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Test is what a client asks of the server.
type Test struct {
	Mode Mode
	// Duration is how long the test runs; 0 when Bytes or Count bounds it.
	Duration time.Duration
	// Bytes bounds a throughput test: each stream sends this many.
	Bytes int64
	// Count bounds a latency test: this many requests.
	Count int
	// MsgSize is the size of a latency request and its response.
	MsgSize int
	// Reverse makes the server send (iperf3 -R).
	Reverse bool
	// Rate limits each stream's sender, in bits per second (iperf3 -b);
	// 0: as fast as the transport goes.
	Rate int64
	// Streams is the number of parallel connections of a throughput test
	// (iperf3 -P); 0 means 1.
	Streams int
	// Interval is how often to sample (iperf3 -i); 0: only the totals.
	Interval time.Duration
	// OnInterval, if set, is called with each throughput interval as it
	// ends; OnLatency with each latency interval.
	OnInterval func(Interval)
	OnLatency  func(LatencyInterval)
}

// Check reports a test that cannot run.
func (t Test) Check() error {
	switch {
	case t.Mode != Throughput && t.Mode != Latency:
		return fmt.Errorf("unknown mode %v", t.Mode)
	case t.Duration < 0 || t.Bytes < 0 || t.Count < 0 || t.Rate < 0 || t.Streams < 0 || t.Interval < 0:
		return errors.New("negative duration, size, count, rate, streams or interval")
	case t.Duration > MaxDuration:
		return fmt.Errorf("a test of %v: longer than %v", t.Duration, MaxDuration)
	case t.Duration == 0 && t.Bytes == 0 && t.Count == 0:
		return errors.New("no bound: give a duration, a byte count or a request count")
	case t.Mode == Latency && (t.MsgSize < 1 || t.MsgSize > MaxMessage):
		return fmt.Errorf("message size %d: want 1 byte to 1MiB", t.MsgSize)
	case t.Mode == Latency && (t.Reverse || t.Streams > 1 || t.Rate > 0 || t.Bytes > 0):
		return errors.New("a latency test runs one connection each way in turn: no reverse, parallel streams, rate or byte count")
	case t.Mode == Throughput && t.Count > 0:
		return errors.New("a request count is for latency tests")
	}
	return nil
}

// Interval is one sampling interval of a throughput test: each stream's
// figures and their sum, as iperf3's intervals.
type Interval struct {
	Streams []IntervalStream
	Sum     IntervalStream
}

// IntervalStream is what one stream (or the sum) did in an interval.
type IntervalStream struct {
	Start, End  time.Duration // since the test began
	Bytes       uint64        // delivered: acknowledged by the receiver, or received when the client receives
	Retransmits uint64        // segments the sender retransmitted (sender side only)
	Cwnd        int           // the sender's congestion window at the end, bytes
	RTT         time.Duration // the sender's smoothed RTT at the end
	RTTVar      time.Duration
	Sender      bool // the client is the sender
}

// Seconds is the interval's length.
func (s IntervalStream) Seconds() float64 { return (s.End - s.Start).Seconds() }

// BitsPerSecond is the interval's rate.
func (s IntervalStream) BitsPerSecond() float64 { return rate(s.Bytes, s.End-s.Start) }

func rate(bytes uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) * 8 / d.Seconds()
}

// Totals are one end's figures over a whole test.
type Totals struct {
	Elapsed     time.Duration // sender: from the start to the receiver's count; receiver: first byte to last
	Bytes       uint64
	Retransmits uint64 // sender only
	Segments    uint64 // sender only: segments sent
	SRTT        time.Duration
	MinRTT      time.Duration
	MaxCwnd     int
}

// BitsPerSecond is the total rate.
func (t Totals) BitsPerSecond() float64 { return rate(t.Bytes, t.Elapsed) }

// Stream is one connection of a throughput test.
type Stream struct {
	Local, Remote    string
	Sender, Receiver Totals
}

// Result is a finished test.
type Result struct {
	Test      Test
	Start     time.Time
	Streams   []Stream
	Intervals []Interval
	// Sent and Received sum the streams' sender and receiver totals, as
	// iperf3's end.sum_sent and end.sum_received.
	Sent, Received Totals
	MSS            int  // of the first connection, if the transport says
	Extensions     bool // tju's header options were negotiated
	Latency        *LatencyResult
}

// Dialer opens a connection to the server, one per stream.
type Dialer func(ctx context.Context) (net.Conn, error)

// Run runs test t against the server that dial reaches.
func Run(ctx context.Context, dial Dialer, t Test) (*Result, error) {
	if t.Streams == 0 {
		t.Streams = 1
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	conns := make([]net.Conn, t.Streams)
	for i := range conns {
		c, err := dial(ctx)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return nil, err
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			abort(c)
		}
	})
	defer stop()
	res := &Result{Test: t, Start: time.Now()}
	for _, c := range conns {
		res.Streams = append(res.Streams, Stream{Local: c.LocalAddr().String(), Remote: c.RemoteAddr().String()})
	}
	if i, ok := infoOf(conns[0]); ok {
		res.MSS, res.Extensions = i.MSS, i.Extensions
	}
	var err error
	if t.Mode == Latency {
		res.Latency, err = runLatency(ctx, conns[0], t)
	} else {
		err = runThroughput(ctx, conns, t, res)
	}
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return res, err
}

// stream is the client's side of one throughput connection.
type stream struct {
	c       net.Conn
	moved   atomic.Int64 // bytes written (client sends) or received (reverse)
	sender  Totals
	recv    Totals
	maxCwnd atomic.Int64
}

// sample returns the stream's cumulative bytes delivered and retransmits,
// and its window and RTT now.
func (s *stream) sample(reverse bool) IntervalStream {
	i, ok := infoOf(s.c)
	v := IntervalStream{Sender: !reverse, Bytes: uint64(s.moved.Load())}
	if ok && !reverse {
		v.Bytes = i.BytesAcked - min(i.BytesAcked, headerLen)
		v.Retransmits, v.Cwnd, v.RTT, v.RTTVar = i.Retransmits, i.Cwnd, i.SRTT, i.RTTVar
		if int64(i.Cwnd) > s.maxCwnd.Load() {
			s.maxCwnd.Store(int64(i.Cwnd))
		}
	}
	return v
}

func runThroughput(ctx context.Context, conns []net.Conn, t Test, res *Result) error {
	streams := make([]*stream, len(conns))
	for i, c := range conns {
		streams[i] = &stream{c: c}
	}
	h := header{mode: Throughput, reverse: t.Reverse, bytes: t.Bytes, dur: t.Duration, rate: t.Rate}
	if t.Bytes > 0 {
		h.dur = 0
	}
	start := res.Start

	// The sampler: one line for all streams at each tick.
	var mu sync.Mutex
	last := make([]IntervalStream, len(streams))
	lastAt := time.Duration(0)
	sampleAll := func(now time.Time, final bool) {
		mu.Lock()
		defer mu.Unlock()
		at := now.Sub(start)
		if at <= lastAt {
			return
		}
		iv := Interval{Sum: IntervalStream{Start: lastAt, End: at, Sender: !t.Reverse}}
		for i, s := range streams {
			cur := s.sample(t.Reverse)
			d := IntervalStream{Start: lastAt, End: at, Sender: cur.Sender,
				Bytes: cur.Bytes - min(cur.Bytes, last[i].Bytes), Retransmits: cur.Retransmits - min(cur.Retransmits, last[i].Retransmits),
				Cwnd: cur.Cwnd, RTT: cur.RTT, RTTVar: cur.RTTVar}
			last[i] = cur
			iv.Streams = append(iv.Streams, d)
			iv.Sum.Bytes += d.Bytes
			iv.Sum.Retransmits += d.Retransmits
		}
		lastAt = at
		// A last sliver (the test ended just after a tick) is no interval
		// of its own: it joins the one before.
		if final && len(res.Intervals) > 0 && at-iv.Sum.Start < t.Interval/10 {
			prev := &res.Intervals[len(res.Intervals)-1]
			for i := range prev.Streams {
				p, d := &prev.Streams[i], iv.Streams[i]
				p.End, p.Bytes, p.Retransmits = d.End, p.Bytes+d.Bytes, p.Retransmits+d.Retransmits
				p.Cwnd, p.RTT, p.RTTVar = d.Cwnd, d.RTT, d.RTTVar
			}
			prev.Sum.End, prev.Sum.Bytes, prev.Sum.Retransmits = at, prev.Sum.Bytes+iv.Sum.Bytes, prev.Sum.Retransmits+iv.Sum.Retransmits
			return
		}
		res.Intervals = append(res.Intervals, iv)
		if t.OnInterval != nil {
			t.OnInterval(iv)
		}
	}
	stopSampler := func() {}
	if t.Interval > 0 {
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			tk := time.NewTicker(t.Interval)
			defer tk.Stop()
			for {
				select {
				case <-sctx.Done():
					return
				case now := <-tk.C:
					sampleAll(now, false)
				}
			}
		}()
		stopSampler = func() { cancel(); <-done }
	}

	errs := make([]error, len(streams))
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Go(func() {
			if t.Reverse {
				errs[i] = s.receive(h, start)
			} else {
				errs[i] = s.send(ctx, h, start)
			}
			if errs[i] != nil {
				abort(s.c) // and the others end too
				for _, o := range streams {
					abort(o.c)
				}
			}
		})
	}
	wg.Wait()
	end := time.Now()
	stopSampler()
	if err := errors.Join(errs...); err != nil {
		for _, e := range errs {
			if e != nil {
				return e // the first cause; the others are its echo
			}
		}
	}
	if t.Interval > 0 {
		sampleAll(end, true)
	}
	for i, s := range streams {
		s.sender.MaxCwnd = max(s.sender.MaxCwnd, int(s.maxCwnd.Load()))
		res.Streams[i].Sender, res.Streams[i].Receiver = s.sender, s.recv
		for _, p := range []struct{ sum, one *Totals }{{&res.Sent, &s.sender}, {&res.Received, &s.recv}} {
			p.sum.Elapsed = max(p.sum.Elapsed, p.one.Elapsed)
			p.sum.Bytes += p.one.Bytes
			p.sum.Retransmits += p.one.Retransmits
			p.sum.Segments += p.one.Segments
			p.sum.MaxCwnd = max(p.sum.MaxCwnd, p.one.MaxCwnd)
			if p.sum.MinRTT == 0 || p.one.MinRTT > 0 && p.one.MinRTT < p.sum.MinRTT {
				p.sum.MinRTT = p.one.MinRTT
			}
			p.sum.SRTT = max(p.sum.SRTT, p.one.SRTT)
		}
	}
	return nil
}

// send is a stream of a throughput test that the client sends.
func (s *stream) send(ctx context.Context, h header, start time.Time) error {
	c := s.c
	if _, err := c.Write(h.marshal()); err != nil {
		return fmt.Errorf("starting the test: %w", err)
	}
	p := newPacer(h.rate)
	buf := make([]byte, p.chunk(frameMax))
	if h.dur > 0 {
		c.SetWriteDeadline(start.Add(h.dur))
	}
	var sent int64
	for h.dur > 0 || sent < h.bytes {
		b := buf
		if h.dur == 0 {
			b = buf[:min(int64(len(buf)), h.bytes-sent)]
		}
		n, err := c.Write(b)
		sent += int64(n)
		s.moved.Store(sent)
		if err != nil {
			if h.dur > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return fmt.Errorf("sending: %w", err)
		}
		p.wait(ctx, sent, start)
		if h.dur > 0 && time.Since(start) >= h.dur {
			break
		}
	}
	c.SetWriteDeadline(time.Time{})
	if err := closeWrite(c); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	var reply [16]byte
	if _, err := io.ReadFull(c, reply[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("the peer closed without a result: is it a tju bench server?")
		}
		return fmt.Errorf("waiting for the server's count: %w", err)
	}
	s.sender = Totals{Elapsed: time.Since(start), Bytes: uint64(sent)}
	if i, ok := infoOf(c); ok {
		s.sender.Bytes = i.BytesAcked - min(i.BytesAcked, headerLen)
		s.sender.Retransmits, s.sender.Segments, s.sender.SRTT, s.sender.MinRTT = i.Retransmits, i.SegmentsSent, i.SRTT, i.MinRTT
		s.sender.MaxCwnd = i.Cwnd
	}
	io.Copy(io.Discard, c) // the server closes after its count
	s.recv = Totals{Bytes: binary.BigEndian.Uint64(reply[:8]), Elapsed: time.Duration(binary.BigEndian.Uint64(reply[8:]))}
	if s.recv.Bytes != uint64(sent) {
		return fmt.Errorf("the server counted %d bytes, but %d were sent", s.recv.Bytes, sent)
	}
	return nil
}

// receive is a stream of a reverse throughput test: the server sends.
func (s *stream) receive(h header, start time.Time) error {
	c := s.c
	if _, err := c.Write(h.marshal()); err != nil {
		return fmt.Errorf("starting the test: %w", err)
	}
	if err := closeWrite(c); err != nil {
		return fmt.Errorf("starting the test: %w", err)
	}
	buf := make([]byte, frameMax)
	var n int64
	var first, lastByte time.Time
	var lenb [4]byte
	for {
		if _, err := io.ReadFull(c, lenb[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return errors.New("the peer closed before the end of the test: is it a tju bench server?")
			}
			return fmt.Errorf("receiving: %w", err)
		}
		k := int(binary.BigEndian.Uint32(lenb[:]))
		if k == 0 {
			break
		}
		if k > frameMax {
			return fmt.Errorf("a frame of %d bytes: is it a tju bench server?", k)
		}
		if _, err := io.ReadFull(c, buf[:k]); err != nil {
			return fmt.Errorf("receiving: %w", err)
		}
		if n == 0 {
			first = time.Now()
		}
		lastByte = time.Now()
		n += int64(k)
		s.moved.Store(n)
	}
	var tb [trailerLen]byte
	if _, err := io.ReadFull(c, tb[:]); err != nil {
		return fmt.Errorf("waiting for the server's totals: %w", err)
	}
	st := unmarshalTotals(tb[:])
	s.sender = Totals{Elapsed: time.Since(start), Bytes: st.bytes, Retransmits: st.retransmits, Segments: st.segments,
		SRTT: st.srtt, MinRTT: st.minRTT, MaxCwnd: int(min(st.cwnd, math.MaxInt32))}
	s.recv = Totals{Bytes: uint64(n), Elapsed: lastByte.Sub(first)}
	if st.bytes != uint64(n) {
		return fmt.Errorf("the server sent %d bytes, but %d arrived", st.bytes, n)
	}
	c.Close()
	return nil
}

// LatencyResult is a finished latency test.
type LatencyResult struct {
	MsgSize     int
	Requests    int
	Elapsed     time.Duration
	Retransmits uint64
	Summary     LatencySummary
	Intervals   []LatencyInterval
}

// PerSecond is the request rate.
func (l *LatencyResult) PerSecond() float64 {
	if l.Elapsed <= 0 {
		return 0
	}
	return float64(l.Requests) / l.Elapsed.Seconds()
}

// LatencySummary describes round-trip times.
type LatencySummary struct {
	Min, Mean, P50, P90, P99, Max time.Duration
}

// LatencyInterval is one interval of a latency test.
type LatencyInterval struct {
	Start, End time.Duration
	Requests   int
	P50, P99   time.Duration
}

// percentile returns the p-th percentile (nearest rank) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// Summarize describes a set of round-trip times.
func Summarize(lat []time.Duration) LatencySummary {
	if len(lat) == 0 {
		return LatencySummary{}
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return LatencySummary{Min: s[0], Mean: sum / time.Duration(len(s)), P50: percentile(s, 50),
		P90: percentile(s, 90), P99: percentile(s, 99), Max: s[len(s)-1]}
}

func runLatency(ctx context.Context, c net.Conn, t Test) (*LatencyResult, error) {
	h := header{mode: Latency, msgSize: t.MsgSize}
	if _, err := c.Write(h.marshal()); err != nil {
		return nil, fmt.Errorf("starting the test: %w", err)
	}
	res := &LatencyResult{MsgSize: t.MsgSize}
	req, resp := make([]byte, t.MsgSize), make([]byte, t.MsgSize)
	var lat []time.Duration
	start := time.Now()
	ivStart, ivFirst := start, 0
	flush := func(now time.Time) {
		if len(lat) == ivFirst {
			return
		}
		s := Summarize(lat[ivFirst:])
		iv := LatencyInterval{Start: ivStart.Sub(start), End: now.Sub(start), Requests: len(lat) - ivFirst, P50: s.P50, P99: s.P99}
		res.Intervals = append(res.Intervals, iv)
		if t.OnLatency != nil {
			t.OnLatency(iv)
		}
		ivStart, ivFirst = now, len(lat)
	}
	for {
		now := time.Now()
		if t.Duration > 0 && now.Sub(start) >= t.Duration || t.Count > 0 && len(lat) >= t.Count || ctx.Err() != nil {
			break
		}
		if t.Interval > 0 && now.Sub(ivStart) >= t.Interval {
			flush(now)
		}
		t0 := time.Now()
		if _, err := c.Write(req); err != nil {
			return nil, fmt.Errorf("sending a request: %w", err)
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errors.New("the peer closed without answering: is it a tju bench server?")
			}
			return nil, fmt.Errorf("waiting for a response: %w", err)
		}
		lat = append(lat, time.Since(t0))
	}
	end := time.Now()
	if t.Interval > 0 {
		// A last sliver joins the interval before, as in throughput tests.
		if n := len(res.Intervals); n > 0 && end.Sub(ivStart) < t.Interval/10 {
			last := &res.Intervals[n-1]
			all := lat[len(lat)-last.Requests-(len(lat)-ivFirst):]
			s := Summarize(all)
			last.End, last.Requests, last.P50, last.P99 = end.Sub(start), len(all), s.P50, s.P99
		} else {
			flush(end)
		}
	}
	if err := closeWrite(c); err != nil {
		return nil, fmt.Errorf("closing: %w", err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return nil, fmt.Errorf("closing: %w", err)
	}
	res.Requests = len(lat)
	res.Elapsed = end.Sub(start)
	res.Summary = Summarize(lat)
	if i, ok := infoOf(c); ok {
		res.Retransmits = i.Retransmits
	}
	return res, nil
}
