package perf

import (
	"net"
	"strconv"
	"time"
)

// The JSON of a result, in iperf3's schema (iperf3 -J) for the parts that
// mean the same: start.connected, start.test_start, intervals[].streams
// and .sum, end.streams[].sender and .receiver, end.sum_sent and
// end.sum_received, with iperf3's field names and units (seconds, bytes,
// bits per second, RTT in microseconds). What iperf3 has no field for goes
// under "tju".

// JSON is a result as iperf3 -J writes one.
type JSON struct {
	Start     JSONStart      `json:"start"`
	Intervals []JSONInterval `json:"intervals"`
	End       JSONEnd        `json:"end"`
	TJU       JSONTJU        `json:"tju"`
}

// JSONStart is iperf3's "start".
type JSONStart struct {
	Connected    []JSONConnected `json:"connected"`
	Version      string          `json:"version"`
	Timestamp    JSONTimestamp   `json:"timestamp"`
	ConnectingTo JSONHostPort    `json:"connecting_to"`
	TCPMSS       int             `json:"tcp_mss_default,omitempty"`
	TestStart    JSONTestStart   `json:"test_start"`
}

// JSONConnected is one of iperf3's start.connected: a stream's two addresses.
type JSONConnected struct {
	Socket     int    `json:"socket"`
	LocalHost  string `json:"local_host"`
	LocalPort  int    `json:"local_port"`
	RemoteHost string `json:"remote_host"`
	RemotePort int    `json:"remote_port"`
}

// JSONTimestamp is iperf3's start.timestamp.
type JSONTimestamp struct {
	Time     string `json:"time"`
	TimeSecs int64  `json:"timesecs"`
}

// JSONHostPort is iperf3's start.connecting_to.
type JSONHostPort struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// JSONTestStart is iperf3's start.test_start: what the test was asked to do.
type JSONTestStart struct {
	Protocol   string  `json:"protocol"`
	NumStreams int     `json:"num_streams"`
	BlkSize    int     `json:"blksize"`
	Omit       int     `json:"omit"`
	Duration   float64 `json:"duration"`
	Bytes      int64   `json:"bytes"`
	Blocks     int     `json:"blocks"`
	Reverse    int     `json:"reverse"`
	TargetBPS  int64   `json:"target_bitrate"`
}

// JSONInterval is one of iperf3's "intervals".
type JSONInterval struct {
	Streams []JSONIntervalStream `json:"streams"`
	Sum     JSONIntervalStream   `json:"sum"`
}

// JSONSpan is what iperf3's interval and total records share: a stream
// (its socket; 0 in a sum) and what it moved when.
type JSONSpan struct {
	Socket        int     `json:"socket,omitempty"`
	Start         float64 `json:"start"`
	End           float64 `json:"end"`
	Seconds       float64 `json:"seconds"`
	Bytes         uint64  `json:"bytes"`
	BitsPerSecond float64 `json:"bits_per_second"`
}

// JSONIntervalStream is one stream, or the sum, in one of iperf3's
// intervals.
type JSONIntervalStream struct {
	JSONSpan
	Retransmits uint64 `json:"retransmits"`
	SndCwnd     int    `json:"snd_cwnd,omitempty"`
	RTT         int64  `json:"rtt,omitempty"`
	RTTVar      int64  `json:"rttvar,omitempty"`
	Omitted     bool   `json:"omitted"`
	Sender      bool   `json:"sender"`
}

// JSONEnd is iperf3's "end".
type JSONEnd struct {
	Streams            []JSONEndStream `json:"streams"`
	SumSent            JSONSum         `json:"sum_sent"`
	SumReceived        JSONSum         `json:"sum_received"`
	SenderCongestion   string          `json:"sender_tcp_congestion,omitempty"`
	ReceiverCongestion string          `json:"receiver_tcp_congestion,omitempty"`
}

// JSONEndStream is one of iperf3's end.streams: a stream's totals at each end.
type JSONEndStream struct {
	Sender   JSONSum `json:"sender"`
	Receiver JSONSum `json:"receiver"`
}

// JSONSum is a stream's or the test's totals at one end.
type JSONSum struct {
	JSONSpan
	Retransmits *uint64 `json:"retransmits,omitempty"` // sender only
	MaxSndCwnd  int     `json:"max_snd_cwnd,omitempty"`
	MinRTT      int64   `json:"min_rtt,omitempty"`
	MeanRTT     int64   `json:"mean_rtt,omitempty"`
	Sender      bool    `json:"sender"`
}

// JSONTJU is what tju reports beyond iperf3's fields.
type JSONTJU struct {
	Mode         string       `json:"mode"`
	Extensions   bool         `json:"extensions"`
	SegmentsSent uint64       `json:"segments_sent,omitempty"`
	Latency      *JSONLatency `json:"latency,omitempty"`
}

// JSONLatency is a latency test (netperf TCP_RR's figures), times in
// microseconds.
type JSONLatency struct {
	MsgSize           int                   `json:"msg_size"`
	Requests          int                   `json:"requests"`
	Seconds           float64               `json:"seconds"`
	RequestsPerSecond float64               `json:"requests_per_second"`
	Retransmits       uint64                `json:"retransmits"`
	LatencyUS         JSONLatencySummary    `json:"latency_us"`
	Intervals         []JSONLatencyInterval `json:"intervals"`
}

