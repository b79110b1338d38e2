package tjuprom_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/tjuprom"
)

// scrape fetches url and parses the text exposition format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mf
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return math.NaN()
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// A real connection on loopback, scraped over HTTP: the endpoint counters
// and the connection's Info are there with the values tju reports.
func TestScrape(t *testing.T) {
	ep, err := tju.OpenEndpoint("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	l, err := ep.Listen(1234)
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan *tju.Conn, 1)
	go func() {
		c, err := l.AcceptTJU(context.Background())
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	c, err := ep.Dial(context.Background(), ep.Addr().String(), 1234)
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	msg := strings.Repeat("x", 100000)
	go c.Write([]byte(msg))
	if _, err := io.ReadFull(s, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewPedanticRegistry() // also checks the collector's consistency
	if err := reg.Register(tjuprom.NewCollector(ep, func() []*tju.Conn { return []*tju.Conn{c, s} })); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()
	mf := scrape(t, srv.URL)

	stats := ep.Stats()
	in := mf["tju_endpoint_datagrams_received_total"]
	if in == nil || in.GetType() != dto.MetricType_COUNTER || len(in.Metric) != 1 {
		t.Fatalf("tju_endpoint_datagrams_received_total: %v", in)
	}
	if v := value(in.Metric[0]); v <= 0 || v > float64(stats.DatagramsIn) {
		t.Errorf("datagrams received %v, Stats says %d (read after)", v, stats.DatagramsIn)
	}
	if v := value(mf["tju_endpoint_connections_opened_total"].Metric[0]); v != 2 {
		t.Errorf("connections opened %v, want 2 (both ends on one endpoint)", v)
	}

	recv := mf["tju_conn_received_bytes_total"]
	if recv == nil || len(recv.Metric) != 2 {
		t.Fatalf("tju_conn_received_bytes_total: %v", recv)
	}
	found := false
	for _, m := range recv.Metric {
		if label(m, "local") == s.LocalAddr().String() && label(m, "remote") == s.RemoteAddr().String() {
			found = true
			if value(m) != float64(len(msg)) {
				t.Errorf("server received %v bytes, want %d", value(m), len(msg))
			}
		}
	}
	if !found {
		t.Errorf("no series for the server's end %v: %v", s, recv.Metric)
	}
	for _, name := range []string{"tju_conn_srtt_seconds", "tju_conn_cwnd_bytes", "tju_conn_mss_bytes", "tju_conn_ssthresh_bytes", "tju_conn_acked_bytes_total"} {
		if f := mf[name]; f == nil || len(f.Metric) != 2 {
			t.Errorf("%s: %v", name, f)
		}
	}
	if v := value(mf["tju_conn_mss_bytes"].Metric[0]); v != float64(c.Info().MSS) {
		t.Errorf("mss %v, Info says %d", v, c.Info().MSS)
	}
	st := mf["tju_conn_state"]
	if st == nil || label(st.Metric[0], "state") != "ESTABLISHED" {
		t.Errorf("tju_conn_state: %v", st)
	}
	c.Close()
	s.Close()
}
