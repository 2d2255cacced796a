package hub

import (
	"reflect"
	"slices"
	"testing"

	"chat/internal/wire"
)

// Tests of what others see of a user and what a user may change of it
// (users.go): away messages, whois, guest renames, server operators.

// operCheck sends an Oper request and returns its Verify, failing the
// test unless the hub asks for exactly that check and answers nothing yet.
func (x *fixture) operCheck(sid SessionID, name, secret string) *VerifyRequest {
	x.t.Helper()
	f := wire.Frame{Type: wire.TypeOper, ID: x.nextID(sid), Name: name, Secret: secret}
	outs := x.h.Handle(sid, &f, x.now)
	want := VerifyRequest{Session: sid, ReqID: f.ID, Name: name, Secret: secret, Oper: true}
	if len(outs) != 1 || outs[0].Verify == nil || *outs[0].Verify != want || outs[0].Frame != nil {
		x.t.Fatalf("oper %s: want only %+v, got %+v", name, want, outs)
	}
	return outs[0].Verify
}

// operResult completes a check with a verdict and returns the reply.
func (x *fixture) operResult(v *VerifyRequest, verdict Verdict) (*wire.Frame, []Output) {
	x.t.Helper()
	outs := x.h.LoginResult(v.Session, v.ReqID, v.Name, verdict, x.now)
	return x.reply(outs, v.Session, v.ReqID), outs
}

// oper makes sid a server operator with the account name.
func (x *fixture) oper(sid SessionID, name string) {
	x.t.Helper()
	if r, _ := x.operResult(x.operCheck(sid, name, "pw-"+name), VerdictOK); r.Code != wire.OK || r.Text != "you are now a server operator" {
		x.t.Fatalf("oper %s: %+v", name, r)
	}
}

func TestAway(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.join(2, "r")
	r, outs := x.do(2, wire.Frame{Type: wire.TypeAway, Text: "lunch"})
	if r.Code != wire.OK || r.Text != "you are marked as away: lunch" || r.Words != "lunch" {
		t.Fatalf("away: %+v", r)
	}
	onlyTo(t, outs) // nobody is told
	r, outs = x.do(1, wire.Frame{Type: wire.TypeTell, To: "bob", Text: "hi"})
	if r.Code != wire.OK || r.Text != "message sent to bob; bob is away: lunch" || r.Words != "lunch" || r.Name != "bob" {
		t.Fatalf("tell to away: %+v", r)
	}
	onlyTo(t, outs, 2)
	r, _ = x.do(1, wire.Frame{Type: wire.TypeWho})
	if r.Users[1].Name != "bob" || r.Users[1].Away != "lunch" || r.Users[0].Away != "" {
		t.Fatalf("who: %+v", r.Users)
	}
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeWho, Room: "r"}); r.Users[0].Away != "lunch" {
		t.Fatalf("who r: %+v", r.Users)
	}
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeWhois, Name: "bob"}); r.Users[0].Away != "lunch" {
		t.Fatalf("whois: %+v", r.Users)
	}
	x.want(2, wire.Frame{Type: wire.TypeAway}, wire.OK, "you are no longer marked as away")
	if r := x.want(1, wire.Frame{Type: wire.TypeTell, To: "bob", Text: "hi"}, wire.OK, "message sent to bob"); r.Words != "" {
		t.Fatalf("tell after back: %+v", r)
	}
	// Logging out ends it.
	x.do(2, wire.Frame{Type: wire.TypeAway, Text: "gone"})
	x.do(2, wire.Frame{Type: wire.TypeLogout})
	x.do(2, wire.Frame{Type: wire.TypeLogin, Name: "bob", Secret: "pw-bob"})
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeWhois, Name: "bob"}); r.Users[0].Away != "" {
		t.Fatalf("away after logout: %+v", r.Users)
	}
}

