// Command bench measures bulk throughput of one stream over loopback through
// kernel TCP, TJU TCP (package tju), quic-go and kcp-go, one after another in
// one process, and prints a table (or JSON) of the figures.
//
// Run it from this directory with: go run . [-size 512MiB] [-runs 3] [-only tcp,quic] [-json]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tjunet/tjunet/units"
)

// A result summarises all runs of one transport.
type result struct {
	Transport   string    `json:"transport"`
	OK          bool      `json:"ok"`
	Error       string    `json:"error,omitempty"`
	Bytes       int64     `json:"bytes"`
	Runs        int       `json:"runs"`
	MBps        float64   `json:"mb_per_s"`     // median; MB = 10^6 bytes
	MBpsMin     float64   `json:"mb_per_s_min"` // slowest run
	MBpsMax     float64   `json:"mb_per_s_max"` // fastest run
	Seconds     float64   `json:"seconds"`      // median transfer time
	CPUSeconds  float64   `json:"cpu_seconds"`  // median process CPU time (sender+receiver)
	MBPerCPUSec float64   `json:"mb_per_cpu_s"` // median MB moved per CPU-second
	AllMBps     []float64 `json:"all_mb_per_s"` // every run, in order
	Settings    string    `json:"settings"`     // how the transport was configured
	Skipped     bool      `json:"skipped,omitempty"`
}

