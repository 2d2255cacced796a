package server

import (
	"sync/atomic"
	"testing"
	"time"
)

// A login asleep until its next ask is woken exactly once: by its timer,
// or by the watch seeing the node's lease end (forget), whichever comes
// first, even when the timer fires as the lease ends. Here the two race
// over and over: a login lost between them would wait for an answer that
// never comes.
func TestLoginAsleepWokenOnceByTimerOrLeaseEnd(t *testing.T) {
	for _, retry := range []time.Duration{0, time.Microsecond, 20 * time.Microsecond, time.Hour} {
		cl := &cluster{alive: make(map[string]bool), retry: retry}
		const logins = 2000
		var asked [logins]atomic.Int32
		for i := range logins {
			cl.sleep("gone-1", func() { asked[i].Add(1) })
			if i%100 == 99 {
				cl.mu.Lock()
				woken := cl.forget("gone-1")
				cl.mu.Unlock()
				for _, again := range woken {
					again()
				}
			}
		}
		waitFor(t, "every login asked once", func() bool {
			for i := range asked {
				if asked[i].Load() == 0 {
					return false
				}
			}
			return true
		})
		for i := range asked {
			if n := asked[i].Load(); n != 1 {
				t.Fatalf("retry %v: login %d asked %d times, want once", retry, i, n)
			}
		}
	}
}
