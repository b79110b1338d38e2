package trace

import "sync"

// Roles of the lab's two hosts, which name their trace files.
const (
	RoleClient = "client"
	RoleServer = "server"
)

// FileName returns the lab's name of the trace file of a host with the given
// role: "client.event.trace" for RoleClient, "server.event.trace" for RoleServer.
func FileName(role string) string { return role + ".event.trace" }

// Recorder is a Tracer that keeps events in memory, for tests and for plotting
// a connection without a file. It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Trace appends a copy of e. It implements Tracer.
func (r *Recorder) Trace(e *Event) {
	r.mu.Lock()
	r.events = append(r.events, *e)
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far, in order.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Multi returns a Tracer that passes each event to every one of tracers in
// turn; nil tracers are left out.
func Multi(tracers ...Tracer) Tracer {
	var m multi
	for _, t := range tracers {
		if t != nil {
			m = append(m, t)
		}
	}
	return m
}

type multi []Tracer

func (m multi) Trace(e *Event) {
	for _, t := range m {
		t.Trace(e)
	}
}
