// Package trace reads and writes the TJU lab's per-connection event trace.
//
// Each event is one line of the form
//
//	[<UTC microseconds>] [<EVENT>] [<fields>]
//
// with fields separated by single spaces, exactly as the lab's framework writes
// them into client.event.trace and server.event.trace:
//
//	SEND  seq:%d ack:%d flag:%d length:%d
//	RECV  seq:%d ack:%d flag:%d length:%d
//	CWND  type:%d size:%d
//	RWND  size:%d
//	SWND  size:%d
//	RTTS  SampleRTT:%f EstimatedRTT:%f DeviationRTT:%f TimeoutInterval:%f
//	DELV  seq:%d size:%d
//
// tjunet adds one event the lab's tools skip because they do not know its name:
//
//	SSTH  size:%d      (slow-start threshold, bytes)
//
// This package is the format and the Tracer interface only: it does no I/O,
// so the protocol engine can depend on it. Package trace/traceio writes
// trace files (without blocking the tracer) and reads them back.
package trace

import (
	"strconv"
)

// Kind names an event type.
type Kind uint8

// Event kinds, in the lab's names.
const (
	KindSend Kind = iota + 1 // SEND: a segment left this host
	KindRecv                 // RECV: a segment arrived
	KindCwnd                 // CWND: the congestion window changed
	KindRwnd                 // RWND: the receiver's free buffer changed
	KindSwnd                 // SWND: the send window changed
	KindRtts                 // RTTS: a new RTT sample and the estimator's state
	KindDelv                 // DELV: bytes delivered in order to the application
	KindSsth                 // SSTH: the slow-start threshold changed (tjunet extension)
)

var kindNames = [...]string{
	KindSend: "SEND", KindRecv: "RECV", KindCwnd: "CWND", KindRwnd: "RWND",
	KindSwnd: "SWND", KindRtts: "RTTS", KindDelv: "DELV", KindSsth: "SSTH",
}

// String returns the lab's name of the kind, such as "SEND".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the kind with the given lab name.
func ParseKind(name string) (Kind, bool) {
	for k, n := range kindNames {
		if n != "" && n == name {
			return Kind(k), true
		}
	}
	return 0, false
}

// CWND event types, as the lab numbers them.
const (
	CwndSlowStart      = 0 // growth in slow start
	CwndCongAvoid      = 1 // growth in congestion avoidance
	CwndFastRetransmit = 2 // reduction on fast retransmit / fast recovery
	CwndTimeout        = 3 // reduction on a retransmission timeout
)

// CwndTypeName returns a short description of a CWND event type.
func CwndTypeName(t int) string {
	switch t {
	case CwndSlowStart:
		return "slow start"
	case CwndCongAvoid:
		return "congestion avoidance"
	case CwndFastRetransmit:
		return "fast retransmit"
	case CwndTimeout:
		return "timeout"
	}
	return "type " + strconv.Itoa(t)
}

// Event is one trace line. Which fields are meaningful depends on Kind:
//
//	SEND, RECV: Seq, Ack, Flags, Length
//	CWND:       Type, Size
//	RWND, SWND, SSTH: Size
//	RTTS:       SampleRTT, EstimatedRTT, DeviationRTT, TimeoutInterval (milliseconds)
//	DELV:       Seq, Size
type Event struct {
	Time   int64 // UTC microseconds since the Unix epoch
	Kind   Kind
	Seq    uint32
	Ack    uint32
	Flags  uint8
	Length int
	Type   int
	Size   int

	SampleRTT       float64
	EstimatedRTT    float64
	DeviationRTT    float64
	TimeoutInterval float64
}

// Append appends e in the lab's line format, with a trailing newline, to b.
func (e *Event) Append(b []byte) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, e.Time, 10)
	b = append(b, "] ["...)
	b = append(b, e.Kind.String()...)
	b = append(b, "] ["...)
	switch e.Kind {
	case KindSend, KindRecv:
		b = append(b, "seq:"...)
		b = strconv.AppendUint(b, uint64(e.Seq), 10)
		b = append(b, " ack:"...)
		b = strconv.AppendUint(b, uint64(e.Ack), 10)
		b = append(b, " flag:"...)
		b = strconv.AppendUint(b, uint64(e.Flags), 10)
		b = append(b, " length:"...)
		b = strconv.AppendInt(b, int64(e.Length), 10)
	case KindCwnd:
		b = append(b, "type:"...)
		b = strconv.AppendInt(b, int64(e.Type), 10)
		b = append(b, " size:"...)
		b = strconv.AppendInt(b, int64(e.Size), 10)
	case KindRwnd, KindSwnd, KindSsth:
		b = append(b, "size:"...)
		b = strconv.AppendInt(b, int64(e.Size), 10)
	case KindRtts:
		b = append(b, "SampleRTT:"...)
		b = strconv.AppendFloat(b, e.SampleRTT, 'f', 6, 64)
		b = append(b, " EstimatedRTT:"...)
		b = strconv.AppendFloat(b, e.EstimatedRTT, 'f', 6, 64)
		b = append(b, " DeviationRTT:"...)
		b = strconv.AppendFloat(b, e.DeviationRTT, 'f', 6, 64)
		b = append(b, " TimeoutInterval:"...)
		b = strconv.AppendFloat(b, e.TimeoutInterval, 'f', 6, 64)
	case KindDelv:
		b = append(b, "seq:"...)
		b = strconv.AppendUint(b, uint64(e.Seq), 10)
		b = append(b, " size:"...)
		b = strconv.AppendInt(b, int64(e.Size), 10)
	}
	return append(b, "]\n"...)
}

// String returns e as one trace line without the trailing newline.
func (e *Event) String() string {
	b := e.Append(nil)
	return string(b[:len(b)-1])
}

// Tracer receives events. Implementations must not retain e after returning.
type Tracer interface {
	Trace(e *Event)
}
