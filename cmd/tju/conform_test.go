package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/labdouble"
	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
)

// conformArgs parses a conform command line as the command does.
func conformArgs(t *testing.T, args ...string) *conformConfig {
	t.Helper()
	o := &conformOptions{}
	cmd := conformCommand(o, &env{stdout: io.Discard, stderr: io.Discard})
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	o.sizeGiven = cmd.Flags().Changed("size")
	cfg, _, err := readConformFlags(o, cmd.Flags().Args())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// implementation runs tjunet's own client or server, as "tju send" of a
// small file and "tju recv --keep" do, on the other host of n, until ctx
// ends. wrap, when set, makes it a misbehaving double.
func implementation(ctx context.Context, t *testing.T, n *netem.Network, role labpeer.Role, wrap func(net.PacketConn) net.PacketConn, out io.Writer) (done func()) {
	var wg sync.WaitGroup
	endpoint := func(addr netip.AddrPort) *tju.Endpoint {
		for {
			pc, err := n.Attach(addr, netem.Config{})
			if err == nil {
				var c net.PacketConn = pc
				if wrap != nil {
					c = wrap(pc)
				}
				return tju.NewEndpoint(c, &tju.Config{Lab: true, MSL: time.Second})
			}
			// The previous run's endpoint is still closing.
			time.Sleep(10 * time.Millisecond)
		}
	}
	wg.Add(1)
	if role == labpeer.Server {
		ep := endpoint(labpeer.LabServerAddr)
		l, err := ep.Listen(labpeer.LabServerPort)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer wg.Done()
			defer ep.Close()
			for {
				c, err := l.AcceptTJU(ctx)
				if err != nil {
					return
				}
				go func() {
					io.Copy(out, c)
					c.Close()
				}()
			}
		}()
	} else {
		// A client process per connection: connect, send, wait for the
		// server's FIN, close, and stay for TIME_WAIT.
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				ep := endpoint(labpeer.LabClientAddr)
				dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				c, err := ep.Dial(dctx, labpeer.LabServerAddr.String(), labpeer.LabServerPort)
				if err == nil {
					c.Write([]byte("twenty bytes of data"))
					c.CloseWrite()
					c.SetReadDeadline(time.Now().Add(30 * time.Second))
					io.Copy(io.Discard, c)
					c.Close()
					select {
					case <-c.Done():
					case <-dctx.Done():
					}
				}
				cancel()
				ep.Close()
			}
		}()
	}
	return wg.Wait
}

// runConformInBubble runs conform with cfg against the implementation on
// an in-memory network and returns the text report.
func runConformInBubble(t *testing.T, cfg *conformConfig, wrap func(net.PacketConn) net.PacketConn, out io.Writer) (*conformReport, string) {
	t.Helper()
	n := netem.NewNetwork()
	ours := labpeer.LabClientAddr
	if cfg.role == labpeer.Client {
		ours = labpeer.LabServerAddr
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := implementation(ctx, t, n, cfg.role, wrap, out)
	open := func() (net.PacketConn, error) { return n.Attach(ours, netem.Config{}) }
	rep, err := conformRun(ctx, cfg, open, func(string) {})
	cancel()
	done()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	writeConformReport(&b, rep, cfg.checks, false)
	return rep, b.String()
}

// TestConformAgainstTjunet runs every check and the transfer against
// tjunet's own server (as tju recv --keep) and client (as tju send): all
// pass.
func TestConformAgainstTjunet(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.txt")
	if err := os.WriteFile(small, []byte("twenty bytes of data"), 0o644); err != nil {
		t.Fatal(err)
	}
	received := filepath.Join(dir, "received.bin")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"server", []string{"--transfer", "--size", "1MiB", "--compare", received, "--loss", "2%", "--delay", "20ms", "server"}},
		{"client", []string{"--transfer", "--file", small, "--loss", "2%", "--delay", "20ms", "client"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(received)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			synctest.Test(t, func(t *testing.T) {
				cfg := conformArgs(t, tc.args...)
				rep, text := runConformInBubble(t, cfg, nil, &lockedWriter{w: f})
				t.Logf("\n%s", text)
				if rep.Passed != rep.Total || !strings.Contains(text, "all ") {
					t.Errorf("not every check passes")
				}
				if rep.Transfer == nil || rep.Transfer.Verified != "identical" {
					t.Errorf("transfer not verified: %+v", rep.Transfer)
				}
				var js bytes.Buffer
				if err := json.NewEncoder(&js).Encode(rep); err != nil || !json.Valid(js.Bytes()) {
					t.Errorf("report does not encode as JSON: %v", err)
				}
			})
		})
	}
}

// TestConformNamesEachFault runs conform against a double that misbehaves
// in one way and checks that the report names the checks that catch it.
func TestConformNamesEachFault(t *testing.T) {
	for _, tc := range []struct {
		fault string
		role  string
		f     labdouble.Faults
		fails []string
	}{
		{"never retransmits its SYN", "client", labdouble.Faults{NoSYNRetransmit: true},
			[]string{"syn-retransmit", "rto-after-syn-retransmit"}},
		{"acks wrongly", "client", labdouble.Faults{WrongAck: true},
			[]string{"receiver", "close_server 0", "close_server 1", "dup-synack", "data-send"}},
		{"acks wrongly", "server", labdouble.Faults{WrongAck: true},
			[]string{"sender", "close_client_for_server 0", "close_client_for_server 1", "data-receive"}},
		{"piggybacks its FIN on the ACK of the grader's FIN", "server", labdouble.Faults{PiggybackFIN: true},
			[]string{"close_client_for_server 0", "close_client_for_server 1", "last-ack"}},
		{"sends data at ISN instead of ISN+1", "client", labdouble.Faults{DataAtISN: true},
			[]string{"data-send"}},
	} {
		t.Run(tc.fault+"/"+tc.role, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := conformArgs(t, tc.role)
				wrap := func(pc net.PacketConn) net.PacketConn { return labdouble.Wrap(pc, tc.f) }
				rep, text := runConformInBubble(t, cfg, wrap, io.Discard)
				t.Logf("\n%s", text)
				for _, name := range tc.fails {
					if !strings.Contains(text, "FAIL  "+name+" ") {
						t.Errorf("the report does not name %q as failing", name)
					}
				}
				if rep.Passed == rep.Total {
					t.Errorf("every check passes")
				}
			})
		})
	}
}

func TestConformUsage(t *testing.T) {
	for _, args := range [][]string{
		{"conform"},
		{"conform", "both"},
		{"conform", "--check", "nosuch", "client"},
		{"conform", "--check", "sender", "client"},
		{"conform", "--shape", "round", "client"},
		{"conform", "--size", "1MB", "client"},
		{"conform", "--file", "x", "server"},
		{"conform", "--check", "none", "client"},
	} {
		r := runCmd(context.Background(), nil, args...)
		if r.code != 2 {
			t.Errorf("tju %q: exit %d, want 2; stderr %s", args, r.code, r.stderr)
		}
	}
	r := runCmd(context.Background(), nil, "conform", "--list", "server")
	if r.code != 0 || !strings.Contains(r.stdout.String(), "close_client_for_server 0") || strings.Contains(r.stdout.String(), "close_server 0") {
		t.Errorf("--list server: exit %d\n%s", r.code, r.stdout)
	}
}
