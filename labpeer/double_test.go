package labpeer_test

import (
	"net"
	"slices"
	"testing"

	"github.com/tjunet/tjunet/internal/labdouble"
	"github.com/tjunet/tjunet/labpeer"
)

// TestChecksNameEachFault runs every check against a double that
// misbehaves in one way and verifies that exactly the checks that look at
// that behaviour fail.
func TestChecksNameEachFault(t *testing.T) {
	cases := []struct {
		name  string
		f     labdouble.Faults
		fails []string
	}{
		{"never retransmits its SYN", labdouble.Faults{NoSYNRetransmit: true},
			[]string{"syn-retransmit", "rto-after-syn-retransmit"}},
		// Every check begins with a handshake, which the wrong ack spoils.
		{"acks wrongly", labdouble.Faults{WrongAck: true}, allChecks()},
		{"piggybacks its FIN on the ACK of the peer's FIN", labdouble.Faults{PiggybackFIN: true},
			[]string{"close_client_for_server 0", "close_client_for_server 1", "time-wait", "last-ack", "data-skeleton"}},
		{"sends data at ISN", labdouble.Faults{DataAtISN: true}, []string{"data-send"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			impl := iut{wrap: func(pc net.PacketConn) net.PacketConn { return labdouble.Wrap(pc, tc.f) }}
			var failed []string
			for _, c := range labpeer.Checks() {
				r := runCheck(t, c, impl, labpeer.Options{})
				if !r.Pass {
					failed = append(failed, c.Name)
					t.Logf("%s: %s: want %s; got %s", c.Name, r.Step, r.Want, r.Got)
				}
			}
			if !slices.Equal(failed, tc.fails) {
				t.Errorf("failing checks %q, want %q", failed, tc.fails)
			}
		})
	}
}

func allChecks() []string {
	var names []string
	for _, c := range labpeer.Checks() {
		names = append(names, c.Name)
	}
	return names
}
