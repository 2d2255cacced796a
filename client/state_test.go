package client

import (
	"strings"
	"testing"
	"time"
)

// TestConnStateTransitions walks a reconnection through Client.to and checks
// that the state is one value, that quitting stays quitting while the
// automatic re-entry is still answered, and that a transition nextStates
// does not list is refused.
func TestConnStateTransitions(t *testing.T) {
	c := newClient(Config{}, false)
	for _, s := range []connState{stateConnecting, stateHello, stateReady, stateOffline, stateBackingOff,
		stateConnecting, stateHello, stateRelogin, stateReclaimWait, stateRelogin, stateReentering} {
		c.to(s)
		if c.state != s {
			t.Fatalf("to(%v): state %v", s, c.state)
		}
	}
	c.toFor(stateQuitting, time.Second)
	until := c.until
	c.to(stateReady) // the re-entry answered on the way out
	if c.state != stateQuitting || c.until != until {
		t.Errorf("after the re-entry's answer while quitting: state %v until %v, want quitting until %v", c.state, c.until, until)
	}

	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, "ready cannot become relogin") {
			t.Errorf("ready → relogin: recovered %v, want a refusal", r)
		}
	}()
	c.to(stateOffline)
	c.to(stateConnecting)
	c.to(stateHello)
	c.to(stateReady)
	c.to(stateRelogin)
}
