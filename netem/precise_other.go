//go:build !linux

package netem

import "time"

// PreciseAfterFunc is time.AfterFunc, for Network.SetTimers; only on Linux
// is it more precise than the time package's timers.
func PreciseAfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
