package hub

import (
	"fmt"
	"testing"
	"time"

	"chat/internal/wire"
)

func floodFixture(t *testing.T, maxRefused int) *fixture {
	x := newFixture(t, Config{MsgRate: 10, MsgBurst: 20, MaxRefused: maxRefused})
	x.login(1, "alice")
	x.enter(1, "lounge")
	x.login(2, "bob")
	x.enter(2, "lounge")
	return x
}

// sayCode sends a Say from sid at x.now and returns the reply's code, what
// other got, and every output. (fixture.do wants replies stamped t0.)
func (x *fixture) sayCode(sid, other SessionID, text string) (wire.Code, []*wire.Frame, []Output) {
	x.t.Helper()
	return x.request(sid, other, wire.Frame{Type: wire.TypeSay, Text: text})
}

func (x *fixture) request(sid, other SessionID, f wire.Frame) (wire.Code, []*wire.Frame, []Output) {
	x.t.Helper()
	f.ID = x.nextID(sid)
	outs := x.h.Handle(sid, &f, x.now)
	var r *wire.Frame
	for _, o := range outs {
		if o.To == sid && o.Frame != nil && o.Frame.Type == wire.TypeReply {
			if r != nil {
				x.t.Fatalf("two replies: %+v", outs)
			}
			r = o.Frame
		}
	}
	if r == nil || r.ID != f.ID || r.Time != x.now.UnixMilli() {
		x.t.Fatalf("want one reply to %d at %v, got %+v", f.ID, x.now, outs)
	}
	return r.Code, to(outs, other), outs
}

func TestHubFloodControl(t *testing.T) {
	x := floodFixture(t, 1000)
	// The burst: 20 messages at once, each relayed.
	for i := range 20 {
		code, got, _ := x.sayCode(1, 2, fmt.Sprint("m", i))
		if code != wire.OK || len(got) != 1 || got[0].Text != fmt.Sprint("m", i) {
			t.Fatalf("message %d: code %d, bob got %+v", i, code, got)
		}
	}
	// The 21st: refused, relayed to nobody, not kept in history.
	r, outs := x.do(1, wire.Frame{Type: wire.TypeSay, Text: "too fast"})
	if r.Code != wire.ErrSlowDown || r.Text != "you are sending too fast; wait a moment" {
		t.Fatalf("over the burst: %+v", r)
	}
	if len(outs) != 1 || closes(outs, 1) {
		t.Fatalf("a refused message had effects: %+v", outs)
	}
	// Tell and Broadcast count too; other requests do not.
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeTell, To: "bob", Text: "psst"}); r.Code != wire.ErrSlowDown {
		t.Fatalf("tell over the limit: %+v", r)
	}
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeBroadcast, Text: "all"}); r.Code != wire.ErrSlowDown {
		t.Fatalf("broadcast over the limit: %+v", r)
	}
	for _, typ := range []wire.Type{wire.TypeWho, wire.TypePing, wire.TypeRooms} {
		if r, _ := x.do(1, wire.Frame{Type: typ}); r.Code != wire.OK {
			t.Fatalf("%v while out of tokens: %+v", typ, r)
		}
	}
	// Bob has his own bucket.
	if code, got, _ := x.sayCode(2, 1, "bob's"); code != wire.OK || len(got) != 1 {
		t.Fatalf("bob: %d %+v", code, got)
	}
	// 100 ms give one token at 10 a second, and no more.
	x.now = x.now.Add(100 * time.Millisecond)
	if code, got, _ := x.sayCode(1, 2, "after 100ms"); code != wire.OK || len(got) != 1 {
		t.Fatalf("after a refill: %d %+v", code, got)
	}
	if code, _, _ := x.sayCode(1, 2, "again"); code != wire.ErrSlowDown {
		t.Fatalf("second after one refill: %d", code)
	}
	// A long pause refills up to the burst, not beyond.
	x.now = x.now.Add(time.Hour)
	for i := range 20 {
		if code, _, _ := x.sayCode(1, 2, fmt.Sprint("n", i)); code != wire.OK {
			t.Fatalf("after an hour, message %d: %d", i, code)
		}
	}
	if code, _, _ := x.sayCode(1, 2, "21st"); code != wire.ErrSlowDown {
		t.Fatalf("the burst grew past 20: %d", code)
	}
	// The history holds what was relayed, in order, and nothing refused.
	x.now = t0
	x.login(3, "carol") // not in the room: History replays all it keeps
	code, _, outs := x.request(3, 1, wire.Frame{Type: wire.TypeHistory, Room: "lounge"})
	if kept := to(outs, 3); code != wire.OK || len(kept) != 20+1+1+20 {
		t.Fatalf("history: %d, %d messages", code, len(kept))
	}
	for _, f := range to(outs, 3) {
		if f.Text == "too fast" || f.Text == "again" || f.Text == "21st" {
			t.Fatalf("a refused message is in the history: %+v", f)
		}
	}
}

func TestHubFloodCut(t *testing.T) {
	x := floodFixture(t, 5)
	x.login(3, "carol")
	for range 20 {
		x.sayCode(1, 2, "burst")
	}
	// 4 refused, then one accepted after a refill: the count starts again.
	for range 4 {
		if code, _, _ := x.sayCode(1, 2, "x"); code != wire.ErrSlowDown {
			t.Fatalf("want ErrSlowDown, got %d", code)
		}
	}
	x.now = x.now.Add(100 * time.Millisecond)
	if code, _, _ := x.sayCode(1, 2, "ok"); code != wire.OK {
		t.Fatalf("after refill: %d", code)
	}
	for i := range 4 {
		_, _, outs := x.sayCode(1, 2, "x")
		if closes(outs, 1) {
			t.Fatalf("closed after %d refused", i+1)
		}
	}
	// The fifth in a row: the reply, then Bye ByeLimit and close; bob is
	// told alice was disconnected; nobody else hears anything.
	code, got, outs := x.sayCode(1, 2, "x")
	if code != wire.ErrSlowDown {
		t.Fatalf("fifth: %d", code)
	}
	fs := to(outs, 1)
	if len(fs) != 1 || fs[0].Type != wire.TypeBye || fs[0].Code != wire.ByeLimit ||
		fs[0].Text != "you kept sending too fast: 5 messages in a row were refused" || !closes(outs, 1) {
		t.Fatalf("alice got %+v", outs)
	}
	if len(got) != 1 || got[0].Type != wire.TypeNotice || got[0].Code != wire.NoticeLost || got[0].Name != "alice" ||
		got[0].Text != "alice was disconnected from lounge for sending too fast" {
		t.Fatalf("bob got %+v", got)
	}
	if len(to(outs, 3)) != 0 {
		t.Fatalf("carol heard: %+v", to(outs, 3))
	}
	// The hub has forgotten alice: her name is free, the room has bob
	// only, and her disconnect announces nothing more.
	if outs := x.h.Disconnect(1, ReasonClosed, x.now); len(outs) != 0 {
		t.Fatalf("disconnect after the cut: %+v", outs)
	}
	if x.h.Name(1) != "" || x.h.names["alice"] != nil || len(x.h.rooms["lounge"].members) != 1 {
		t.Fatalf("alice is still known: %q, room %+v", x.h.Name(1), x.h.rooms["lounge"].members)
	}
}

func TestHubNoFloodLimitByDefault(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.enter(1, "lounge")
	for i := range 1000 {
		if r, _ := x.do(1, wire.Frame{Type: wire.TypeSay, Text: "x"}); r.Code != wire.OK {
			t.Fatalf("message %d: %+v", i, r)
		}
	}
}
