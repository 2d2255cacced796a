package hub

import (
	"testing"

	"chat/internal/wire"
)

// TestAccountDisplacesGuest: a guest who holds a name before its account
// logs in (the account was made since the guest claimed it) is put out: its rooms
// hear it left, it gets a Bye saying why, and the account inherits nothing.
func TestAccountDisplacesGuest(t *testing.T) {
	x := newFixture(t, Config{Guests: true})
	x.login(1, "bob")
	x.enter(1, "r")
	x.connect(2)
	x.do(2, wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	x.do(2, wire.Frame{Type: wire.TypeClaim, Name: "alice"})
	x.do(2, wire.Frame{Type: wire.TypeEnter, Room: "r"})
	x.connect(3)
	x.do(3, wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	r, outs := x.do(3, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "pw-alice"})
	if r.Code != wire.OK || r.Room != "" || len(r.Rooms) != 0 {
		t.Fatalf("login: %+v", r)
	}
	fs := to(outs, 2)
	if len(fs) != 1 || fs[0].Type != wire.TypeBye || fs[0].Code != wire.ByeTakeover ||
		fs[0].Text != "the name alice belongs to a registered user, who logged in" || !closes(outs, 2) {
		t.Fatalf("the guest got %+v", outs)
	}
	if fs := to(outs, 1); len(fs) != 1 || fs[0].Code != wire.NoticeQuit || fs[0].Name != "alice" {
		t.Fatalf("the room heard %+v", fs)
	}
	if u := x.h.user("alice"); u == nil || u.id != 3 || u.guest || len(u.joined) != 0 {
		t.Fatalf("alice is %+v", u)
	}
}

// TestHistoryOfPrivateRooms: the history of a secret, invite-only or keyed
// room is its members' alone.
func TestHistoryOfPrivateRooms(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	for _, tc := range []struct {
		room, mode string
		code       wire.Code
	}{{"s", "+s", wire.ErrNoSuchRoom}, {"i", "+i", wire.ErrNotInRoom}, {"k", "+k key", wire.ErrNotInRoom}, {"open", "-t", wire.OK}} {
		x.do(1, wire.Frame{Type: wire.TypeJoin, Room: tc.room})
		x.do(1, wire.Frame{Type: wire.TypeMode, Room: tc.room, Mode: tc.mode})
		if r, _ := x.do(2, wire.Frame{Type: wire.TypeHistory, Room: tc.room}); r.Code != tc.code {
			t.Errorf("%s: %+v", tc.room, r)
		}
		if r, _ := x.do(1, wire.Frame{Type: wire.TypeHistory, Room: tc.room}); r.Code != wire.OK {
			t.Errorf("%s, a member: %+v", tc.room, r)
		}
	}
}
