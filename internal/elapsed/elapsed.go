// Package elapsed shows a time taken the one way the kit prints it, in the
// CLI's summary and the notebook's alike.
package elapsed

import "time"

// String rounds d for a reader: to the millisecond under a second, to ten
// milliseconds above, e.g. "412ms" and "2.35s".
func String(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}
