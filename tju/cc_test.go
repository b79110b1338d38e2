package tju

import (
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
)

func TestDefaultCongestionControl(t *testing.T) {
	d := (*Config)(nil).withDefaults()
	if d.CongestionControl != "bbr" || d.MaxBuffer != DefaultMaxBuffer {
		t.Errorf("nil Config: congestion control %q, max buffer %d; want bbr, %d", d.CongestionControl, d.MaxBuffer, DefaultMaxBuffer)
	}
	l := (&Config{Lab: true}).withDefaults()
	if l.CongestionControl != "reno" || l.MaxBuffer != 0 {
		t.Errorf("Lab: congestion control %q, max buffer %d; want reno without autotuning", l.CongestionControl, l.MaxBuffer)
	}
	if c := (&Config{CongestionControl: "cubic"}).withDefaults(); c.CongestionControl != "cubic" {
		t.Errorf("an explicit cubic became %q", c.CongestionControl)
	}
	if got := CongestionControlNames()[0]; got != DefaultCongestionControl(false) {
		t.Errorf("CongestionControls lists %q first, the default is %q", got, DefaultCongestionControl(false))
	}
}

// TestPacedTransferOverBottleneck runs the endpoint's default controller
// through its one timer structure over a 100 Mbit/s bottleneck with a
// one-BDP queue and 1% loss each way (the link b), in virtual time:
// the pacer's release times must drive the sending, the model must find
// the bottleneck, and random loss must not collapse the rate as it does
// Reno's. Exact figures come from internal/tcb's link tests and the README.
func TestPacedTransferOverBottleneck(t *testing.T) {
	for _, c := range []struct {
		cc       string
		min, max float64 // Mbit/s
	}{
		{"", 60, 97},    // the default, bbr
		{"reno", 0, 30}, // Mathis: about 1.22 x MSS/RTT/sqrt(p) = 4 Mbit/s
	} {
		t.Run("cc="+c.cc, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				up := netem.Config{Delay: 20 * time.Millisecond, Loss: 0.01, Rate: 100e6, QueueBytes: 500_000, Seed: 1}
				down := netem.Config{Delay: 20 * time.Millisecond, Loss: 0.01, Seed: 2}
				v := newVNet(t, up, down, &Config{CongestionControl: c.cc}, &Config{CongestionControl: c.cc})
				defer v.close()
				cl, sv := v.pair(v.listen())
				const dur = 3 * time.Second
				start := time.Now()
				go func() {
					buf := make([]byte, 64<<10)
					for time.Since(start) < dur+time.Second {
						if _, err := cl.Write(buf); err != nil {
							return
						}
					}
					cl.Close()
				}()
				var got int64
				buf := make([]byte, 64<<10)
				for time.Since(start) < dur {
					n, err := sv.Read(buf)
					got += int64(n)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				mbit := float64(got) * 8 / dur.Seconds() / 1e6
				i := cl.Info()
				t.Logf("%q: %.1f Mbit/s in %v; pacing %.1f Mbit/s, model %+v, retransmits %d", c.cc, mbit, dur, i.PacingRate*8/1e6, i.Model, i.Retransmits)
				if mbit < c.min || mbit > c.max {
					t.Errorf("goodput %.1f Mbit/s outside [%g, %g]", mbit, c.min, c.max)
				}
				if c.cc == "" && (i.PacingRate == 0 || i.Model.Mode == "" || !i.Model.StartupDone) {
					t.Errorf("default controller does not pace or has no model: %+v", i)
				}
				sv.Close()
			})
		})
	}
}
