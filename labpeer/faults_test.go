package labpeer_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/labpeer/labpeertest"
)

// failing runs every check of role against impl and returns the names of
// those that fail and the findings' codes.
func failing(t *testing.T, role labpeer.Role, impl labpeertest.Impl) (fails, findings []string) {
	t.Helper()
	for _, c := range labpeer.Checks() {
		if c.IUT != role {
			continue
		}
		r := labpeertest.Check(t, c, impl, labpeer.Options{})
		if !r.Pass {
			fails = append(fails, c.Name)
			t.Logf("FAIL %s: %s: want %s; got %s", c.Name, r.Step, r.Want, r.Got)
		}
		for _, f := range r.Findings {
			t.Logf("%s: beyond the grader: %s", c.Name, f.Text)
			if !slices.Contains(findings, f.Code) {
				findings = append(findings, f.Code)
			}
		}
	}
	return fails, findings
}

func names(role labpeer.Role, group labpeer.Group) []string {
	var out []string
	for _, c := range labpeer.Checks() {
		if c.IUT == role && (group == 0 || c.Group == group) {
			out = append(out, c.Name)
		}
	}
	return out
}

// TestChecksNameEachFault runs every check against tjunet made to
// misbehave in one way and verifies that exactly the checks that look at
// that behaviour fail.
func TestChecksNameEachFault(t *testing.T) {
	for _, tc := range []struct {
		name  string
		role  labpeer.Role
		f     labpeertest.Faults
		fails []string
	}{
		{"never retransmits its SYN", labpeer.Client, labpeertest.Faults{NoSYNRetransmit: true},
			[]string{"syn-retransmit", "rto-after-syn-retransmit"}},
		// Every check begins with a handshake, which the wrong ack spoils.
		{"acks wrongly", labpeer.Client, labpeertest.Faults{WrongAck: true}, names(labpeer.Client, 0)},
		{"acks wrongly", labpeer.Server, labpeertest.Faults{WrongAck: true}, names(labpeer.Server, 0)},
		{"piggybacks its FIN on the ACK of the peer's FIN", labpeer.Client, labpeertest.Faults{PiggybackFIN: true},
			[]string{"time-wait", "fin-wait-1-race"}},
		{"piggybacks its FIN on the ACK of the peer's FIN", labpeer.Server, labpeertest.Faults{PiggybackFIN: true},
			// A server that closes first (type 1) has sent its FIN already.
			[]string{"close_client_for_server 0", "last-ack", "data-skeleton"}},
		{"sends data at ISN", labpeer.Client, labpeertest.Faults{DataAtISN: true}, []string{"data-send"}},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.name, tc.role), func(t *testing.T) {
			impl := lab(false)
			impl.Faults = tc.f
			fails, _ := failing(t, tc.role, impl)
			if !slices.Equal(fails, tc.fails) {
				t.Errorf("failing checks %q, want %q", fails, tc.fails)
			}
		})
	}
}

// TestStudentHabits runs every check against a scripted skeleton-shaped
// implementation with each habit of tju-lab.md's student code, alone and
// all at once. The student's code passes all six official grader runs, so
// every grader check must pass here too (the binaries' verdict); each habit
// must be named beyond the grader, and fail only the checks beyond the
// graders that look at it.
func TestStudentHabits(t *testing.T) {
	clean := map[labpeer.Role][]string{}
	for _, role := range []labpeer.Role{labpeer.Client, labpeer.Server} {
		fails, findings := failing(t, role, &labpeertest.Skeleton{})
		clean[role] = fails
		if len(findings) > 0 {
			t.Errorf("the skeleton without habits, as a %s: findings %q", role, findings)
		}
		for _, g := range names(role, labpeer.Grader) {
			if slices.Contains(fails, g) {
				t.Errorf("the skeleton without habits fails %s", g)
			}
		}
	}
	for _, tc := range []struct {
		name     string
		h        labpeertest.Habits
		role     labpeer.Role
		findings []string
		more     []string // checks failing beyond those the skeleton fails without habits
	}{
		{"FIN seq 0", labpeertest.Habits{FINSeq0: true}, labpeer.Client, []string{labpeer.FindFINSeq}, nil},
		{"FIN seq 0", labpeertest.Habits{FINSeq0: true}, labpeer.Server, []string{labpeer.FindFINSeq}, nil},
		{"peer ISN 0", labpeertest.Habits{PeerISN0: true}, labpeer.Server, []string{labpeer.FindPeerISN0}, []string{"data-receive"}},
		{"window 1", labpeertest.Habits{Window1: true}, labpeer.Client, []string{labpeer.FindWindow1}, nil},
		{"window 1", labpeertest.Habits{Window1: true}, labpeer.Server, []string{labpeer.FindWindow1}, nil},
		{"late FIN_WAIT_1", labpeertest.Habits{LateFinWait1: true}, labpeer.Client, []string{labpeer.FindFinWait1Race}, []string{"fin-wait-1-race"}},
		{"all", labpeertest.Student, labpeer.Client,
			[]string{labpeer.FindWindow1, labpeer.FindFINSeq, labpeer.FindFinWait1Race}, []string{"fin-wait-1-race"}},
		{"all", labpeertest.Student, labpeer.Server,
			[]string{labpeer.FindWindow1, labpeer.FindFINSeq, labpeer.FindPeerISN0}, []string{"data-receive"}},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.name, tc.role), func(t *testing.T) {
			fails, findings := failing(t, tc.role, &labpeertest.Skeleton{Habits: tc.h})
			for _, g := range names(tc.role, labpeer.Grader) {
				if slices.Contains(fails, g) {
					t.Errorf("%s fails; the official binary passes this student", g)
				}
			}
			var more []string
			for _, f := range fails {
				if !slices.Contains(clean[tc.role], f) {
					more = append(more, f)
				}
			}
			if !slices.Equal(more, tc.more) {
				t.Errorf("checks failing because of the habit: %q, want %q", more, tc.more)
			}
			slices.Sort(findings)
			slices.Sort(tc.findings)
			if !slices.Equal(findings, tc.findings) {
				t.Errorf("findings %q, want %q", findings, tc.findings)
			}
		})
	}
}

// TestReceiverTakesTheSeq0FIN: the receiver check's courtesy teardown
// takes the student's FIN with seq 0 as the FIN, as the graders do,
// instead of waiting 15 s again on each of its retransmissions (one run
// took 311 s).
func TestReceiverTakesTheSeq0FIN(t *testing.T) {
	c := *labpeer.Find("receiver")
	r := labpeertest.Check(t, c, &labpeertest.Skeleton{Habits: labpeertest.Habits{FINSeq0: true}}, labpeer.Options{})
	if !r.Pass || len(r.Notes) > 0 || r.Elapsed > 5*time.Second {
		t.Errorf("pass=%v notes=%q elapsed=%v (virtual), want a pass with a clean teardown within 5s", r.Pass, r.Notes, r.Elapsed)
	}
	if !hasFinding(r, labpeer.FindFINSeq) {
		t.Errorf("findings %v: the FIN's seq 0 is not named", r.Findings)
	}
}