type report struct {
	Time       string   `json:"time"`
	GoVersion  string   `json:"go_version"`
	OS         string   `json:"os"`
	Arch       string   `json:"arch"`
	NumCPU     int      `json:"num_cpu"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	Size       int64    `json:"size_bytes"`
	Chunk      int      `json:"chunk_bytes"`
	Verify     bool     `json:"verify_checksum"`
	Notes      []string `json:"notes,omitempty"`
	Results    []result `json:"results"`
}

func main() {
	var (
		sizeFlag  = units.Size(512 << 20)
		chunkFlag = units.Size(256 << 10)
		runs      = flag.Int("runs", 3, "transfers per transport; the table shows the median")
		only      = flag.String("only", "", "comma-separated transports to run (tcp,tju,quic,kcp); default all")
		asJSON    = flag.Bool("json", false, "print JSON instead of a table")
		verify    = flag.Bool("verify", false, "also check a CRC-32C of the stream (costs receiver CPU)")
		verbose   = flag.Bool("v", false, "print transport counters (e.g. kcp-go retransmissions) after each run")
		timeout   = flag.Duration("timeout", 60*time.Second, "bound on one transfer; a transport that exceeds it is reported as failed")
	)
	flag.Var(&sizeFlag, "size", "bytes per transfer: 512MiB or 512M (powers of 1024), 500MB (powers of 1000), 1048576")
	flag.Var(&chunkFlag, "chunk", "bytes per Write call and per receive buffer")
	flag.Parse()

	if sizeFlag <= 0 || chunkFlag <= 0 || *runs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -size, -chunk and -runs must be positive")
		os.Exit(2)
	}
	names, err := selectTransports(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	opt := options{size: int64(sizeFlag), chunk: int(chunkFlag), verify: *verify, timeout: *timeout, verbose: *verbose}

	rep := report{
		Time:       time.Now().UTC().Format(time.RFC3339),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Size:       opt.size,
		Chunk:      opt.chunk,
		Verify:     opt.verify,
	}
	rep.Results = runAll(names, opt, *runs, func(s string) {
		if !*asJSON {
			fmt.Fprintln(os.Stderr, s)
		}
	})
	rep.Notes = append(udpBufferNotes(), takeNotes()...)

	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	printTable(os.Stdout, rep)
}

// selectTransports resolves -only into known transport names, in table order.
func selectTransports(only string) ([]string, error) {
	if only == "" {
		return knownTransports, nil
	}
	var names []string
	for _, n := range strings.Split(only, ",") {
		n = strings.TrimSpace(strings.ToLower(n))
		if n == "" {
			continue
		}
		if !slices.Contains(knownTransports, n) {
			return nil, fmt.Errorf("unknown transport %q (known: %s)", n, strings.Join(knownTransports, ","))
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		return slices.Index(knownTransports, names[i]) < slices.Index(knownTransports, names[j])
	})
	return names, nil
}

// runAll runs every selected transport runs times, interleaved (round 1 of
// each, then round 2 of each, ...) so that drift in machine load spreads
// over all of them. A transport that fails is not run again.
func runAll(names []string, opt options, runs int, progress func(string)) []result {
	p := newPayload(opt.chunk)
	var want uint32
	if opt.verify {
		want = p.checksum(opt.size, opt.chunk)
	}
	results := make([]result, len(names))
	samples := make([][]sample, len(names))
	for i, n := range names {
		results[i] = result{Transport: n, Bytes: opt.size, OK: true}
		if t, ok := transports[n]; ok {
			results[i].Settings = t.settings
		} else {
			results[i].OK = false
			results[i].Skipped = true
			results[i].Error = "not registered in this build"
		}
	}
	for r := 0; r < runs; r++ {
		for i, n := range names {
			if !results[i].OK {
				continue
			}
			t := transports[n]
			var stats func() string
			if opt.verbose && t.stats != nil {
				stats = t.stats()
			}
			s, err := transfer(t, p, want, opt)
			if stats != nil {
				progress(fmt.Sprintf("%-5s run %d/%d: %s", n, r+1, runs, stats()))
			}
			if err != nil {
				results[i].OK = false
				results[i].Error = fmt.Sprintf("run %d: %v", r+1, err)
				progress(fmt.Sprintf("%-5s run %d/%d: FAILED: %v", n, r+1, runs, err))
				continue
			}
			samples[i] = append(samples[i], s)
			progress(fmt.Sprintf("%-5s run %d/%d: %8.1f MB/s in %v (cpu %v)", n, r+1, runs,
				mbps(opt.size, s.elapsed), s.elapsed.Round(time.Millisecond), s.cpu.Round(time.Millisecond)))
			runtime.GC() // start every transfer with a clean heap
		}
	}
	for i, n := range names {
		summarise(&results[i], samples[i], opt.size)
		if t, ok := transports[n]; ok {
			results[i].Settings = t.settings // kcp fills its in at listen time
		}
	}
	return results
}

func mbps(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / d.Seconds()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarise(r *result, ss []sample, size int64) {
	r.Runs = len(ss)
	if len(ss) == 0 {
		return
	}
	var rates, secs, cpus, perCPU []float64
	for _, s := range ss {
		rates = append(rates, mbps(size, s.elapsed))
		secs = append(secs, s.elapsed.Seconds())
		cpus = append(cpus, s.cpu.Seconds())
		if s.cpu > 0 {
			perCPU = append(perCPU, float64(size)/1e6/s.cpu.Seconds())
		}
	}
	r.AllMBps = rates
	r.MBps = median(rates)
	r.MBpsMin = slices.Min(rates)
	r.MBpsMax = slices.Max(rates)
	r.Seconds = median(secs)
	r.CPUSeconds = median(cpus)
	r.MBPerCPUSec = median(perCPU)
}

func printTable(out io.Writer, rep report) {
	fmt.Fprintf(out, "%s %s/%s, %d CPUs (GOMAXPROCS %d); %s per transfer, %s writes; MB = 10^6 bytes\n",
		rep.GoVersion, rep.OS, rep.Arch, rep.NumCPU, rep.GOMAXPROCS, human(rep.Size), human(int64(rep.Chunk)))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\tMB/s\tmin-max\ttime\tCPU s\tMB/CPU-s\truns\t")
	for _, r := range rep.Results {
		if r.Runs == 0 {
			status := "FAILED"
			if r.Skipped {
				status = "skipped"
			}
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t0\t\n", r.Transport, status)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f-%.0f\t%.3fs\t%.3f\t%.0f\t%d\t\n",
			r.Transport, r.MBps, r.MBpsMin, r.MBpsMax, r.Seconds, r.CPUSeconds, r.MBPerCPUSec, r.Runs)
	}
	tw.Flush()
	for _, r := range rep.Results {
		if !r.OK {
			fmt.Fprintf(out, "%s: %s\n", r.Transport, r.Error)
		}
	}
	fmt.Fprintln(out, "settings:")
	width := 0
	for _, r := range rep.Results {
		width = max(width, len(r.Transport))
	}
	for _, r := range rep.Results {
		if r.Settings != "" {
			fmt.Fprintf(out, "  %-*s %s\n", width, r.Transport, r.Settings)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(out, "note:", n)
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
