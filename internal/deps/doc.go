// Package deps holds no code: its test, deps_test.go, keeps the protocol
// cores (internal/wire, internal/tcb and what they import from this module)
// free of I/O, clocks, global randomness and goroutines, in the style of
// Go's own go/build deps_test.go. See TestSansIO.
package deps
