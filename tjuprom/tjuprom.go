// Package tjuprom exports a tju endpoint's counters and its connections'
// Info as Prometheus metrics, through a prometheus.Collector that reads
// them at each scrape.
//
// Endpoint metrics (tju.EndpointStats) are named tju_endpoint_*; the
// metrics of each connection (tju.Info) are named tju_conn_* and carry the
// labels local and remote ("127.0.0.1:40123/1234", UDP address and TJU
// port). Times are in seconds and sizes in bytes, as Prometheus names
// them.
//
// Serve puts both on HTTP, at /metrics for Prometheus and as expvar JSON
// at /debug/vars, as tju's --metrics flag does.
package tjuprom

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tjunet/tjunet/tju"
)

// Collector is a prometheus.Collector for one endpoint and the
// connections a function lists.
type Collector struct {
	ep    *tju.Endpoint
	conns func() []*tju.Conn
	descs []*prometheus.Desc
}

var connLabels = []string{"local", "remote"}

// endpointMetrics are the endpoint's counters, in EndpointStats order.
var endpointMetrics = []struct {
	name, help string
	get        func(tju.EndpointStats) uint64
}{
	{"datagrams_received_total", "UDP datagrams read from the socket.", func(s tju.EndpointStats) uint64 { return s.DatagramsIn }},
	{"datagrams_sent_total", "UDP datagrams written to the socket.", func(s tju.EndpointStats) uint64 { return s.DatagramsOut }},
	{"received_bytes_total", "Bytes of the UDP datagrams read.", func(s tju.EndpointStats) uint64 { return s.BytesIn }},
	{"sent_bytes_total", "Bytes of the UDP datagrams written.", func(s tju.EndpointStats) uint64 { return s.BytesOut }},
	{"malformed_total", "Datagrams dropped as malformed (short, bad lengths or options).", func(s tju.EndpointStats) uint64 { return s.Malformed }},
	{"bad_checksum_total", "Datagrams dropped for a CRC-32C mismatch.", func(s tju.EndpointStats) uint64 { return s.BadChecksum }},
	{"no_connection_total", "Valid segments for no connection or listener.", func(s tju.EndpointStats) uint64 { return s.NoConnection }},
	{"connections_opened_total", "Connections that reached ESTABLISHED.", func(s tju.EndpointStats) uint64 { return s.ConnsOpened }},
	{"connections_refused_total", "SYNs answered with a reset because nothing listens.", func(s tju.EndpointStats) uint64 { return s.ConnsRefused }},
	{"resets_sent_total", "Resets sent.", func(s tju.EndpointStats) uint64 { return s.ResetsSent }},
	{"accept_overflows_total", "SYNs dropped because a listener's queues were full.", func(s tju.EndpointStats) uint64 { return s.AcceptOverflows }},
	{"send_errors_total", "Datagrams the socket failed to send.", func(s tju.EndpointStats) uint64 { return s.SendErrors }},
}

