package hub

import (
	"testing"

	"chat/internal/wire"
)

// TestKill: a server operator ends a user's connection with a reason; the
// user's rooms hear it was lost; nobody else may.
func TestKill(t *testing.T) {
	x := newFixture(t, Config{IsOperator: func(n string) bool { return n == "root" }})
	x.login(1, "root")
	x.login(2, "bob")
	x.login(3, "carol")
	x.enter(2, "r")
	x.enter(3, "r")
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeKill, Name: "carol"}); r.Code != wire.ErrNotAllowed {
		t.Fatalf("kill by bob: %+v", r)
	}
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeKill, Name: "carol"}); r.Code != wire.ErrNotAllowed {
		t.Fatalf("kill before oper: %+v", r)
	}
	outs := x.h.Handle(1, &wire.Frame{Type: wire.TypeOper, ID: x.nextID(1), Name: "root", Secret: "pw-root"}, x.now)
	x.h.LoginResult(1, outs[0].Verify.ReqID, "root", VerdictOK, x.now)
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeKill, Name: "nobody"}); r.Code != wire.ErrNoSuchUser {
		t.Fatalf("kill of nobody: %+v", r)
	}
	r, outs := x.do(1, wire.Frame{Type: wire.TypeKill, Name: "carol", Text: "spam"})
	if r.Code != wire.OK || r.Text != "you disconnected carol" {
		t.Fatalf("kill: %+v", r)
	}
	if fs := to(outs, 3); len(fs) != 1 || fs[0].Type != wire.TypeBye || fs[0].Code != wire.ByeKilled || fs[0].Text != "Killed (root (spam))" || !closes(outs, 3) {
		t.Fatalf("carol got %+v", outs)
	}
	if fs := to(outs, 2); len(fs) != 1 || fs[0].Code != wire.NoticeLost || fs[0].Words != "Killed (root (spam))" {
		t.Fatalf("bob got %+v", fs)
	}
	if x.h.user("carol") != nil {
		t.Fatal("carol still holds her name")
	}
}
