package plot

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tjunet/tjunet/trace"
	"github.com/tjunet/tjunet/trace/traceio"
)

// ReadTrace reads a trace in the lab's format from r for drawing, as the
// lab's script does: lines not in the format are reported on report, with
// display (the file's name) and their line number, at most maxBad of them
// (0: all), and skipped; lines with event names the format does not know
// are counted and skipped. It returns the events read, and an error only
// if there are none (an error ending the reading after some events is
// reported and the events before it kept).
func ReadTrace(r io.Reader, display string, maxBad int, report io.Writer) ([]trace.Event, error) {
	sc := traceio.NewScanner(r)
	sc.File = display
	bad := 0
	unknown := map[string]int{}
	sc.OnLineError = func(le *traceio.LineError) {
		if ue := (*trace.UnknownEventError)(nil); errors.As(le, &ue) {
			unknown[ue.Name]++
			return
		}
		bad++
		if maxBad <= 0 || bad <= maxBad {
			fmt.Fprintf(report, "%v\n\t%s\n", le, le.Text)
		}
	}
	var events []trace.Event
	for sc.Scan() {
		events = append(events, sc.Event())
	}
	if maxBad > 0 && bad > maxBad {
		fmt.Fprintf(report, "%s: %d more bad %s not shown (%d in all)\n", display, bad-maxBad, plural(bad-maxBad, "line"), bad)
	}
	if len(unknown) > 0 {
		names := make([]string, 0, len(unknown))
		n := 0
		for k, c := range unknown {
			names = append(names, k)
			n += c
		}
		slices.Sort(names)
		fmt.Fprintf(report, "%s: skipped %s with events unknown to the lab's format (%s)\n", display, lines(n), strings.Join(names, ", "))
	}
	if err := sc.Err(); err != nil {
		if len(events) == 0 {
			return nil, err
		}
		fmt.Fprintf(report, "%v; plotting the %d events read before it\n", err, len(events))
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%s: no events to plot (%s not in the trace format)", display, lines(bad))
	}
	return events, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func lines(n int) string { return strconv.Itoa(n) + " " + plural(n, "line") }

// ChartPrefix names a trace's charts after its file: "client" for
// "logs/client.event.trace", "run1" for "run1.trace", "stdin" for "-".
func ChartPrefix(name string) string {
	if name == "-" {
		return "stdin"
	}
	base := filepath.Base(name)
	if p, ok := strings.CutSuffix(base, ".event.trace"); ok && p != "" {
		return p
	}
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	if base == "" || base == "." || base == string(filepath.Separator) {
		return "trace"
	}
	return base
}

// UniquePrefix returns p, or p-2, p-3... if used has p, and adds what it
// returns to used: distinct chart names for traces of the same name.
func UniquePrefix(p string, used map[string]bool) string {
	q := p
	for i := 2; used[q]; i++ {
		q = p + "-" + strconv.Itoa(i)
	}
	used[q] = true
	return q
}

// ParseFormats reads a comma-separated list of chart formats, "png,svg":
// each once, in the order given.
func ParseFormats(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != "png" && f != "svg" {
			return nil, fmt.Errorf("unknown format %q (want png, svg or png,svg)", f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}