// connMetrics are the numbers of a connection's Info.
var connMetrics = []struct {
	name, help string
	kind       prometheus.ValueType
	get        func(tju.Info) float64
}{
	{"srtt_seconds", "Smoothed round-trip time.", prometheus.GaugeValue, func(i tju.Info) float64 { return i.SRTT.Seconds() }},
	{"rttvar_seconds", "Round-trip time variation.", prometheus.GaugeValue, func(i tju.Info) float64 { return i.RTTVar.Seconds() }},
	{"min_rtt_seconds", "Smallest round-trip time sample.", prometheus.GaugeValue, func(i tju.Info) float64 { return i.MinRTT.Seconds() }},
	{"rto_seconds", "Retransmission timeout in force, backoff included.", prometheus.GaugeValue, func(i tju.Info) float64 { return i.RTO.Seconds() }},
	{"cwnd_bytes", "Congestion window.", prometheus.GaugeValue, func(i tju.Info) float64 { return float64(i.Cwnd) }},
	{"ssthresh_bytes", "Slow-start threshold (+Inf before the first loss).", prometheus.GaugeValue, ssthresh},
	{"send_window_bytes", "The peer's advertised receive window.", prometheus.GaugeValue, func(i tju.Info) float64 { return float64(i.SendWindow) }},
	{"receive_window_bytes", "Our free receive buffer.", prometheus.GaugeValue, func(i tju.Info) float64 { return float64(i.RecvWindow) }},
	{"mss_bytes", "Payload bytes per segment.", prometheus.GaugeValue, func(i tju.Info) float64 { return float64(i.MSS) }},
	{"sent_bytes_total", "Payload bytes transmitted, retransmissions included.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.BytesSent) }},
	{"acked_bytes_total", "Payload bytes the peer acknowledged.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.BytesAcked) }},
	{"received_bytes_total", "Payload bytes received in order.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.BytesReceived) }},
	{"segments_sent_total", "Segments sent.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.SegmentsSent) }},
	{"segments_received_total", "Segments received.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.SegmentsRecv) }},
	{"retransmits_total", "Segments retransmitted.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.Retransmits) }},
	{"timeouts_total", "Retransmission timeouts.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.Timeouts) }},
	{"fast_recoveries_total", "Loss recoveries entered on duplicate ACKs or SACK.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.FastRecoveries) }},
	{"duplicate_segments_total", "Segments received that brought no new byte.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.DuplicateSegs) }},
	{"dropped_no_checksum_total", "Segments dropped for lacking the negotiated checksum.", prometheus.CounterValue, func(i tju.Info) float64 { return float64(i.DroppedNoChksum) }},
}

// ssthresh reports the slow-start threshold, with the "infinite" start
// value (1 GiB or more) as +Inf.
func ssthresh(i tju.Info) float64 {
	if i.Ssthresh <= 0 || i.Ssthresh >= 1<<30 {
		return posInf
	}
	return float64(i.Ssthresh)
}

var posInf = math.Inf(1)

// NewCollector returns a collector for ep and the connections conns
// returns at each scrape (nil: none). conns must be safe to call from
// the scraping goroutine.
func NewCollector(ep *tju.Endpoint, conns func() []*tju.Conn) *Collector {
	c := &Collector{ep: ep, conns: conns}
	for _, m := range endpointMetrics {
		c.descs = append(c.descs, prometheus.NewDesc("tju_endpoint_"+m.name, m.help, nil, nil))
	}
	for _, m := range connMetrics {
		c.descs = append(c.descs, prometheus.NewDesc("tju_conn_"+m.name, m.help, connLabels, nil))
	}
	c.descs = append(c.descs, prometheus.NewDesc("tju_conn_state", "The connection's state (the label; the value is always 1).", append(connLabels, "state"), nil))
	c.descs = append(c.descs, prometheus.NewDesc("tju_conn_extensions", "1 if tjunet's header extensions (window scaling, SACK, CRC-32C) were negotiated.", connLabels, nil))
	return c
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect reads the endpoint's Stats and each connection's Info.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.ep.Stats()
	for i, m := range endpointMetrics {
		ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.CounterValue, float64(m.get(s)))
	}
	if c.conns == nil {
		return
	}
	base := len(endpointMetrics)
	seen := map[[2]string]bool{}
	for _, conn := range c.conns() {
		info := conn.Info()
		labels := []string{conn.LocalAddr().String(), conn.RemoteAddr().String()}
		if seen[[2]string(labels)] {
			continue // a closed connection and its successor on the same ports: report one
		}
		seen[[2]string(labels)] = true
		for i, m := range connMetrics {
			ch <- prometheus.MustNewConstMetric(c.descs[base+i], m.kind, m.get(info), labels...)
		}
		ch <- prometheus.MustNewConstMetric(c.descs[base+len(connMetrics)], prometheus.GaugeValue, 1, append(labels, info.State.String())...)
		ext := 0.0
		if info.Extensions {
			ext = 1
		}
		ch <- prometheus.MustNewConstMetric(c.descs[base+len(connMetrics)+1], prometheus.GaugeValue, ext, labels...)
	}
}
