package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
	"github.com/tjunet/tjunet/xfer"
)

// prefixReader gives the first n bytes of data, then blocks until ctx
// ends: a sender whose input stalls and that is then interrupted.
type prefixReader struct {
	ctx  context.Context
	data []byte
	n    int
}

func (r *prefixReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		k := copy(p, r.data[:min(len(r.data), r.n)])
		r.data, r.n = r.data[k:], r.n-k
		return k, nil
	}
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

// interruptedSend runs tju send to addr with the first n bytes of data,
// waits until cond holds, interrupts it (Ctrl-C) and returns its exit
// code and stderr.
func interruptedSend(t *testing.T, ctx context.Context, addr string, data []byte, n int, cond func() bool, args ...string) (int, string) {
	t.Helper()
	sctx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	var stderr testio.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(sctx, append(append([]string{"send"}, args...), addr), &env{stdin: &prefixReader{ctx: sctx, data: data, n: n}, stdout: &testio.Buffer{}, stderr: &stderr})
	}()
	waitFor(t, cond)
	interrupt()
	return <-done, stderr.String()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fileSize(name string) int64 {
	st, err := os.Stat(name)
	if err != nil {
		return -1
	}
	return st.Size()
}

// A transfer that fails (the sender is interrupted) leaves nothing under
// the final name, nor any temporary file; with --keep-partial the data
// stays in FILE.tju-partial and --resume completes it byte for byte.
func TestRecvFailedTransferAndResume(t *testing.T) {
	data := randomBytes(3, 1<<20+777)
	for _, keep := range []bool{false, true} {
		dir := t.TempDir()
		out := filepath.Join(dir, "got.bin")
		ready := filepath.Join(dir, "ready")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		args := []string{"recv", "--listen", "127.0.0.1:0", "--ready-file", ready, "-o", out}
		if keep {
			args = append(args, "--keep-partial")
		}
		recvDone, recvErr := runAsync(ctx, args...)
		addr := waitReadyFile(t, ready, recvDone)
		// The data reaches the temporary file while the transfer runs
		// (within a second: issue 12).
		partial := func() bool {
			for _, n := range testio.DirNames(t, dir) {
				if n != "ready" && fileSize(filepath.Join(dir, n)) >= 3*xfer.ChunkSize {
					return true
				}
			}
			return false
		}
		code, serr := interruptedSend(t, ctx, addr, data, 400000, partial)
		if code != exitInterrupted || !regexp.MustCompile(`interrupted after \d+ bytes acknowledged by the receiver`).MatchString(serr) {
			t.Fatalf("interrupted send: exit %d, want 130 and the bytes acknowledged:\n%s", code, serr)
		}
		r := <-recvDone
		if r.code != exitFailure {
			t.Fatalf("recv after the sender's reset: exit %d, want 1:\n%s", r.code, recvErr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("keep-partial=%v: %s exists after a failed transfer", keep, out)
		}
		names := testio.DirNames(t, dir)
		if !keep {
			if !strings.Contains(r.stderr.String(), "nothing written to "+out) || len(names) != 1 {
				t.Fatalf("without --keep-partial: files %q; stderr:\n%s", names, r.stderr)
			}
			continue
		}
		kept := out + xfer.PartialSuffix
		if !strings.Contains(r.stderr.String(), "kept in "+kept) {
			t.Fatalf("recv does not say where the partial data is:\n%s", r.stderr)
		}
		got, err := os.ReadFile(kept)
		if err != nil || len(got) < 3*xfer.ChunkSize || !bytes.Equal(got, data[:len(got)]) {
			t.Fatalf("partial file: %d bytes (%v), want a prefix of the data", len(got), err)
		}

		// Resume: the rest, and a byte-exact file.
		addr, recvDone, _ = startServer(t, ctx, "recv", "-o", out, "--resume")
		s := runCmd(ctx, data, "send", addr)
		r = <-recvDone
		if s.code != 0 || r.code != 0 {
			t.Fatalf("resume: send exit %d, recv exit %d:\n%s\n%s", s.code, r.code, s.stderr, r.stderr)
		}
		final, err := os.ReadFile(out)
		if err != nil || !bytes.Equal(final, data) {
			t.Fatalf("resumed file: %d bytes (%v), not byte-exact (%d)", len(final), err, len(data))
		}
		for _, side := range []string{s.stderr.String(), r.stderr.String()} {
			if !strings.Contains(side, "resumed") || !strings.Contains(side, "SHA-256 matched at both ends") || !strings.Contains(side, sha256Hex(data)) {
				t.Errorf("resume summary:\n%s", side)
			}
		}
		if names := testio.DirNames(t, dir); len(names) != 2 { // got.bin and ready
			t.Errorf("after resume the directory holds %q", names)
		}
	}
}

// Ctrl-C on the receiver during a transfer: exit 130, nothing under the
// final name.
func TestRecvInterruptedExits130(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got.bin")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rctx, interruptRecv := context.WithCancel(ctx)
	defer interruptRecv()
	addr, recvDone, recvErr := startServer(t, rctx, "recv", "-o", out, "-v")
	sendDone := make(chan result, 1)
	go func() {
		r := result{stdout: &testio.Buffer{}, stderr: &testio.Buffer{}}
		r.code = run(ctx, []string{"send", addr}, &env{stdin: &prefixReader{ctx: ctx, data: randomBytes(4, 1<<20), n: 200000}, stdout: r.stdout, stderr: r.stderr})
		sendDone <- r
	}()
	waitFor(t, func() bool { return strings.Contains(recvErr.String(), "msg=accepted") })
	time.Sleep(100 * time.Millisecond) // let some data in
	interruptRecv()
	r := <-recvDone
	if r.code != exitInterrupted {
		t.Fatalf("recv interrupted: exit %d, want 130:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatalf("%s exists after Ctrl-C", out)
	}
	if names := testio.DirNames(t, dir); len(names) != 0 {
		t.Errorf("the output's directory holds %q after Ctrl-C, want nothing", names)
	}
	s := <-sendDone
	if s.code != exitFailure || !regexp.MustCompile(`after \d+ bytes acknowledged by the receiver`).MatchString(s.stderr.String()) {
		t.Errorf("sender whose receiver was interrupted: exit %d:\n%s", s.code, s.stderr)
	}
}

func TestSendRecvCode(t *testing.T) {
	data := randomBytes(5, 300000)
	for _, tc := range []struct {
		name, sendCode, recvCode string
		ok                       bool
		want                     string
	}{
		{"same phrase", "7-crystal-orbit", "7-crystal-orbit", true, "TLS 1.3, both ends authenticated by the code phrase"},
		{"wrong phrase", "7-crystal-orbit", "7-crystal-orbiT", false, "wrong code phrase"},
		{"receiver only", "", "7-crystal-orbit", false, "code phrase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "got.bin")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			addr, recvDone, _ := startServer(t, ctx, "recv", "-o", out, "--code", tc.recvCode)
			args := []string{"send", addr}
			if tc.sendCode != "" {
				args = append(args, "--code", tc.sendCode)
			}
			s := runCmd(ctx, data, args...)
			r := <-recvDone
			if tc.ok {
				if s.code != 0 || r.code != 0 {
					t.Fatalf("send exit %d, recv exit %d:\n%s\n%s", s.code, r.code, s.stderr, r.stderr)
				}
				if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
					t.Fatal("file differs")
				}
				for _, side := range []string{s.stderr.String(), r.stderr.String()} {
					if !strings.Contains(side, tc.want) {
						t.Errorf("summary lacks %q:\n%s", tc.want, side)
					}
				}
				return
			}
			if s.code != exitFailure || r.code != exitFailure {
				t.Fatalf("send exit %d, recv exit %d; want 1 and 1:\n%s\n%s", s.code, r.code, s.stderr, r.stderr)
			}
			for _, side := range []string{s.stderr.String(), r.stderr.String()} {
				if !strings.Contains(side, tc.want) {
					t.Errorf("error lacks %q:\n%s", tc.want, side)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written although the phrase was refused", out)
			}
		})
	}
	r := runCmd(context.Background(), nil, "send", "--code", "abc", "127.0.0.1:9")
	if r.code != exitUsage || !strings.Contains(r.stderr.String(), "at least 6 characters") {
		t.Errorf("short phrase: exit %d:\n%s", r.code, r.stderr)
	}
	r = runCmd(context.Background(), nil, "recv", "--code", "long-enough", "--lab")
	if r.code != exitUsage {
		t.Errorf("--code with --lab: exit %d:\n%s", r.code, r.stderr)
	}
}

// --metrics serves /metrics in Prometheus's format with the endpoint's
// counters and each connection's Info, while a transfer runs.
func TestRecvMetricsPrometheus(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr, recvDone, recvErr := startServer(t, ctx, "recv", "-o", filepath.Join(dir, "out"), "--metrics", "127.0.0.1:0", "-v")
	m := regexp.MustCompile(`metrics at (http://\S+)/metrics`).FindStringSubmatch(recvErr.String())
	if m == nil {
		t.Fatalf("recv did not say where its metrics are:\n%s", recvErr)
	}
	sctx, stopSend := context.WithCancel(ctx)
	sendDone := make(chan int, 1)
	go func() {
		sendDone <- run(sctx, []string{"send", addr}, &env{stdin: &prefixReader{ctx: sctx, data: randomBytes(6, 1<<20), n: 300000}, stdout: io.Discard, stderr: io.Discard})
	}()
	waitFor(t, func() bool { return strings.Contains(recvErr.String(), "msg=accepted") })
	var body string
	waitFor(t, func() bool {
		resp, err := http.Get(m[1] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		return regexp.MustCompile(`(?m)^tju_conn_received_bytes_total\{local="[^"]+",remote="[^"]+"\} [1-9]`).MatchString(body)
	})
	for _, w := range []string{"# TYPE tju_endpoint_datagrams_received_total counter", "tju_endpoint_connections_opened_total 1",
		"# TYPE tju_conn_srtt_seconds gauge", `tju_conn_state{local="`, `state="ESTABLISHED"`, "tju_conn_mss_bytes", "go_goroutines"} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %q:\n%s", w, body)
		}
	}
	// OpenMetrics, for a scraper that asks for it.
	req, _ := http.NewRequest("GET", m[1]+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openmetrics-text") || !strings.HasSuffix(strings.TrimSpace(string(b)), "# EOF") {
		t.Errorf("OpenMetrics: Content-Type %q, body ends %q", resp.Header.Get("Content-Type"), string(b[max(0, len(b)-20):]))
	}
	stopSend()
	<-sendDone
	<-recvDone
}
