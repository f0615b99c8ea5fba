// Package clock reads the wall clock for token expiry checks.
//
// Token lifetimes are wall-clock facts: a token issued with expires_in=3600
// is dead one hour of real time later, whether or not the process (or the
// machine) was suspended in between. Go's [time.Now] carries a monotonic
// reading, and comparisons between two such times use it; on Linux the
// monotonic clock stops while the machine is suspended, so a cache that
// compares monotonic times serves tokens that expired during a suspend.
// Every expiry check in this module therefore compares wall-clock
// microseconds since the Unix epoch, as returned by [Now].
package clock

import "time"

// Now returns the wall-clock time in microseconds since the Unix epoch.
// It reads only the real-time clock (no monotonic reading), which counts
// time spent suspended.
func Now() int64 {
	if us, ok := fastNow(); ok {
		return us
	}
	return time.Now().UnixMicro()
}

// Micros converts t to wall-clock microseconds since the Unix epoch,
// dropping any monotonic reading.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// Time converts wall-clock microseconds since the Unix epoch to a
// [time.Time] without a monotonic reading.
func Time(us int64) time.Time { return time.UnixMicro(us) }
