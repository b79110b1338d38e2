package minitalk

// EventKind names something that happened in a client or a server, for logs
// and for the demo.
type EventKind uint8

// Events.
const (
	EventNone EventKind = iota

	// Client events.
	EventAccepted  // the server accepted the knock
	EventRejected  // the server was busy: sleeping before knocking again
	EventRestarted // rejected mid-message (dropped, or damaged): starting over
	EventResent    // no answer in time: the same symbol again
	EventDone      // the server acknowledged the end
	EventFailed    // gave up

	// Server events.
	EventBound     // accepted a knock; bound to that client
	EventDelivered // a whole message arrived and was printed
	EventDamaged   // a message ended with a bad CRC or overflowed: rejected
	EventBusy      // a knock from another process while bound: rejected
	EventNoise     // a symbol from another process that is not a knock: ignored
	EventStale     // a symbol from a client dropped earlier: rejected
	EventReanswer  // the bound client was silent: last answer sent again
	EventSilent    // the bound client was silent too long: dropped
	EventGone      // the bound client's process is gone: dropped
	EventIdle      // the bound client was stopped (or asleep, not waiting for a symbol), silent too long: dropped
	EventReceiving // the first byte of a message arrived
)

var eventNames = [...]string{
	"none", "accepted", "rejected", "restarted", "resent", "done", "failed",
	"bound", "delivered", "damaged", "busy", "noise", "stale", "reanswer", "silent", "gone", "idle", "receiving",
}

// String returns a short lower-case name of the event.
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "event?"
}
