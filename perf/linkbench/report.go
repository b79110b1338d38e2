package linkbench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// SummaryRow sums up the runs of one transport on one link over the
// seeds: means, and the goodput's range. Failed runs count in Failed and
// in nothing else.
type SummaryRow struct {
	Link          string  `json:"link"`
	Transport     string  `json:"transport"`
	Runs          int     `json:"runs"`
	Failed        int     `json:"failed"`
	GoodputMbps   float64 `json:"goodput_mbps"` // mean
	GoodputMin    float64 `json:"goodput_min_mbps"`
	GoodputMax    float64 `json:"goodput_max_mbps"`
	Retransmits   float64 `json:"retransmits"` // mean
	RetransmitPct float64 `json:"retransmit_pct"`
	QueueDelayMs  float64 `json:"queue_delay_ms"`
	QueueDropPct  float64 `json:"queue_drop_pct"`
	SRTTMs        float64 `json:"srtt_ms"`
	CeilingMbps   float64 `json:"ceiling_mbps"` // mean over the runs that know it; 0 if none does

	ceilings int // runs that know their ceiling
}

// Summarize groups runs by link and transport, in the order they first
// appear.
func Summarize(runs []Run) []SummaryRow {
	var rows []SummaryRow
	for _, r := range runs {
		i := slices.IndexFunc(rows, func(s SummaryRow) bool { return s.Link == r.Link && s.Transport == r.Transport })
		if i < 0 {
			rows = append(rows, SummaryRow{Link: r.Link, Transport: r.Transport})
			i = len(rows) - 1
		}
		s := &rows[i]
		if r.Error != "" && r.Bytes == 0 {
			s.Failed++
			continue
		}
		if r.Error != "" {
			s.Failed++ // measured, but not verified: its figures still count
		}
		if s.Runs == 0 || r.GoodputMbps < s.GoodputMin {
			s.GoodputMin = r.GoodputMbps
		}
		s.GoodputMax = max(s.GoodputMax, r.GoodputMbps)
		s.Runs++
		n := float64(s.Runs)
		mean := func(m *float64, v float64) { *m += (v - *m) / n }
		mean(&s.GoodputMbps, r.GoodputMbps)
		mean(&s.Retransmits, float64(r.Retransmits))
		mean(&s.RetransmitPct, r.RetransmitPct())
		mean(&s.QueueDelayMs, r.QueueDelayMs)
		mean(&s.QueueDropPct, r.QueueDropPct)
		mean(&s.SRTTMs, r.SRTTMs)
		if r.CeilingMbps > 0 {
			s.ceilings++
			s.CeilingMbps += (r.CeilingMbps - s.CeilingMbps) / float64(s.ceilings)
		}
	}
	return rows
}

