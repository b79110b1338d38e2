package tcb

import (
	"time"

	"github.com/tjunet/tjunet/internal/wire"
	"github.com/tjunet/tjunet/trace"
)

// Tracing. Each helper is a no-op without a tracer.

func (t *TCB) traceTime(now time.Duration) int64 {
	return t.cfg.TraceEpoch + now.Microseconds()
}

// Events carry the time of the latest input: the engine reads no clock.
func (t *TCB) tracePeer(s *wire.Segment) {
	if t.cfg.Tracer == nil {
		return
	}
	t.cfg.Tracer.Trace(&trace.Event{Time: t.cfg.TraceEpoch + t.lastNow.Microseconds(), Kind: trace.KindRecv,
		Seq: s.Seq, Ack: s.Ack, Flags: s.Flags, Length: len(s.Payload)})
}

func (t *TCB) traceCC(typ int) {
	if t.cfg.Tracer == nil || t.cc == nil {
		return
	}
	ts := t.cfg.TraceEpoch + t.lastNow.Microseconds()
	if c := t.cc.Window(); c != t.trLastCwnd || typ >= trace.CwndFastRetransmit {
		t.trLastCwnd = c
		t.cfg.Tracer.Trace(&trace.Event{Time: ts, Kind: trace.KindCwnd, Type: typ, Size: c})
	}
	if s := min(t.cc.Ssthresh(), 1<<30); s != t.trLastSsth {
		t.trLastSsth = s
		t.cfg.Tracer.Trace(&trace.Event{Time: ts, Kind: trace.KindSsth, Size: s})
	}
	t.traceSwnd()
}

func (t *TCB) traceSwnd() {
	if t.cfg.Tracer == nil || t.cc == nil {
		return
	}
	if w := min(t.cc.Window(), t.sndWnd); w != t.trLastSwnd {
		t.trLastSwnd = w
		t.cfg.Tracer.Trace(&trace.Event{Time: t.cfg.TraceEpoch + t.lastNow.Microseconds(), Kind: trace.KindSwnd, Size: w})
	}
}

func (t *TCB) traceRwnd() {
	if t.cfg.Tracer == nil {
		return
	}
	if w := t.rbuf.free(); w != t.trLastRwnd {
		t.trLastRwnd = w
		t.cfg.Tracer.Trace(&trace.Event{Time: t.cfg.TraceEpoch + t.lastNow.Microseconds(), Kind: trace.KindRwnd, Size: w})
	}
}

func (t *TCB) traceWindows() {
	t.traceRwnd()
	t.traceSwnd()
}

func (t *TCB) traceRTT() {
	if t.cfg.Tracer == nil {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	t.cfg.Tracer.Trace(&trace.Event{Time: t.cfg.TraceEpoch + t.lastNow.Microseconds(), Kind: trace.KindRtts,
		SampleRTT: ms(t.rtt.latest), EstimatedRTT: ms(t.rtt.srtt), DeviationRTT: ms(t.rtt.rttvar),
		TimeoutInterval: ms(t.rtt.current())})
}

func (t *TCB) traceDelv(seq seqnum, n int) {
	if t.cfg.Tracer == nil {
		return
	}
	t.cfg.Tracer.Trace(&trace.Event{Time: t.cfg.TraceEpoch + t.lastNow.Microseconds(), Kind: trace.KindDelv, Seq: uint32(seq), Size: n})
}
