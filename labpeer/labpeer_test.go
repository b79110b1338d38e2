package labpeer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/labpeer/labpeertest"
	"github.com/tjunet/tjunet/tju"
)

// lab is tjunet's endpoint as a lab host, in TCP's sending shape or the
// skeleton's.
func lab(skeleton bool) labpeertest.Tjunet {
	return labpeertest.Tjunet{Config: tju.Config{Lab: true, SkeletonShape: skeleton}}
}

func report(t *testing.T, c labpeer.Check, r *labpeer.Result) {
	t.Helper()
	var b strings.Builder
	for _, e := range r.Transcript {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	t.Errorf("%s (%s) failed at %q:\n  want %s\n  got  %s\nnotes: %v\nfindings: %v\nsteps:\n%stranscript:\n%s",
		c.Name, c.Tests, r.Step, r.Want, r.Got, r.Notes, r.Findings, c.Describe(), b.String())
}

// TestChecksAgainstTjunet runs every check, the lab's grader programs
// included, against tjunet's client and server in lab mode, in both
// sending shapes.
func TestChecksAgainstTjunet(t *testing.T) {
	for _, shape := range []labpeer.Shape{labpeer.TCPShape, labpeer.SkeletonShape} {
		for _, c := range labpeer.Checks() {
			t.Run(shape.String()+"/"+c.Name, func(t *testing.T) {
				r := labpeertest.Check(t, c, lab(shape == labpeer.SkeletonShape), labpeer.Options{Shape: shape})
				if !r.Pass {
					report(t, c, r)
				}
				if len(r.Findings) > 0 {
					t.Errorf("findings beyond the grader: %v", r.Findings)
				}
			})
		}
	}
}

// TestCloseClientForServerType1 replays close_client_for_server against
// a server that closes right after accept (the lab's type-1 server), as
// the binary reads: in arrival order, the server's FIN already waiting
// when the grader sends its own. tjunet passes in its default
// configuration and in lab mode in both shapes; a server that
// retransmits its FIN within the grader's 2 s (as tjunet did with a
// 200 ms RTO) fails, as it fails the binary, and is told why.
func TestCloseClientForServerType1(t *testing.T) {
	c := *labpeer.Find("close_client_for_server 1")
	for name, impl := range map[string]labpeertest.Tjunet{
		"default":  {},
		"lab":      lab(false),
		"skeleton": lab(true),
	} {
		t.Run(name, func(t *testing.T) {
			r := labpeertest.Check(t, c, impl, labpeer.Options{})
			if !r.Pass {
				report(t, c, r)
			}
		})
	}
	t.Run("retransmits its FIN at +0.2s", func(t *testing.T) {
		impl := lab(false)
		impl.Faults.EarlyFINRetransmit = true
		r := labpeertest.Check(t, c, impl, labpeer.Options{})
		if r.Pass || !strings.Contains(r.Got, "a retransmission of your FIN") || !hasFinding(r, labpeer.FindFINRetx) {
			t.Errorf("pass=%v got %q findings %v", r.Pass, r.Got, r.Findings)
		}
	})
}

func hasFinding(r *labpeer.Result, code string) bool {
	return slices.ContainsFunc(r.Findings, func(f labpeer.Finding) bool { return f.Code == code })
}

// TestCloseChecksWithClientData runs the checks whose client connects and
// closes with a client that sends a few bytes first, as "tju send" of a
// small file does: the lab's graders ignore that data, and the checks must
// still pass.
func TestCloseChecksWithClientData(t *testing.T) {
	for _, c := range labpeer.Checks() {
		if c.App != labpeer.AppConnectClose {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			impl := lab(false)
			impl.ClientData = "twenty bytes of data"
			r := labpeertest.Check(t, c, impl, labpeer.Options{})
			if !r.Pass {
				report(t, c, r)
			}
		})
	}
}

// TestDataSendJudgesTheShape: the data-send check fails a client whose
// sending shape is not the one asked for, and names it.
func TestDataSendJudgesTheShape(t *testing.T) {
	c := *labpeer.Find("data-send")
	for _, tc := range []struct {
		skeleton bool
		want     labpeer.Shape
	}{{false, labpeer.SkeletonShape}, {true, labpeer.TCPShape}} {
		r := labpeertest.Check(t, c, lab(tc.skeleton), labpeer.Options{Shape: tc.want})
		if r.Pass || !strings.Contains(r.Want, tc.want.String()+" shape") {
			t.Errorf("skeleton=%v, want shape %v: pass=%v, want %q, got %q", tc.skeleton, tc.want, r.Pass, r.Want, r.Got)
		}
	}
}

// TestSelectNamesExactly: --check NAME selects exactly NAME, in the
// table's order, and rejects names of the other role.
func TestSelectNamesExactly(t *testing.T) {
	got, err := labpeer.Select(labpeer.Server, []string{"last-ack", "sender"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"sender", "last-ack"}) {
		t.Errorf("selected %q", names)
	}
	if _, err := labpeer.Select(labpeer.Client, []string{"sender"}, nil); err == nil {
		t.Error("a server's check selected for a client")
	}
	if got, _ := labpeer.Select(labpeer.Client, nil, []string{"grader"}); len(got) != 3 {
		t.Errorf("the grader group of a client has %d checks, want 3", len(got))
	}
}

// TestPortsAreTjunets: labpeer states the lab's ports itself (it imports
// nothing of tjunet but the wire codec); they are package tju's.
func TestPortsAreTjunets(t *testing.T) {
	if labpeer.LabUDPPort != tju.LabUDPPort || labpeer.LabServerPort != tju.LabServerPort || labpeer.LabClientPort != tju.LabClientPort {
		t.Errorf("labpeer's lab ports %d/%d/%d differ from tju's", labpeer.LabUDPPort, labpeer.LabServerPort, labpeer.LabClientPort)
	}
}
