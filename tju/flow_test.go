package tju

// Flow control: a reader that stops closes the window, the writer blocks,
// zero-window probes go out with exponential backoff, and when reading
// resumes everything arrives exactly. Virtual time, 10 ms each way.

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
)

func TestFlowZeroWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			bufSize = 16 << 10
			total   = 1 << 20
			stall   = 30 * time.Second
		)
		v := newVNet(t, testLink, testLink, &Config{SendBuffer: bufSize}, &Config{ReceiveBuffer: bufSize})
		defer v.close()
		c, s := v.pair(v.listen())
		data := patternBytes(9, 0, total)
		var written atomic.Int64
		wrote := make(chan error, 1)
		go func() {
			for off := 0; off < total; off += 4096 {
				n, err := c.Write(data[off : off+4096])
				written.Add(int64(n))
				if err != nil {
					wrote <- err
					return
				}
			}
			wrote <- c.CloseWrite()
		}()

		// The reader does not read: the window closes and the writer
		// blocks once the peer's buffer and its own are full.
		time.Sleep(time.Second)
		w1 := written.Load()
		if w1 > 3*bufSize {
			t.Fatalf("writer got %d bytes in with 16 KiB buffers on each side", w1)
		}
		if got := s.Info().RecvWindow; got != 0 {
			t.Errorf("receiver's free buffer %d, want 0", got)
		}
		if got := c.Info().SendWindow; got != 0 {
			t.Errorf("sender sees a window of %d, want 0", got)
		}
		stallStart := v.elapsed()
		time.Sleep(stall)
		if w2 := written.Load(); w2 != w1 {
			t.Errorf("writer progressed from %d to %d bytes against a zero window", w1, w2)
		}
		select {
		case err := <-wrote:
			t.Fatalf("writer finished (%v) while the window is closed", err)
		default:
		}

		// Zero-window probes: one-byte segments during the stall, each
		// answered with a zero window, spaced further and further apart.
		var probes []tapRec
		for _, r := range v.cl.sent(recData) {
			if r.n == 1 && r.at >= stallStart {
				probes = append(probes, r)
			}
		}
		if len(probes) < 3 || len(probes) > 12 {
			t.Fatalf("%d zero-window probes in %v, want a few with backoff; client sent:%s", len(probes), stall, v.cl.dump())
		}
		for i := 2; i < len(probes); i++ {
			if g1, g2 := probes[i-1].at-probes[i-2].at, probes[i].at-probes[i-1].at; g2 < g1 {
				t.Errorf("probe interval shrank from %v to %v", g1, g2)
			}
		}
		zeroAcks := v.sv.sent(func(r tapRec) bool { return recPureACK(r) && r.win == 0 && r.at >= stallStart })
		if len(zeroAcks) < len(probes)-1 {
			t.Errorf("%d probes but %d zero-window ACKs", len(probes), len(zeroAcks))
		}
		if c.Info().State != StateEstablished || s.Info().State != StateEstablished {
			t.Errorf("states %v, %v after the stall", c.Info().State, s.Info().State)
		}

		// The reader resumes: the window opens and everything arrives.
		resumed := v.elapsed()
		got := make([]byte, total)
		if _, err := readFull(s, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(data) {
			t.Fatal("the data differs after the zero window")
		}
		if err := <-wrote; err != nil {
			t.Fatalf("writer: %v", err)
		}
		t.Logf("%d probes during a %v stall; 1 MiB after resuming in %v", len(probes), stall, v.elapsed()-resumed)
		if d := v.elapsed() - resumed; d > 10*time.Second {
			t.Errorf("transfer took %v after the reader resumed: the window update was slow", d)
		}
	})
}

// A slow reader on a lossy link: the window opens and closes many times,
// window updates and probes are lost, and the data still arrives exactly.
func TestFlowSlowReaderLossyLink(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		synctest.Test(t, func(t *testing.T) {
			const total = 512 << 10
			link := netem.Config{Delay: 20 * time.Millisecond, Loss: 0.05, Seed: seed}
			v := newVNet(t, link, link, &Config{SendBuffer: 8 << 10}, &Config{ReceiveBuffer: 8 << 10})
			defer v.close()
			c, s := v.pair(v.listen())
			data := patternBytes(seed, 0, total)
			go func() {
				c.Write(data)
				c.CloseWrite()
			}()
			got := make([]byte, 0, total)
			buf := make([]byte, 3000)
			for len(got) < total {
				if v.elapsed() > time.Hour {
					t.Fatalf("seed %d: %d of %d bytes after an hour of virtual time; sender %+v\nreceiver %+v\nclient sent (last):%s\nserver sent (last):%s",
						seed, len(got), total, c.Info(), s.Info(), tail(v.cl, 30), tail(v.sv, 30))
				}
				time.Sleep(50 * time.Millisecond) // 3000 bytes every 50 ms at most
				s.SetReadDeadline(time.Now().Add(10 * time.Minute))
				n, err := s.Read(buf)
				if err != nil {
					t.Logf("sender %+v\nreceiver %+v\nclient sent (last):%s\nserver sent (last):%s",
						c.Info(), s.Info(), tail(v.cl, 30), tail(v.sv, 30))
					t.Fatalf("seed %d: read after %d bytes: %v", seed, len(got), err)
				}
				got = append(got, buf[:n]...)
			}
			if string(got) != string(data) {
				t.Fatalf("seed %d: data differs", seed)
			}
		})
	}
}

// tail formats the last n segments a tap logged.
func tail(p *tap, n int) string {
	recs := p.sent(nil)
	recs = recs[max(0, len(recs)-n):]
	out := ""
	for _, r := range recs {
		out += "\n  " + r.String()
	}
	return out
}
