package hub

import (
	"testing"

	"chat/internal/wire"
)

func TestHubStateVersionAndReservation(t *testing.T) {
	x := newFixture(t, Config{})
	v0 := x.h.StateVersion()
	x.login(1, "alice")
	x.enter(1, "r")
	v1 := x.h.StateVersion()
	if v1 == v0 {
		t.Fatal("create did not change the state")
	}
	if got := x.h.RoomStates(false); len(got) != 1 || got[0].Seq != seqBlock {
		t.Fatalf("reserved: %+v", got)
	}
	changes := 0
	last := v1
	for i := 1; i <= 3*seqBlock; i++ {
		x.do(1, wire.Frame{Type: wire.TypeSay, Text: "x"})
		if v := x.h.StateVersion(); v != last {
			changes++
			last = v
			if rs := x.h.RoomStates(false); rs[0].Seq < uint64(i)+seqBlock/2 {
				t.Fatalf("after %d messages only %d reserved", i, rs[0].Seq)
			}
		}
	}
	// About one save per half block, never one per message.
	if changes < 4 || changes > 7 {
		t.Fatalf("%d state changes for %d messages", changes, 3*seqBlock)
	}
	if rs := x.h.RoomStates(true); rs[0].Seq != 3*seqBlock {
		t.Fatalf("exact: %+v", rs)
	}
}

func TestHubRestoreHistory(t *testing.T) {
	for _, exact := range []bool{true, false} {
		x := newFixture(t, Config{})
		if err := x.h.Restore([]RoomState{{Name: "r", Seq: 10}}, exact); err != nil {
			t.Fatal(err)
		}
		x.login(1, "alice")
		x.login(2, "bob")
		if r, _ := x.do(1, wire.Frame{Type: wire.TypeEnter, Room: "r"}); r.Code != wire.OK || r.Seq != 10 {
			t.Fatalf("enter restored room: %+v", r)
		}
		for _, text := range []string{"a", "b"} {
			if r, _ := x.do(1, wire.Frame{Type: wire.TypeSay, Text: text}); r.Seq != 10+uint64(text[0]-'a'+1) {
				t.Fatalf("say after restore: %+v", r)
			}
		}
		// bob saw up to 7 before the restart.
		r, outs := x.do(2, wire.Frame{Type: wire.TypeHistory, Room: "r", Seq: 7})
		fs := to(outs, 2)
		if r.Count != 2 || len(fs) != 2 || fs[0].Text != "a" || fs[1].Seq != 12 {
			t.Fatalf("history (exact %v): %+v %+v", exact, r, fs)
		}
		want := "2 messages from r; 3 older messages are no longer kept (the server restarted)"
		if !exact {
			want = "2 messages from r; the server restarted and keeps no messages from before it"
		}
		if r.Text != want {
			t.Fatalf("history text (exact %v): %q", exact, r.Text)
		}
		// After the restart nothing is lost for one who saw seq 10.
		if r, _ := x.do(2, wire.Frame{Type: wire.TypeHistory, Room: "r", Seq: 10}); r.Text != "2 messages from r" {
			t.Fatalf("history since restart: %q", r.Text)
		}
	}
}

// A member re-entering asks for what it missed; what was said after it
// joined again came live and must not be replayed (no duplicates).
func TestHubHistoryStopsAtJoin(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.enter(1, "r")
	x.do(1, wire.Frame{Type: wire.TypeSay, Text: "missed 1"})
	x.do(1, wire.Frame{Type: wire.TypeSay, Text: "missed 2"})
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeEnter, Room: "r"}); r.Seq != 2 {
		t.Fatalf("enter: %+v", r)
	}
	_, outs := x.do(1, wire.Frame{Type: wire.TypeSay, Text: "live"})
	if fs := to(outs, 2); len(fs) != 1 || fs[0].Text != "live" {
		t.Fatalf("live: %+v", fs)
	}
	r, outs := x.do(2, wire.Frame{Type: wire.TypeHistory, Room: "r", Seq: 0})
	fs := to(outs, 2)
	if r.Count != 2 || len(fs) != 2 || fs[0].Text != "missed 1" || fs[1].Text != "missed 2" || r.Text != "2 messages from r" {
		t.Fatalf("history: %+v %+v", r, fs)
	}
	// Asking from a Seq it saw live replays nothing.
	if r, outs := x.do(2, wire.Frame{Type: wire.TypeHistory, Room: "r", Seq: 3}); r.Count != 0 || len(to(outs, 2)) != 0 {
		t.Fatalf("history after live: %+v", r)
	}
}