func TestWhois(t *testing.T) {
	x := newFixture(t, Config{Guests: true, IsOperator: func(n string) bool { return n == "root" }})
	x.connect(1)
	x.do(1, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "pw-alice", Ident: "~al ice", Real: "Alice A"})
	x.connect(2)
	x.do(2, wire.Frame{Type: wire.TypeClaim, Name: "g", Ident: "gee", Real: "G\x01"})
	x.login(3, "bob")
	x.join(1, "a")
	x.join(2, "a")
	x.join(1, "b")
	x.join(2, "b")
	x.join(1, "hidden")
	x.mode(1, "hidden", "+s")
	x.mode(1, "b", "+v g")

	x.want(3, wire.Frame{Type: wire.TypeWhois, Name: "ALICE"}, wire.ErrNoSuchUser, "")
	r := x.want(3, wire.Frame{Type: wire.TypeWhois, Name: "alice"}, wire.OK, "alice is connected")
	if r.Name != "alice" || !reflect.DeepEqual(r.Users, []wire.User{{Name: "alice", Ident: "~alice", Real: "Alice A"}}) ||
		!reflect.DeepEqual(r.Rooms, []wire.Room{{Name: "a", Members: 2, Prefix: "@"}, {Name: "b", Members: 2, Prefix: "@"}}) {
		t.Fatalf("whois alice: %+v", r)
	}
	// To herself, the secret room too.
	if r := x.want(1, wire.Frame{Type: wire.TypeWhois, Name: "alice"}, wire.OK, ""); len(r.Rooms) != 3 || r.Rooms[2] != (wire.Room{Name: "hidden", Members: 1, Prefix: "@"}) {
		t.Fatalf("whois self: %+v", r.Rooms)
	}
	r = x.want(3, wire.Frame{Type: wire.TypeWhois, Name: "g"}, wire.OK, "g is connected as a guest")
	if r.Name != "" || !reflect.DeepEqual(r.Users, []wire.User{{Name: "g", Ident: "gee"}}) ||
		!reflect.DeepEqual(r.Rooms, []wire.Room{{Name: "a", Members: 2}, {Name: "b", Members: 2, Prefix: "+"}}) {
		t.Fatalf("whois g: %+v", r)
	}
	if r := x.want(1, wire.Frame{Type: wire.TypeWhois, Name: "bob"}, wire.OK, ""); len(r.Rooms) != 0 {
		t.Fatalf("whois bob: %+v", r)
	}
	x.want(1, wire.Frame{Type: wire.TypeWhois, Name: "zed"}, wire.ErrNoSuchUser, `no user named "zed" is connected`)
	// A server operator is marked "*".
	x.oper(3, "root")
	if r := x.want(1, wire.Frame{Type: wire.TypeWhois, Name: "bob"}, wire.OK, ""); r.Users[0].Prefix != "*" {
		t.Fatalf("whois oper: %+v", r.Users)
	}
	// Who shows the ident and real name too.
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeWho, Room: "a"}); r.Users[0].Ident != "~alice" || r.Users[0].Real != "Alice A" {
		t.Fatalf("who: %+v", r.Users)
	}
	// Before login on a server open to guests.
	x.connect(4)
	x.want(4, wire.Frame{Type: wire.TypeWhois, Name: "alice"}, wire.OK, "")
}

func TestNick(t *testing.T) {
	x := newFixture(t, Config{Guests: true, IsRegistered: func(n string) bool { return n == "alice" || n == "reg" }})
	x.claim(1, "g")
	x.claim(2, "h")
	x.claim(3, "k")
	x.claim(4, "m")
	x.login(5, "alice")
	x.join(1, "r")
	x.join(1, "s")
	x.join(2, "r")
	x.join(2, "s")
	x.join(3, "s")
	x.join(5, "t")

	r, outs := x.do(1, wire.Frame{Type: wire.TypeNick, Name: "gee"})
	if r.Code != wire.OK || r.Text != "you are now known as gee" || r.Name != "gee" || r.By != "g" {
		t.Fatalf("nick: %+v", r)
	}
	got := onlyTo(t, outs, 2, 3)
	for sid, room := range map[SessionID]string{2: "r", 3: "s"} {
		n := got[sid]
		if n.Code != wire.NoticeRenamed || n.Name != "g" || n.To != "gee" || n.Room != room || n.Text != "g is now known as gee" {
			t.Fatalf("renamed notice to %d: %+v", sid, n)
		}
	}
	// The operator status follows the name; the old name is free.
	if got := x.whoIn(2, "r"); !slices.Equal(got, []string{"@gee", "h"}) {
		t.Fatalf("who r: %v", got)
	}
	x.claim(6, "g")
	x.want(2, wire.Frame{Type: wire.TypeTell, To: "gee", Text: "hi"}, wire.OK, "message sent to gee")

	x.want(1, wire.Frame{Type: wire.TypeNick, Name: "h"}, wire.ErrNameTaken, "the name h is in use; choose another")

	x.want(1, wire.Frame{Type: wire.TypeNick, Name: "reg"}, wire.ErrNameTaken, "the name reg belongs to a registered user")
	x.want(1, wire.Frame{Type: wire.TypeNick, Name: "a b"}, wire.ErrBadName, "")
	x.want(5, wire.Frame{Type: wire.TypeNick, Name: "al"}, wire.ErrNotAllowed, "you are logged in to the account alice, whose name stays")
	if r := x.want(1, wire.Frame{Type: wire.TypeNick, Name: "gee"}, wire.OK, "you are gee"); r.Name != "gee" {
		t.Fatalf("same name: %+v", r)
	}
	// A change of case is a rename like any other, the standing kept.
	x.mode(1, "s", "+v h") // (gee's +o in s makes it a guest with standing)
	x.do(1, wire.Frame{Type: wire.TypeCreate, Room: "made"})
	r, outs = x.do(1, wire.Frame{Type: wire.TypeNick, Name: "Gee"})
	if r.Code != wire.OK || r.Name != "Gee" {
		t.Fatalf("case change: %+v", r)
	}
	onlyTo(t, outs, 2, 3)
	if got := x.whoIn(2, "r"); !slices.Equal(got, []string{"@Gee", "h"}) {
		t.Fatalf("who r after a case change: %v", got)
	}
	if got := x.whoIn(2, "s"); !slices.Equal(got, []string{"@Gee", "+h", "k"}) {
		t.Fatalf("who s after a case change: %v", got)
	}
	// Nobody shares a room: nobody is told.
	_, outs = x.do(4, wire.Frame{Type: wire.TypeNick, Name: "em"})
	onlyTo(t, outs)
}

