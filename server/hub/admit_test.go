package hub

import (
	"testing"

	"chat/internal/wire"
)

// TestInvitationOpensInviteOnly: an invitation lets a user into an
// invite-only room and past nothing else, so a member cannot bring a
// banned user back; the room's own operators pass every rule.
func TestInvitationOpensInviteOnly(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.login(3, "carol")
	x.join(1, "r")
	x.do(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+b carol"})
	x.want(1, wire.Frame{Type: wire.TypeInvite, Room: "r", Name: "carol"}, wire.OK, "")
	x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.ErrBanned, "you are banned from r")
	x.do(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "-b+ik carol key"})
	x.want(1, wire.Frame{Type: wire.TypeInvite, Room: "r", Name: "bob"}, wire.OK, "")
	x.want(2, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.ErrBadKey, "")
	x.want(2, wire.Frame{Type: wire.TypeJoin, Room: "r", Secret: "key"}, wire.OK, "")
	// carol's invitation from before the ban was lifted still holds; dan has none.
	x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r", Secret: "key"}, wire.OK, "")
	x.login(4, "dan")
	x.want(4, wire.Frame{Type: wire.TypeJoin, Room: "r", Secret: "key"}, wire.ErrInviteOnly, "")
	// alice, a registered operator, leaves and comes back past +i and +k.
	x.do(1, wire.Frame{Type: wire.TypeLeave, Room: "r"})
	x.want(1, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.OK, "")
}

// TestOperatorAwayRemoved: a registered operator who is not in the room
// can still be made an ordinary user; a server operator sets a topic from
// outside.
func TestOperatorAwayRemoved(t *testing.T) {
	x := newFixture(t, Config{IsOperator: func(n string) bool { return n == "root" }})
	x.login(1, "alice")
	x.login(2, "bob")
	x.join(1, "r")
	x.join(2, "r")
	x.do(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+o bob"})
	x.do(1, wire.Frame{Type: wire.TypeLogout})
	r := x.want(2, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "-o alice"}, wire.OK, "")
	if r.Mode != "-o alice" || x.h.room("r").isOp("alice") {
		t.Fatalf("-o alice: %+v", r)
	}
	x.want(2, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+o alice"}, wire.ErrNoSuchUser, "")
	x.login(3, "root")
	outs := x.h.Handle(3, &wire.Frame{Type: wire.TypeOper, ID: x.nextID(3), Name: "root", Secret: "pw-root"}, x.now)
	x.h.LoginResult(3, outs[0].Verify.ReqID, "root", VerdictOK, x.now)
	x.want(3, wire.Frame{Type: wire.TypeTopic, Room: "r", Code: wire.TopicSet, Text: "set from outside"}, wire.OK, "topic set")
}
