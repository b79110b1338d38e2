package tjuprom

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tjunet/tjunet/tju"
)

// Server serves an endpoint's and its connections' counters over HTTP
// twice: for Prometheus (and OpenMetrics) scrapers at /metrics, through a
// Collector, with the Go runtime's and the process's metrics; and as the
// expvar page /debug/vars: the process's standard variables (cmdline,
// memstats and anything published with expvar.Publish) plus
// "tju.endpoint" (EndpointStats), "tju.conns" (each connection's Info)
// and "tju.conns_total". Its own variables and metrics are kept in the
// Server rather than in expvar's and Prometheus's global registries, so
// that one process can run several servers without a name published
// twice.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	vars map[string]expvar.Var
	done chan struct{}
}

// Serve listens on addr (a TCP address like "localhost:6060") and serves
// ep and the connections conns lists, until Close. total, if not nil,
// counts the connections seen in all, for "tju.conns_total".
func Serve(addr string, ep *tju.Endpoint, conns func() []*tju.Conn, total func() int64) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if total == nil {
		total = func() int64 { return int64(len(conns())) }
	}
	m := &Server{ln: ln, vars: endpointVars(ep, conns, total), done: make(chan struct{})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(NewCollector(ep, conns))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("/debug/vars", m.serveVars)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<a href="/metrics">/metrics</a> (Prometheus, OpenMetrics) · <a href="/debug/vars">/debug/vars</a> (expvar, JSON)`+"\n")
	})
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(m.done)
		m.srv.Serve(ln)
	}()
	return m, nil
}

// URL returns the address of the server, with no path:
// "http://127.0.0.1:6060".
func (m *Server) URL() string { return "http://" + m.ln.Addr().String() }

// Close stops the server, giving requests in flight a second to finish.
func (m *Server) Close() {
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil {
		m.srv.Close()
	}
	<-m.done
}

// serveVars writes every variable as one JSON object, as expvar.Handler
// does, sorted by name.
func (m *Server) serveVars(w http.ResponseWriter, r *http.Request) {
	all := map[string]expvar.Var{}
	expvar.Do(func(kv expvar.KeyValue) { all[kv.Key] = kv.Value })
	for k, v := range m.vars {
		all[k] = v
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range names {
		if i > 0 {
			b.WriteString(",\n")
		}
		key, _ := json.Marshal(k)
		fmt.Fprintf(&b, "%s: %s", key, all[k].String())
	}
	b.WriteString("\n}\n")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write([]byte(b.String()))
}

// endpointVars returns the expvar variables of an endpoint and of the
// connections conns lists.
func endpointVars(ep *tju.Endpoint, conns func() []*tju.Conn, total func() int64) map[string]expvar.Var {
	return map[string]expvar.Var{
		"tju.endpoint": expvar.Func(func() any { return endpointJSON(ep.Stats()) }),
		"tju.conns": expvar.Func(func() any {
			list := conns()
			out := make([]ConnJSON, 0, len(list))
			for _, c := range list {
				out = append(out, connInfoJSON(c.String(), c.Info()))
			}
			return out
		}),
		"tju.conns_total": expvar.Func(func() any { return total() }),
	}
}

// EndpointJSON is "tju.endpoint" on /debug/vars: tju.EndpointStats with
// JSON names.
type EndpointJSON struct {
	DatagramsIn     uint64 `json:"datagrams_in"`
	DatagramsOut    uint64 `json:"datagrams_out"`
	BytesIn         uint64 `json:"bytes_in"`
	BytesOut        uint64 `json:"bytes_out"`
	Malformed       uint64 `json:"malformed"`
	BadChecksum     uint64 `json:"bad_checksum"`
	NoConnection    uint64 `json:"no_connection"`
	ConnsOpened     uint64 `json:"conns_opened"`
	ConnsRefused    uint64 `json:"conns_refused"`
	ResetsSent      uint64 `json:"resets_sent"`
	AcceptOverflows uint64 `json:"accept_overflows"`
	SendErrors      uint64 `json:"send_errors"`
}

func endpointJSON(s tju.EndpointStats) EndpointJSON {
	return EndpointJSON{
		DatagramsIn: s.DatagramsIn, DatagramsOut: s.DatagramsOut, BytesIn: s.BytesIn, BytesOut: s.BytesOut,
		Malformed: s.Malformed, BadChecksum: s.BadChecksum, NoConnection: s.NoConnection,
		ConnsOpened: s.ConnsOpened, ConnsRefused: s.ConnsRefused, ResetsSent: s.ResetsSent,
		AcceptOverflows: s.AcceptOverflows, SendErrors: s.SendErrors,
	}
}

// ConnJSON is one element of "tju.conns" on /debug/vars: a connection's
// tju.Info with JSON names; times are in milliseconds.
type ConnJSON struct {
	Conn           string  `json:"conn"`
	State          string  `json:"state"`
	SRTTms         float64 `json:"srtt_ms"`
	RTTVarms       float64 `json:"rttvar_ms"`
	MinRTTms       float64 `json:"min_rtt_ms"`
	RTOms          float64 `json:"rto_ms"`
	Cwnd           int     `json:"cwnd_bytes"`
	Ssthresh       int     `json:"ssthresh_bytes"`
	SendWindow     int     `json:"send_window_bytes"`
	RecvWindow     int     `json:"recv_window_bytes"`
	MSS            int     `json:"mss"`
	Extensions     bool    `json:"extensions"`
	BytesSent      uint64  `json:"bytes_sent"`
	BytesAcked     uint64  `json:"bytes_acked"`
	BytesReceived  uint64  `json:"bytes_received"`
	SegmentsSent   uint64  `json:"segments_sent"`
	SegmentsRecv   uint64  `json:"segments_received"`
	Retransmits    uint64  `json:"retransmits"`
	Timeouts       uint64  `json:"timeouts"`
	FastRecoveries uint64  `json:"fast_recoveries"`
	DuplicateSegs  uint64  `json:"duplicate_segments"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func connInfoJSON(name string, i tju.Info) ConnJSON {
	return ConnJSON{
		Conn: name, State: i.State.String(),
		SRTTms: ms(i.SRTT), RTTVarms: ms(i.RTTVar), MinRTTms: ms(i.MinRTT), RTOms: ms(i.RTO),
		Cwnd: i.Cwnd, Ssthresh: i.Ssthresh, SendWindow: i.SendWindow, RecvWindow: i.RecvWindow,
		MSS: i.MSS, Extensions: i.Extensions,
		BytesSent: i.BytesSent, BytesAcked: i.BytesAcked, BytesReceived: i.BytesReceived,
		SegmentsSent: i.SegmentsSent, SegmentsRecv: i.SegmentsRecv, Retransmits: i.Retransmits,
		Timeouts: i.Timeouts, FastRecoveries: i.FastRecoveries, DuplicateSegs: i.DuplicateSegs,
	}
}
