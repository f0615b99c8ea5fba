package clock

import "syscall"

// fastNow reads CLOCK_REALTIME through the vDSO gettimeofday, which on
// linux/amd64 costs about half of [time.Now] (that reads two clocks).
func fastNow() (int64, bool) {
	var tv syscall.Timeval
	if err := syscall.Gettimeofday(&tv); err != nil {
		return 0, false
	}
	return tv.Sec*1e6 + tv.Usec, true
}