// JSONLatencySummary describes round-trip times, in microseconds.
type JSONLatencySummary struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// JSONLatencyInterval is one interval of a latency test.
type JSONLatencyInterval struct {
	Start    float64 `json:"start"`
	End      float64 `json:"end"`
	Requests int     `json:"requests"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func splitHostPort(a string) (string, int) {
	// tju addresses are "ip:port/tjuport"; the UDP part is the socket.
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] == '/' {
			a = a[:i]
			break
		}
	}
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return a, 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// JSON returns the result in iperf3's schema; cc names the congestion
// control (for end.sender_tcp_congestion), version the program.
func (r *Result) JSON(version, cc string) *JSON {
	t := r.Test
	j := &JSON{Intervals: []JSONInterval{}}
	j.Start.Version = version
	j.Start.Timestamp = JSONTimestamp{Time: r.Start.UTC().Format(time.RFC1123), TimeSecs: r.Start.Unix()}
	j.Start.TCPMSS = r.MSS
	for i, s := range r.Streams {
		lh, lp := splitHostPort(s.Local)
		rh, rp := splitHostPort(s.Remote)
		j.Start.Connected = append(j.Start.Connected, JSONConnected{Socket: i + 1, LocalHost: lh, LocalPort: lp, RemoteHost: rh, RemotePort: rp})
		if i == 0 {
			j.Start.ConnectingTo = JSONHostPort{Host: rh, Port: rp}
		}
	}
	rev := 0
	if t.Reverse {
		rev = 1
	}
	j.Start.TestStart = JSONTestStart{Protocol: "TJU", NumStreams: max(t.Streams, 1), BlkSize: frameMax,
		Duration: t.Duration.Seconds(), Bytes: t.Bytes, Reverse: rev, TargetBPS: t.Rate}
	j.TJU = JSONTJU{Mode: t.Mode.String(), Extensions: r.Extensions, SegmentsSent: r.Sent.Segments}
	if t.Mode == Latency {
		j.Start.TestStart.BlkSize = t.MsgSize
	}
	for _, iv := range r.Intervals {
		ji := JSONInterval{Sum: intervalJSON(0, iv.Sum)}
		ji.Sum.SndCwnd, ji.Sum.RTT, ji.Sum.RTTVar = 0, 0, 0
		for k, s := range iv.Streams {
			ji.Streams = append(ji.Streams, intervalJSON(k+1, s))
		}
		j.Intervals = append(j.Intervals, ji)
	}
	sender := !t.Reverse
	for k, s := range r.Streams {
		j.End.Streams = append(j.End.Streams, JSONEndStream{
			Sender: sumJSON(k+1, s.Sender, true, sender), Receiver: sumJSON(k+1, s.Receiver, false, sender)})
	}
	j.End.SumSent = sumJSON(0, r.Sent, true, sender)
	j.End.SumReceived = sumJSON(0, r.Received, false, sender)
	if t.Mode == Throughput {
		j.End.SenderCongestion, j.End.ReceiverCongestion = cc, cc
	}
	if l := r.Latency; l != nil {
		s := l.Summary
		jl := &JSONLatency{MsgSize: l.MsgSize, Requests: l.Requests, Seconds: l.Elapsed.Seconds(), RequestsPerSecond: l.PerSecond(),
			Retransmits: l.Retransmits, Intervals: []JSONLatencyInterval{},
			LatencyUS: JSONLatencySummary{Min: us(s.Min), Mean: us(s.Mean), P50: us(s.P50), P90: us(s.P90), P99: us(s.P99), Max: us(s.Max)}}
		for _, iv := range l.Intervals {
			jl.Intervals = append(jl.Intervals, JSONLatencyInterval{Start: iv.Start.Seconds(), End: iv.End.Seconds(), Requests: iv.Requests, P50us: us(iv.P50), P99us: us(iv.P99)})
		}
		j.TJU.Latency = jl
		j.End.Streams = []JSONEndStream{}
	}
	if j.End.Streams == nil {
		j.End.Streams = []JSONEndStream{}
	}
	return j
}

func intervalJSON(socket int, s IntervalStream) JSONIntervalStream {
	return JSONIntervalStream{JSONSpan: JSONSpan{Socket: socket, Start: s.Start.Seconds(), End: s.End.Seconds(), Seconds: s.Seconds(),
		Bytes: s.Bytes, BitsPerSecond: s.BitsPerSecond()}, Retransmits: s.Retransmits, SndCwnd: s.Cwnd,
		RTT: s.RTT.Microseconds(), RTTVar: s.RTTVar.Microseconds(), Sender: s.Sender}
}

// sumJSON writes one end's totals; iperf3's "sender" field says whether
// the client is the sender, in both.
func sumJSON(socket int, t Totals, sendingEnd, clientSends bool) JSONSum {
	j := JSONSum{JSONSpan: JSONSpan{Socket: socket, End: t.Elapsed.Seconds(), Seconds: t.Elapsed.Seconds(), Bytes: t.Bytes,
		BitsPerSecond: t.BitsPerSecond()}, Sender: clientSends}
	if sendingEnd {
		r := t.Retransmits
		j.Retransmits = &r
		j.MaxSndCwnd, j.MinRTT, j.MeanRTT = t.MaxCwnd, t.MinRTT.Microseconds(), t.SRTT.Microseconds()
	}
	return j
}
