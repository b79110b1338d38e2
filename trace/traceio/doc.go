// Package traceio writes and reads trace files: the I/O half of package
// trace, which keeps the event format and the Tracer interface.
//
// The split holds the engine (internal/tcb) to its sans-I/O rule: it hands
// events to a trace.Tracer and imports nothing that touches a file. A
// Writer formats events into memory and writes them from its own goroutine,
// so tracing never blocks the connection on a disk. Create names files as
// the lab does (client.event.trace, server.event.trace); Read, ReadFile and
// Scanner read them back, tolerating the lab's line variants.
package traceio