func TestOper(t *testing.T) {
	x := newFixture(t, Config{IsOperator: func(n string) bool { return n == "root" }, MaxLoginFailures: 3})
	x.login(1, "alice")
	v := x.operCheck(1, "root", "pw-root")
	// The loop holds frames back meanwhile; a stray result is ignored.
	if outs := x.h.LoginResult(2, v.ReqID, "root", VerdictOK, x.now); outs != nil {
		t.Fatalf("result for another session: %+v", outs)
	}
	r, outs := x.operResult(v, VerdictOK)
	if r.Code != wire.OK || r.Text != "you are now a server operator" {
		t.Fatalf("oper: %+v", r)
	}
	onlyTo(t, outs)
	if r := x.want(1, wire.Frame{Type: wire.TypeWhois, Name: "alice"}, wire.OK, ""); r.Users[0].Prefix != "*" || x.h.Name(1) != "alice" {
		t.Fatalf("whois: %+v", r.Users)
	}
	x.want(1, wire.Frame{Type: wire.TypeOper, Name: "root", Secret: "x"}, wire.OK, "you are a server operator already")
	// Logging out ends it.
	x.do(1, wire.Frame{Type: wire.TypeLogout})
	x.do(1, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "pw-alice"})
	if r := x.want(2-1, wire.Frame{Type: wire.TypeWhois, Name: "alice"}, wire.OK, ""); r.Users[0].Prefix != "" {
		t.Fatalf("oper after logout: %+v", r.Users)
	}

	// A right password of an account not listed, a wrong one, one that
	// cannot be checked.
	x.login(2, "bob")
	x.join(1, "r")
	x.join(2, "r")
	r, _ = x.operResult(x.operCheck(2, "bob", "pw-bob"), VerdictOK)
	if r.Code != wire.ErrNotAllowed || r.Text != "oper failed: wrong name or password, or not an operator" {
		t.Fatalf("not listed: %+v", r)
	}
	if r, _ := x.operResult(x.operCheck(2, "root", "pw-bob"), VerdictUnavailable); r.Code != wire.ErrUnavailable {
		t.Fatalf("unavailable: %+v", r)
	}
	r, outs = x.operResult(x.operCheck(2, "root", "wrong"), VerdictWrong)
	if r.Code != wire.ErrNotAllowed || closes(outs, 2) {
		t.Fatalf("wrong: %+v", outs)
	}
	// Without a password nothing is checked, and it counts as well: the
	// third failure closes.
	r, outs = x.do(2, wire.Frame{Type: wire.TypeOper, Name: "root"})
	if r.Code != wire.ErrNotAllowed || !closes(outs, 2) {
		t.Fatalf("third failure: %+v", outs)
	}
	got := onlyTo(t, outs, 1, 2)
	if f := got[2]; f.Type != wire.TypeBye || f.Code != wire.ByeLimit {
		t.Fatalf("bye: %+v", f)
	}
	// Its rooms hear it went.
	if n := got[1]; n.Code != wire.NoticeLost || n.Name != "bob" || n.Room != "r" || n.Words != "too many failed password checks" ||
		n.Text != "bob was disconnected from r after too many failed password checks" {
		t.Fatalf("room notice: %+v", n)
	}
	if outs := x.h.Disconnect(2, ReasonClosed, x.now); len(outs) != 0 {
		t.Fatalf("the close was announced again: %+v", outs)
	}
	if got := x.whoIn(1, "r"); !slices.Equal(got, []string{"@alice"}) {
		t.Fatalf("who r: %v", got)
	}

	// No operators configured: nobody.
	y := newFixture(t, Config{})
	y.login(1, "root")
	if r, _ := y.operResult(y.operCheck(1, "root", "pw-root"), VerdictOK); r.Code != wire.ErrNotAllowed {
		t.Fatalf("no IsOperator: %+v", r)
	}
	y.want(1, wire.Frame{Type: wire.TypeOper, Name: "a b", Secret: "x"}, wire.ErrNotAllowed, "")
}
