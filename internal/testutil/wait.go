package testutil

import (
	"testing"
	"time"
)

// Eventually calls check until it returns nil, failing the test with check's
// last error once timeout has passed. Tests against a real API server wait
// for the operator to catch up this way, never with a fixed sleep.
func Eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
