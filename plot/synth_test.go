package plot

import (
	"math"

	"github.com/tjunet/tjunet/trace"
)

// synth returns the sender's and receiver's events of a made-up Reno
// transfer lasting about rounds round trips of 20 ms: slow start, then a
// sawtooth of congestion avoidance with a fast retransmit every 40 rounds and
// one timeout half-way. Every kind of event and every CWND type occurs, and
// the sequence numbers wrap past 2^32 early on.
func synth(rounds int) []trace.Event {
	const mss = 1375
	var ev []trace.Event
	t := int64(1663745643000000)
	add := func(e trace.Event) {
		e.Time = t
		ev = append(ev, e)
	}
	isn := uint32(math.MaxUint32 - 20*mss)
	peer := uint32(646)
	add(trace.Event{Kind: trace.KindSend, Seq: isn, Flags: trace.FlagSYN})
	t += 20000
	add(trace.Event{Kind: trace.KindRecv, Seq: peer, Ack: isn + 1, Flags: trace.FlagSYN | trace.FlagACK})
	add(trace.Event{Kind: trace.KindSend, Seq: isn + 1, Ack: peer + 1, Flags: trace.FlagACK})

	cwnd, ssthresh := mss, 64*mss
	next, acked := isn+1, isn+1
	srtt, rttvar := 20.0, 10.0
	add(trace.Event{Kind: trace.KindSsth, Size: ssthresh})
	add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndSlowStart, Size: cwnd})
	rwnd := 44000
	for r := 0; r < rounds; r++ {
		// Send a window's worth.
		for i := 0; i < cwnd/mss; i++ {
			add(trace.Event{Kind: trace.KindSend, Seq: next, Length: mss})
			next += mss
			t += 100
		}
		add(trace.Event{Kind: trace.KindSwnd, Size: min(cwnd, rwnd)})
		t += 20000
		switch {
		case r == rounds/2: // everything lost: timeout
			t += int64(2*srtt*1000) + 200000
			ssthresh = max(int(next-acked)/2, 2*mss)
			cwnd = mss
			add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndTimeout, Size: cwnd})
			add(trace.Event{Kind: trace.KindSsth, Size: ssthresh})
			add(trace.Event{Kind: trace.KindSend, Seq: acked, Length: mss}) // retransmission
			next = acked + mss
			continue
		case r%40 == 39: // one loss: three duplicate ACKs, fast retransmit
			for range 3 {
				add(trace.Event{Kind: trace.KindRecv, Seq: peer + 1, Ack: acked, Flags: trace.FlagACK})
				t += 100
			}
			ssthresh = max(cwnd/2, 2*mss)
			cwnd = ssthresh + 3*mss
			add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndFastRetransmit, Size: cwnd})
			add(trace.Event{Kind: trace.KindSsth, Size: ssthresh})
			add(trace.Event{Kind: trace.KindSend, Seq: acked, Length: mss})
			t += 20000
			cwnd = ssthresh
		}
		// ACKs come back, one per segment.
		for acked != next {
			acked += mss
			sample := 20 + float64((r*7+int(acked))%5)
			rttvar = 0.75*rttvar + 0.25*math.Abs(srtt-sample)
			srtt = 0.875*srtt + 0.125*sample
			rwnd = 44000 - int((acked/mss)%4)*mss
			add(trace.Event{Kind: trace.KindRecv, Seq: peer + 1, Ack: acked, Flags: trace.FlagACK})
			add(trace.Event{Kind: trace.KindRtts, SampleRTT: sample, EstimatedRTT: srtt, DeviationRTT: rttvar,
				TimeoutInterval: max(srtt+4*rttvar, 200)})
			add(trace.Event{Kind: trace.KindDelv, Seq: acked - mss, Size: mss})
			add(trace.Event{Kind: trace.KindRwnd, Size: rwnd})
			if cwnd < ssthresh {
				cwnd += mss
				add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndSlowStart, Size: cwnd})
			} else {
				cwnd += max(mss*mss/cwnd, 1)
				add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndCongAvoid, Size: cwnd})
			}
			t += 50
		}
	}
	add(trace.Event{Kind: trace.KindSend, Seq: next, Ack: peer + 1, Flags: trace.FlagFIN | trace.FlagACK})
	t += 20000
	add(trace.Event{Kind: trace.KindRecv, Seq: peer + 1, Ack: next + 1, Flags: trace.FlagFIN | trace.FlagACK})
	add(trace.Event{Kind: trace.KindSend, Seq: next + 1, Ack: peer + 2, Flags: trace.FlagACK})
	return ev
}
