package plot

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// niceTicks marks an axis at about eight round values (1, 2, 2.5 or 5 times
// a power of ten apart), labelled without spurious decimals, with unlabelled
// minor ticks between them. It never panics, whatever the range.
type niceTicks struct{}

// Ticks implements plot.Ticker.
func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	step, minor := niceStep(lo, hi, 8)
	if step == 0 {
		return nil
	}
	var ticks []plot.Tick
	prec := decimals(step)
	for v := math.Ceil(lo/minor) * minor; v <= hi+minor/1e6; v += minor {
		t := plot.Tick{Value: v}
		if r := math.Round(v / step); math.Abs(v-r*step) < minor/1e3 {
			t.Value = r * step
			t.Label = strconv.FormatFloat(t.Value, 'f', prec, 64)
			if t.Label == "-0" {
				t.Label = "0"
			}
		}
		ticks = append(ticks, t)
		if len(ticks) > 200 { // a float oddity; never draw a wall of ticks
			break
		}
	}
	return ticks
}

// niceStep returns a round step giving about n ticks over [lo, hi] and the
// step of minor ticks, or zeros for an empty or infinite range.
func niceStep(lo, hi float64, n int) (step, minor float64) {
	span := hi - lo
	if !(span > 0) || math.IsInf(span, 0) || math.IsNaN(span) {
		return 0, 0
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []struct{ step, minor float64 }{{1, 0.5}, {2, 1}, {2.5, 0.5}, {5, 1}, {10, 5}} {
		if m.step*mag >= raw {
			return m.step * mag, m.minor * mag
		}
	}
	return 10 * mag, 5 * mag
}

// decimals returns how many decimals show multiples of step exactly.
func decimals(step float64) int {
	for d := 0; d < 10; d++ {
		p := math.Pow(10, float64(d))
		if math.Abs(step*p-math.Round(step*p)) < 1e-9*p*step {
			return d
		}
	}
	return 10
}
