package clock

import (
	"testing"
	"time"
)

func TestNowMatchesWallClock(t *testing.T) {
	for range 100 {
		before := time.Now().UnixMicro()
		got := Now()
		after := time.Now().UnixMicro()
		if got < before || got > after {
			t.Fatalf("Now() = %d, want within [%d, %d]", got, before, after)
		}
	}
}

func TestTimeRoundTrip(t *testing.T) {
	now := time.Now()
	got := Time(Micros(now))
	if !got.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("Time(Micros(%v)) = %v, want %v", now, got, now.Truncate(time.Microsecond))
	}
	if got != got.Round(0) {
		t.Errorf("Time(...) carries a monotonic reading: %v", got)
	}
}

func BenchmarkNow(b *testing.B) {
	b.ReportAllocs()
	b.Run("clock", func(b *testing.B) {
		var s int64
		for b.Loop() {
			s += Now()
		}
		_ = s
	})
	b.Run("time.Now", func(b *testing.B) {
		var s int64
		for b.Loop() {
			s += time.Now().UnixMicro()
		}
		_ = s
	})
}
