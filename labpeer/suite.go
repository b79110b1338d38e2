package labpeer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
)

// Select returns the checks of role named in names (none: all of them)
// whose group is in groups (none: every group), in the order Checks lists
// them. Each name selects exactly that check. An unknown name or group,
// or a check of the other role, is an error.
func Select(role Role, names, groups []string) ([]Check, error) {
	for _, g := range groups {
		if g != Grader.String() && g != Transition.String() && g != Tolerance.String() {
			return nil, fmt.Errorf("group %q: want grader, transition or tolerance", g)
		}
	}
	for _, n := range names {
		c := Find(n)
		switch {
		case c == nil:
			return nil, fmt.Errorf("check %q: no such check", n)
		case c.IUT != role:
			return nil, fmt.Errorf("check %q is a check of a %s, not of a %s", n, c.IUT, role)
		}
	}
	var out []Check
	for _, c := range Checks() {
		if c.IUT != role ||
			len(names) > 0 && !slices.Contains(names, c.Name) ||
			len(groups) > 0 && !slices.Contains(groups, c.Group.String()) {
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no check selected")
	}
	return out, nil
}

// Suite is a run of checks against one implementation, one connection per
// check, optionally followed by the transfer check: what "tju conform"
// runs.
type Suite struct {
	Role    Role
	Checks  []Check
	Options Options
	// PortBase is the TJU port a check of a server connects from; each
	// next check uses the next port (a server may keep a connection of an
	// earlier check half-open). Default LabClientPort.
	PortBase uint16
	// Transfer, when set, runs the transfer check after the checks.
	Transfer *TransferOptions
	// Data opens the transfer's data (what is sent to a server, or what a
	// client must send); it is called again to compare with Compare.
	Data func() (io.ReadCloser, error)
	// Compare is the file a server writes what it received to (the
	// transfer of a server is then verified against it).
	Compare string
	// Verbose keeps the transcripts of passing checks too.
	Verbose bool
	// Progress, when set, receives a line per event as the run goes.
	Progress func(string)
	// Before, when set, is called before each check with the check about
	// to run, and before the transfer with nil; it may return a function
	// called after it. Tests start the implementation's application there.
	Before func(ctx context.Context, c *Check) (after func())
}

// Report is the outcome of a Suite: what "tju conform --json" prints.
type Report struct {
	Role     string          `json:"role"`
	Peer     string          `json:"peer,omitempty"`
	Shape    string          `json:"shape"`
	Results  []*Result       `json:"results"`
	Transfer *TransferResult `json:"transfer,omitempty"`
	// Passed and Total count the checks and the transfer.
	Passed int `json:"passed"`
	Total  int `json:"total"`
	// Grader counts the lab's grader programs alone: the binaries'
	// verdicts.
	GraderPassed int `json:"grader_passed"`
	GraderTotal  int `json:"grader_total"`
	// Findings gathers the faults seen beyond the checks' verdicts, once
	// each; Suggestions says how tju talks to such an implementation.
	Findings    []Finding `json:"beyond_grader,omitempty"`
	Suggestions []string  `json:"suggestions,omitempty"`

	steps map[string]string
}

// Run runs the suite. open opens the suite's socket; it is called again
// for the transfer, which must get the same address.
func (s *Suite) Run(ctx context.Context, open func() (net.PacketConn, error)) (*Report, error) {
	progress := s.Progress
	if progress == nil {
		progress = func(string) {}
	}
	rep := &Report{Role: s.Role.String(), Shape: s.Options.Shape.String(), steps: map[string]string{}}
	if s.Options.Peer.IsValid() {
		rep.Peer = s.Options.Peer.String()
	}
	base := s.PortBase
	if base == 0 {
		base = LabClientPort
	}
	if len(s.Checks) > 0 {
		pc, err := open()
		if err != nil {
			return nil, err
		}
		h := NewHost(pc)
		for i, c := range s.Checks {
			rep.steps[c.Name] = c.Describe()
			o := s.Options
			if s.Role == Server {
				o.ClientPort = base + uint16(i)
			} else {
				progress(fmt.Sprintf("[%d/%d] %s: waiting up to %v for the client to connect; its application must %s",
					i+1, len(s.Checks), c.Name, o.withDefaults().StartWait, c.App))
			}
			var after func()
			if s.Before != nil {
				after = s.Before(ctx, &c)
			}
			r := h.Run(ctx, &c, o)
			if after != nil {
				after()
			}
			rep.Results = append(rep.Results, r)
			progress(fmt.Sprintf("[%d/%d] %s: %s", i+1, len(s.Checks), c.Name, passWord(r.Pass)))
			if ctx.Err() != nil {
				break
			}
		}
		h.Close()
		if r := ISNCheck(rep.Results); r != nil {
			rep.Results = append(rep.Results, r)
		}
	}
	if s.Transfer != nil && ctx.Err() == nil {
		t, err := s.transfer(ctx, open, progress)
		if err != nil {
			return nil, err
		}
		rep.Transfer = t
	}
	rep.tally(s.Verbose)
	return rep, nil
}

func (s *Suite) transfer(ctx context.Context, open func() (net.PacketConn, error), progress func(string)) (*TransferResult, error) {
	t := *s.Transfer
	if t.ClientPort == 0 && t.IUT == Server {
		t.ClientPort = s.PortBase
		if t.ClientPort == 0 {
			t.ClientPort = LabClientPort
		}
		t.ClientPort += uint16(len(s.Checks))
	}
	if s.Data != nil {
		src, err := s.Data()
		if err != nil {
			return nil, err
		}
		defer src.Close()
		t.Data = src
	}
	pc, err := open()
	if err != nil {
		return nil, err
	}
	if s.Before != nil {
		if after := s.Before(ctx, nil); after != nil {
			defer after()
		}
	}
	if t.IUT == Server {
		progress(fmt.Sprintf("transfer: sending to the server at %v, cut off after %v", t.Peer, t.Limit))
	} else {
		progress(fmt.Sprintf("transfer: waiting up to %v for the client to connect and send its data", t.Wait))
	}
	res := Transfer(ctx, pc, t)
	if t.IUT == Server && s.Compare != "" && res.Complete && s.Data != nil {
		want, err := s.Data()
		if err != nil {
			return nil, err
		}
		defer want.Close()
		res.Verified = "the server's copy: " + CompareFile(s.Compare, want, res.Bytes)
		if strings.HasSuffix(res.Verified, ": identical") {
			res.Verified = "identical"
		}
		res.Judge()
	}
	return res, nil
}

// tally counts the results and gathers the findings.
func (rep *Report) tally(verbose bool) {
	seen := map[string]bool{}
	for _, r := range rep.Results {
		rep.Total++
		if r.Pass {
			rep.Passed++
		}
		if r.Group == Grader {
			rep.GraderTotal++
			if r.Pass {
				rep.GraderPassed++
			}
		}
		for _, f := range r.Findings {
			if !seen[f.Code] {
				seen[f.Code] = true
				rep.Findings = append(rep.Findings, f)
			}
		}
		if !verbose && r.Pass {
			r.Transcript = nil // kept for failed checks only
		}
	}
	if rep.Transfer != nil {
		rep.Total++
		if rep.Transfer.Pass {
			rep.Passed++
		}
	}
	if rep.Role == Server.String() {
		var flags []string
		if seen[FindPeerISN0] {
			flags = append(flags, "--isn 0")
		}
		if seen[FindWindow1] {
			flags = append(flags, "--lab-window")
		}
		if len(flags) > 0 {
			rep.Suggestions = append(rep.Suggestions, fmt.Sprintf("to send to this server with tju: tju send --lab %s HOST FILE", strings.Join(flags, " ")))
		}
	}
}

func passWord(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// WriteText prints the report for people: a line per check, what a
// failing one expected and got, the transfer, what was seen beyond the
// graders, and the score with the graders' apart.
func (rep *Report) WriteText(w io.Writer, verbose bool) {
	width := 0
	for _, r := range rep.Results {
		width = max(width, len(r.Check))
	}
	what := "a client"
	if rep.Role == Server.String() {
		what = "a server at " + rep.Peer
	}
	fmt.Fprintf(w, "tju conform: %s, shape %s\n\n", what, rep.Shape)
	count := map[string][2]int{}
	var order []string
	told := map[string]bool{} // findings are printed where first seen
	for _, r := range rep.Results {
		g := r.Group.String()
		if _, ok := count[g]; !ok {
			order = append(order, g)
		}
		c := count[g]
		c[1]++
		if r.Pass {
			c[0]++
		}
		count[g] = c
		fmt.Fprintf(w, "%s  %-*s  %-10s %6.2fs  %s\n", passWord(r.Pass), width, r.Check, g, r.Elapsed.Seconds(), r.Tests)
		if !r.Pass {
			fmt.Fprintf(w, "      step: %s\n      want: %s\n      got:  %s\n", r.Step, r.Want, r.Got)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "      note: %s\n", n)
		}
		for _, f := range r.Findings {
			if !told[f.Code] {
				told[f.Code] = true
				fmt.Fprintf(w, "      beyond the grader: %s\n", f.Text)
			}
		}
		if verbose && rep.steps[r.Check] != "" {
			fmt.Fprintf(w, "      steps:\n%s", indent(rep.steps[r.Check], "        "))
		}
		if len(r.Transcript) > 0 {
			fmt.Fprintln(w, "      transcript:")
			for _, e := range r.Transcript {
				fmt.Fprintf(w, "        %s\n", e)
			}
		}
	}
	if t := rep.Transfer; t != nil {
		complete := "incomplete"
		if t.Complete {
			complete = "complete"
		}
		fmt.Fprintf(w, "\n%s  transfer: %d bytes delivered in %.2fs (%s); data %s\n      impaired: %s\n",
			passWord(t.Pass), t.Bytes, t.Elapsed.Seconds(), complete, t.Verified, t.Impaired)
		if t.Problem != "" {
			fmt.Fprintf(w, "      problem: %s\n", t.Problem)
		}
		fmt.Fprintf(w, "      score: %.2f MB delivered within %v (the lab's 2026 scoring counts MB delivered within 90 s on a lossy link; about 100 MB is full marks)\n",
			t.MB, t.Limit)
		fmt.Fprintf(w, "      sha256 %s\n", t.SHA256)
		order = append(order, "transfer")
		c := [2]int{0, 1}
		if t.Pass {
			c[0] = 1
		}
		count["transfer"] = c
	}
	if len(rep.Findings) > 0 {
		fmt.Fprintf(w, "\nbeyond the grader (not scored):\n")
		for _, f := range rep.Findings {
			fmt.Fprintf(w, "  - %s\n", f.Text)
		}
	}
	for _, s := range rep.Suggestions {
		fmt.Fprintf(w, "suggestion: %s\n", s)
	}
	var parts []string
	for _, g := range order {
		parts = append(parts, fmt.Sprintf("%s %d/%d", g, count[g][0], count[g][1]))
	}
	verdict := fmt.Sprintf("all %d checks pass", rep.Total)
	switch {
	case rep.Total == 1 && rep.Passed == 1:
		verdict = "the check passes"
	case rep.Total == 1:
		verdict = "the check fails"
	case rep.Passed < rep.Total:
		verdict = fmt.Sprintf("%d of %d checks fail", rep.Total-rep.Passed, rep.Total)
	}
	fmt.Fprintf(w, "\nscore: %s; %s\n", strings.Join(parts, ", "), verdict)
	if rep.GraderTotal > 0 {
		fmt.Fprintf(w, "the lab's grader programs: %d of %d pass (their verdicts; the other checks go beyond them)\n", rep.GraderPassed, rep.GraderTotal)
	}
}

func indent(s, pre string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	return b.String()
}