// Failed returns an error saying how many runs failed or were not
// verified, or nil if every run (fairness runs included) was.
func (r *Report) Failed() error {
	bad, all := 0, len(r.Runs)+len(r.Fairness)
	for _, run := range r.Runs {
		if run.Error != "" {
			bad++
		}
	}
	for _, f := range r.Fairness {
		if f.Error != "" {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d runs failed or were not verified (see above)", bad, all)
	}
	return nil
}

// ReadReport reads a report that WriteJSON wrote into the file name.
func ReadReport(name string) (*Report, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a link bench report: %w", name, err)
	}
	if len(r.Links) == 0 {
		return nil, fmt.Errorf("%s: not a link bench report: no links", name)
	}
	return &r, nil
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes a table per link (one row per transport, the means
// over the seeds, the goodput's range in brackets), the fairness runs, and
// the errors of failed runs.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	seeds := map[string][]uint64{}
	for _, run := range r.Runs {
		if !slices.Contains(seeds[run.Link], run.Seed) {
			seeds[run.Link] = append(seeds[run.Link], run.Seed)
		}
	}
	for _, l := range r.Links {
		fmt.Fprintf(&b, "link %s; seeds %s\n", linkLine(l), joinSeeds(seeds[l.Name]))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  transport\tgoodput Mbit/s\trange\tceiling\tretransmits\tqueue\tdrops\tsrtt\t")
		for _, s := range r.Summary {
			if s.Link != l.Name {
				continue
			}
			if s.Runs == 0 {
				fmt.Fprintf(tw, "  %s\tfailed\t\t\t\t\t\t\t\n", describe(s.Transport))
				continue
			}
			rng := fmt.Sprintf("%.1f-%.1f", s.GoodputMin, s.GoodputMax)
			if s.Runs == 1 {
				rng = "-"
			}
			ceiling := "-"
			if s.CeilingMbps > 0 {
				ceiling = fmt.Sprintf("%.1f", s.CeilingMbps)
			}
			fmt.Fprintf(tw, "  %s\t%.1f\t%s\t%s\t%.0f (%.2f%%)\t%.1f ms\t%.2f%%\t%.1f ms\t\n", describe(s.Transport),
				s.GoodputMbps, rng, ceiling, s.Retransmits, s.RetransmitPct, s.QueueDelayMs, s.QueueDropPct, s.SRTTMs)
		}
		tw.Flush()
		b.WriteString("\n")
	}
	if len(r.Fairness) > 0 {
		f0 := r.Fairness[0]
		fmt.Fprintf(&b, "fairness on link %s, seed %d: the second flow starts %g s after the first; shares over the %g s after that\n",
			f0.Link, f0.Seed, f0.DelayS, f0.WindowS)
		for _, f := range r.Fairness {
			if f.Error != "" && len(f.Flows) == 0 {
				fmt.Fprintf(&b, "  %s: failed\n", f.Name)
				continue
			}
			var parts []string
			for i, fl := range f.Flows {
				parts = append(parts, fmt.Sprintf("flow %d %s %.1f Mbit/s (%.1f%%)", i+1, fl.Transport, fl.GoodputMbps, 100*fl.Share))
			}
			fmt.Fprintf(&b, "  %s: %s; Jain's index %.3f; queue %.1f ms, drops %.2f%%\n", f.Name, strings.Join(parts, ", "),
				f.Jain, f.QueueDelayMs, f.QueueDropPct)
		}
		b.WriteString("\n")
	}
	var hostDrops []string
	for _, run := range r.Runs {
		if run.HostDrops > 0 {
			hostDrops = append(hostDrops, fmt.Sprintf("link %s %s seed %d: %d", run.Link, run.Transport, run.Seed, run.HostDrops))
		}
	}
	var lag, maxLag float64
	for _, run := range r.Runs {
		lag, maxLag = max(lag, run.LagMs), max(maxLag, run.MaxLagMs)
	}
	fmt.Fprintf(&b, "emulator lag (its own delay for a packet's due time): worst run's mean %.3f ms, worst packet %.1f ms\n\n", lag, maxLag)
	if len(hostDrops) > 0 {
		fmt.Fprintf(&b, "packets the client host dropped before the emulator (its TUN queue; the machine was too busy): %s\n\n",
			strings.Join(hostDrops, "; "))
	}
	var errs []string
	for _, run := range r.Runs {
		if run.Error != "" {
			errs = append(errs, fmt.Sprintf("  link %s, %s, seed %d: %s", run.Link, run.Transport, run.Seed, run.Error))
		}
	}
	for _, f := range r.Fairness {
		if f.Error != "" {
			errs = append(errs, fmt.Sprintf("  fairness %s: %s", f.Name, f.Error))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(&b, "failed or not verified:\n%s\n\n", strings.Join(errs, "\n"))
	}
	fmt.Fprintf(&b, "goodput from the receiver's first byte over the window; ceiling: what the rate allows with the sender's segment and packet sizes;\n"+
		"retransmits: segments, mean a run (share of segments sent);\n"+
		"queue: mean wait in the bottleneck queue, drops: its drops (data direction); srtt: the sender's, mean over the window.\n"+
		"%s, kernel %s, load %s; %.0f s\n", r.Start.UTC().Format("2006-01-02 15:04 MST"), r.Kernel, r.Load, r.Elapsed)
	_, err := io.WriteString(w, b.String())
	return err
}

func linkLine(l LinkJSON) string {
	delay := fmt.Sprintf("%g ms", l.DelayMs)
	if l.JitterMs > 0 {
		delay = fmt.Sprintf("%g ± %g ms", l.DelayMs, l.JitterMs)
	}
	loss := "no loss"
	if l.LossPct > 0 {
		loss = fmt.Sprintf("%g%% loss each way", l.LossPct)
	}
	return fmt.Sprintf("%s: %g Mbit/s, %s one way, %s, queue %g MB, %g s", l.Name, l.RateMbps, delay, loss,
		float64(l.QueueBytes)/1e6, l.Seconds)
}

func joinSeeds(s []uint64) string {
	var p []string
	for _, v := range s {
		p = append(p, fmt.Sprint(v))
	}
	return strings.Join(p, ", ")
}

// describe names a transport for a table, from its flag name.
func describe(name string) string {
	if t, err := ParseTransport(name); err == nil {
		return t.String()
	}
	return name
}

// WriteMarkdown writes the summary as Markdown tables, for a README: one
// row per link and transport (means over the seeds, the goodput's range),
// then the fairness runs. Failed runs are named under the tables.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| link | transport | goodput Mbit/s | range | ceiling | retransmits | mean queue | queue drops | srtt |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, l := range r.Links {
		for _, s := range r.Summary {
			if s.Link != l.Name {
				continue
			}
			if s.Runs == 0 {
				fmt.Fprintf(&b, "| %s | %s | failed | | | | | | |\n", l.Name, describe(s.Transport))
				continue
			}
			rng, ceiling := "-", "-"
			if s.Runs > 1 {
				rng = fmt.Sprintf("%.1f-%.1f", s.GoodputMin, s.GoodputMax)
			}
			if s.CeilingMbps > 0 {
				ceiling = fmt.Sprintf("%.1f", s.CeilingMbps)
			}
			fmt.Fprintf(&b, "| %s | %s | %.1f | %s | %s | %.0f (%.2f%%) | %.1f ms | %.2f%% | %.1f ms |\n", l.Name, describe(s.Transport),
				s.GoodputMbps, rng, ceiling, s.Retransmits, s.RetransmitPct, s.QueueDelayMs, s.QueueDropPct, s.SRTTMs)
		}
	}
	if len(r.Fairness) > 0 {
		f0 := r.Fairness[0]
		fmt.Fprintf(&b, "\nLink %s, seed %d; the second flow starts %g s after the first; goodput over the %g s after that:\n\n",
			f0.Link, f0.Seed, f0.DelayS, f0.WindowS)
		b.WriteString("| flows | first flow | second flow | Jain's index | mean queue | queue drops |\n|---|---|---|---|---|---|\n")
		for _, f := range r.Fairness {
			if len(f.Flows) != 2 {
				fmt.Fprintf(&b, "| %s | failed | | | | |\n", f.Name)
				continue
			}
			cell := func(fl FlowShare) string {
				return fmt.Sprintf("%s %.1f Mbit/s (%.1f%%)", fl.Transport, fl.GoodputMbps, 100*fl.Share)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.3f | %.1f ms | %.2f%% |\n", f.Name, cell(f.Flows[0]), cell(f.Flows[1]), f.Jain,
				f.QueueDelayMs, f.QueueDropPct)
		}
	}
	if err := r.Failed(); err != nil {
		fmt.Fprintf(&b, "\n%v:", err)
		for _, run := range r.Runs {
			if run.Error != "" {
				fmt.Fprintf(&b, " link %s %s seed %d: %s;", run.Link, run.Transport, run.Seed, run.Error)
			}
		}
		for _, f := range r.Fairness {
			if f.Error != "" {
				fmt.Fprintf(&b, " fairness %s: %s;", f.Name, f.Error)
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
