package auth

import (
	"testing"
	"time"

	"chat/server/hub"
)

// collectWithin waits for the next result of g (the workers answer on
// their own goroutines).
func collectWithin(t *testing.T, g *Gate) VerifyResult {
	t.Helper()
	var r VerifyResult
	waitFor(t, "a verdict", func() bool {
		var ok bool
		r, ok = g.Collect()
		return ok
	})
	return r
}

func TestGateHoldsThrottledChecks(t *testing.T) {
	path := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland"})
	v, err := NewVerifier(path, 1, nil, func() {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	g := NewGate(v, GateConfig{Free: 1, Delay: time.Minute, DelayMax: time.Hour, Quiet: time.Hour})
	req := func(id uint32, pw string) hub.VerifyRequest {
		return hub.VerifyRequest{Session: hub.SessionID(id), ReqID: id, Name: "alice", Secret: pw}
	}

	g.Check(req(1, "wrong"), "10.0.0.1", t0) // the free attempt: checked at once
	if r := collectWithin(t, g); r.Verdict != hub.VerdictWrong || r.Session != 1 {
		t.Fatalf("first check: %+v", r)
	}
	g.Record(VerifyResult{VerifyRequest: req(1, "wrong"), Verdict: hub.VerdictWrong}, "10.0.0.1", t0)

	g.Check(req(2, "wonderland"), "10.0.0.2", t0) // held a minute
	if next := g.NextRelease(); !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("NextRelease = %v, want a minute after t0", next)
	}
	everyone := func(hub.SessionID) bool { return true }
	g.Release(t0.Add(59*time.Second), everyone)
	if _, ok := g.Collect(); ok {
		t.Fatal("a held check was answered before its delay")
	}
	g.Release(t0.Add(time.Minute), everyone)
	if r := collectWithin(t, g); r.Verdict != hub.VerdictOK || r.Session != 2 {
		t.Fatalf("released check: %+v", r)
	}
	if !g.NextRelease().IsZero() {
		t.Fatal("nothing should be held any more")
	}

	// A held check whose session gave up is dropped when due.
	g.Check(req(3, "wonderland"), "10.0.0.3", t0)
	g.Release(t0.Add(time.Hour), func(hub.SessionID) bool { return false })
	if g.NextRelease() != (time.Time{}) {
		t.Fatal("the dropped check is still held")
	}
}

func TestGateAnswersBusyPastMaxPending(t *testing.T) {
	path := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland"})
	v, err := NewVerifier(path, 1, nil, func() {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var logged []string
	g := NewGate(v, GateConfig{MaxPending: 1, Logf: func(f string, _ ...any) { logged = append(logged, f) }})
	g.Check(hub.VerifyRequest{Session: 1, ReqID: 1, Name: "alice", Secret: "wonderland"}, "10.0.0.1", t0)
	g.Check(hub.VerifyRequest{Session: 2, ReqID: 1, Name: "alice", Secret: "wonderland"}, "10.0.0.2", t0)
	// The second is answered first, at once, without a check.
	if r, ok := g.Collect(); !ok || r.Session != 2 || r.Verdict != hub.VerdictBusy {
		t.Fatalf("past MaxPending: %+v, %v", r, ok)
	}
	if r := collectWithin(t, g); r.Session != 1 || r.Verdict != hub.VerdictOK {
		t.Fatalf("the pending check: %+v", r)
	}
	if len(logged) != 1 {
		t.Fatalf("logged %q, want one line about refusing checks", logged)
	}
}

// Wrong passwords for an account given on other servers of a cluster
// count here as attempts at it; a right one there ends the count.
func TestGateCountsAttemptsElsewhere(t *testing.T) {
	cases := []struct {
		name      string
		elsewhere []bool // verdicts on other servers: true is a right password
		wantHeld  bool
	}{
		{"none", nil, false},
		{"one wrong, the free one", []bool{false}, false},
		{"two wrong", []bool{false, false}, true},
		{"two wrong then a right one", []bool{false, false, true}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewGate(nil, GateConfig{Free: 2, Delay: time.Minute, DelayMax: time.Hour, Quiet: time.Hour})
			for _, ok := range c.elsewhere {
				g.Elsewhere("alice", ok, t0)
			}
			if d := g.throttle.admit("alice", "10.0.0.1", t0); (d > 0) != c.wantHeld {
				t.Fatalf("delay %v, want held %v", d, c.wantHeld)
			}
			if d := g.throttle.admit("bob", "10.0.0.1", t0); d != 0 {
				t.Fatalf("another account waits %v", d)
			}
		})
	}
}
