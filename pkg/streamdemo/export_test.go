package streamdemo

import "testing"

// LowerStreamLimit makes MaxStreamBytes n for the rest of the test.
func LowerStreamLimit(t testing.TB, n int) {
	old := streamLimit
	streamLimit = n
	t.Cleanup(func() { streamLimit = old })
}
