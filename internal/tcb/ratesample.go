package tcb

import "time"

// RateSample is one delivery-rate sample, taken on an acknowledgement that
// delivered data (draft-cheng-iccrg-delivery-rate-estimation, section 3):
// the bytes delivered between the transmission of the newest segment this
// ACK delivered and now, over the longer of the send and ACK intervals of
// that span, so that neither ACK compression nor a burst of sends can
// make the rate exceed what the path delivered.
type RateSample struct {
	// DeliveryRate is Delivered/Interval in bytes per second, or 0 when
	// no valid sample could be taken (the interval is shorter than the
	// minimum RTT, or nothing was delivered).
	DeliveryRate float64
	// Delivered is the data delivered over Interval, in bytes.
	Delivered int
	// Interval is max(send elapsed, ACK elapsed) of the sample.
	Interval time.Duration
	// AppLimited reports that the newest segment delivered was sent while
	// the application had nothing more to send: the rate is a lower bound.
	AppLimited bool
	// PriorDelivered is the connection's delivered count when the newest
	// segment this ACK delivered was sent; a round trip ends when it
	// reaches the delivered count at the round's start.
	PriorDelivered uint64
	// TotalDelivered is the connection's delivered count after this ACK.
	TotalDelivered uint64
	// NewlyAcked and NewlyLost are the bytes this ACK delivered and the
	// bytes it caused to be marked lost.
	NewlyAcked, NewlyLost int
	// TotalLost counts every byte ever marked lost.
	TotalLost uint64
	// RTT is the round trip of the newest segment delivered that was sent
	// only once (0 when every segment delivered was a retransmission).
	RTT time.Duration
	// InFlight is the data in flight after this ACK (RFC 6675 pipe).
	InFlight int
}

// txSnapshot is the sampler's state when a segment was (re)transmitted,
// kept in the segment's record.
type txSnapshot struct {
	delivered     uint64
	deliveredTime time.Duration
	firstSent     time.Duration
	appLimited    bool
}

// rateSampler keeps the connection-wide counters of the delivery-rate
// estimation draft. The engine calls onSend for every data segment sent,
// onDelivered for every segment delivered for the first time (ACKed or
// SACKed), and sample once per ACK.
type rateSampler struct {
	delivered     uint64        // bytes delivered so far (C.delivered)
	deliveredTime time.Duration // when delivered last grew (C.delivered_time)
	firstSent     time.Duration // send time of the newest delivered segment (C.first_sent_time)
	appLimited    uint64        // 0, or the delivered count that ends the app-limited phase
	lost          uint64

	// The sample being built from the current ACK.
	has           bool
	priorDelivery uint64
	priorTime     time.Duration
	sendElapsed   time.Duration
	ackElapsed    time.Duration
	isAppLimited  bool
	newest        time.Duration // send time of the newest segment delivered so far by this ACK
	rtt           time.Duration
	acked, nlost  int
}

// onSend returns the snapshot to keep with a segment sent at now; empty
// reports that nothing was in flight before it, which restarts the
// send and ACK clocks (draft section 3.2).
func (s *rateSampler) onSend(now time.Duration, empty bool) txSnapshot {
	if empty {
		s.firstSent, s.deliveredTime = now, now
	}
	return txSnapshot{delivered: s.delivered, deliveredTime: s.deliveredTime,
		firstSent: s.firstSent, appLimited: s.appLimited != 0}
}

// onDelivered accounts for n bytes of a segment sent at sent, with the
// snapshot tx, delivered for the first time at now. retx reports that the
// segment was sent more than once, so its round trip is ambiguous.
func (s *rateSampler) onDelivered(now time.Duration, tx *txSnapshot, sent time.Duration, n int, retx bool) {
	s.delivered += uint64(n)
	s.deliveredTime = now
	s.acked += n
	// Section 3.3: the sample follows the most recently sent segment
	// delivered by this ACK.
	if !s.has || tx.delivered > s.priorDelivery || (tx.delivered == s.priorDelivery && sent >= s.newest) {
		s.has = true
		s.priorDelivery = tx.delivered
		s.priorTime = tx.deliveredTime
		s.isAppLimited = tx.appLimited
		s.sendElapsed = sent - tx.firstSent
		s.ackElapsed = now - tx.deliveredTime
		s.newest = sent
		s.firstSent = sent
	}
	if !retx && sent >= s.newest {
		s.rtt = now - sent
	}
}

// onLost counts n bytes newly marked lost.
func (s *rateSampler) onLost(n int) {
	s.lost += uint64(n)
	s.nlost += n
}

// markAppLimited records that the application has nothing more to send
// while the window has room (section 3.4): samples of segments sent from
// now until what is in flight is delivered are app-limited.
func (s *rateSampler) markAppLimited(inFlight int) {
	s.appLimited = max(s.delivered+uint64(inFlight), 1)
}

// sample finishes the sample of the current ACK and resets the per-ACK
// state. ok is false when the ACK delivered and lost nothing.
func (s *rateSampler) sample(minRTT time.Duration, inFlight int) (rs RateSample, ok bool) {
	if s.appLimited != 0 && s.delivered > s.appLimited {
		s.appLimited = 0
	}
	if s.acked == 0 && s.nlost == 0 {
		s.has = false
		return rs, false
	}
	rs = RateSample{
		NewlyAcked: s.acked, NewlyLost: s.nlost, TotalLost: s.lost,
		TotalDelivered: s.delivered, RTT: s.rtt, InFlight: inFlight,
	}
	if s.has {
		rs.PriorDelivered = s.priorDelivery
		rs.AppLimited = s.isAppLimited
		rs.Delivered = int(s.delivered - s.priorDelivery)
		rs.Interval = max(s.sendElapsed, s.ackElapsed)
		// Section 3.3: an interval shorter than the minimum RTT is a
		// burst of ACKs for segments sent apart, not a rate.
		if rs.Interval > 0 && rs.Delivered > 0 && rs.Interval >= minRTT {
			rs.DeliveryRate = float64(rs.Delivered) / rs.Interval.Seconds()
		}
	}
	s.has, s.acked, s.nlost, s.rtt, s.newest = false, 0, 0, 0, 0
	return rs, true
}
