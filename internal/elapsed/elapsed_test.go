package elapsed

import (
	"testing"
	"time"
)

func TestStringRoundsForAReader(t *testing.T) {
	for d, want := range map[time.Duration]string{
		412345 * time.Microsecond:  "412ms",
		2345678 * time.Microsecond: "2.35s",
		999400 * time.Microsecond:  "999ms",
		0:                          "0s",
	} {
		if got := String(d); got != want {
			t.Errorf("String(%v) = %q, want %q", d, got, want)
		}
	}
}
