package tjuprom_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/tjuprom"
)

// Serve answers /metrics in Prometheus's format and /debug/vars as expvar
// JSON with the endpoint's counters, and Close stops it.
func TestServe(t *testing.T) {
	ep, err := tju.OpenEndpoint("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	srv, err := tjuprom.Serve("127.0.0.1:0", ep, func() []*tju.Conn { return nil }, func() int64 { return 7 })
	if err != nil {
		t.Fatal(err)
	}
	mf := scrape(t, srv.URL()+"/metrics")
	if mf["tju_endpoint_datagrams_received_total"] == nil || mf["go_goroutines"] == nil {
		t.Errorf("/metrics lacks the endpoint's or the runtime's metrics: %d families", len(mf))
	}
	resp, err := http.Get(srv.URL() + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var vars map[string]json.RawMessage
	if err := json.Unmarshal(b, &vars); err != nil {
		t.Fatalf("/debug/vars is not JSON: %v\n%s", err, b)
	}
	for _, k := range []string{"tju.endpoint", "tju.conns", "tju.conns_total", "cmdline", "memstats"} {
		if _, ok := vars[k]; !ok {
			t.Errorf("/debug/vars lacks %q", k)
		}
	}
	if got := strings.TrimSpace(string(vars["tju.conns_total"])); got != "7" {
		t.Errorf("tju.conns_total = %s, want 7", got)
	}
	srv.Close()
	if _, err := http.Get(srv.URL() + "/metrics"); err == nil {
		t.Errorf("the server still answers after Close")
	}
}
