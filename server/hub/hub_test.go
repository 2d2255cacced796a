package hub

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

var t0 = time.Date(2026, 11, 21, 14, 3, 7, 0, time.UTC)

// fixture drives a hub; passwords are "pw-" + name.
type fixture struct {
	t   *testing.T
	h   *Hub
	now time.Time
	ids map[SessionID]uint32
	// runStore, when set, does the store ops of each request's outputs
	// (store_test.go), so that do sees the reply they hold back.
	runStore func([]Output) []Output
}

func newFixture(t *testing.T, cfg Config) *fixture {
	return &fixture{t: t, h: New(cfg), now: t0, ids: map[SessionID]uint32{}}
}

func (x *fixture) nextID(sid SessionID) uint32 {
	x.ids[sid]++
	return x.ids[sid]
}

// do sends a request (giving it the session's next id unless set) and
// checks that exactly one reply with that id went back to the sender.
func (x *fixture) do(sid SessionID, f wire.Frame) (*wire.Frame, []Output) {
	x.t.Helper()
	if f.ID == 0 {
		f.ID = x.nextID(sid)
	}
	outs := x.h.Handle(sid, &f, x.now)
	if f.Type == wire.TypeLogin {
		for _, o := range outs {
			if o.Verify != nil {
				v := VerdictWrong
				if o.Verify.Secret == "pw-"+o.Verify.Name {
					v = VerdictOK
				}
				outs = x.h.LoginResult(sid, o.Verify.ReqID, o.Verify.Name, v, x.now)
			}
		}
	}
	if x.runStore != nil {
		outs = x.runStore(outs)
	}
	return x.reply(outs, sid, f.ID), outs
}

func (x *fixture) reply(outs []Output, sid SessionID, id uint32) *wire.Frame {
	x.t.Helper()
	var r *wire.Frame
	for _, o := range outs {
		if o.To == sid && o.Frame != nil && o.Frame.Type == wire.TypeReply {
			if r != nil {
				x.t.Fatalf("two replies: %+v and %+v", r, o.Frame)
			}
			r = o.Frame
		}
	}
	if r == nil {
		x.t.Fatalf("no reply in %+v", outs)
	}
	if r.ID != id || r.From != "*" || r.Time != x.now.UnixMilli() {
		x.t.Fatalf("reply %+v: want id %d from * at %d", r, id, x.now.UnixMilli())
	}
	return r
}

func (x *fixture) connect(sid SessionID) {
	x.h.Connect(sid, "test", x.now)
	if r, _ := x.do(sid, wire.Frame{Type: wire.TypeHello, Version: wire.Version}); r.Code != wire.OK {
		x.t.Fatalf("hello: %+v", r)
	}
}

func (x *fixture) login(sid SessionID, name string) {
	x.t.Helper()
	x.connect(sid)
	if r, _ := x.do(sid, wire.Frame{Type: wire.TypeLogin, Name: name, Secret: "pw-" + name}); r.Code != wire.OK {
		x.t.Fatalf("login %s: %+v", name, r)
	}
}

func (x *fixture) enter(sid SessionID, room string) {
	x.t.Helper()
	x.do(sid, wire.Frame{Type: wire.TypeCreate, Room: room})
	if r, _ := x.do(sid, wire.Frame{Type: wire.TypeEnter, Room: room}); r.Code != wire.OK {
		x.t.Fatalf("enter %s: %+v", room, r)
	}
}

// to returns the frames other than replies that went to sid.
func to(outs []Output, sid SessionID) []*wire.Frame {
	var fs []*wire.Frame
	for _, o := range outs {
		if o.To == sid && o.Frame != nil && o.Frame.Type != wire.TypeReply {
			fs = append(fs, o.Frame)
		}
	}
	return fs
}

func closes(outs []Output, sid SessionID) bool {
	for _, o := range outs {
		if o.To == sid && o.Close {
			return true
		}
	}
	return false
}

func TestHubRequestRules(t *testing.T) {
	long := strings.Repeat("é", wire.MaxTextRunes+1)
	cases := []struct {
		name  string
		setup func(x *fixture) // session 1 is connected (hello done) before it
		req   wire.Frame
		code  wire.Code
		text  string
	}{
		{"ping before login", nil, wire.Frame{Type: wire.TypePing}, wire.OK, "pong"},
		{"who before login", nil, wire.Frame{Type: wire.TypeWho}, wire.ErrNotLoggedIn, "please log in first: login NAME"},
		{"say before login", nil, wire.Frame{Type: wire.TypeSay, Text: "x"}, wire.ErrNotLoggedIn, "please log in first: login NAME"},
		{"logout before login", nil, wire.Frame{Type: wire.TypeLogout}, wire.ErrNotLoggedIn, ""},
		{"create before login", nil, wire.Frame{Type: wire.TypeCreate, Room: "r"}, wire.ErrNotLoggedIn, ""},
		{"history before login", nil, wire.Frame{Type: wire.TypeHistory, Room: "r"}, wire.ErrNotLoggedIn, ""},
		{"second hello", nil, wire.Frame{Type: wire.TypeHello, Version: 1}, wire.ErrBadRequest, ""},
		{"largest id", nil, wire.Frame{Type: wire.TypePing, ID: 0xffffffff}, wire.OK, ""},
		{"unknown type", nil, wire.Frame{Type: 60}, wire.ErrUnknown, "unknown request type 60"},
		{"server type", nil, wire.Frame{Type: wire.TypeReply}, wire.ErrUnknown, "unknown request type 64"},
		{"reserved transfer type", nil, wire.Frame{Type: 23}, wire.ErrUnknown, "unknown request type 23"},
		{"wrong password", nil, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "nope"}, wire.ErrBadLogin, "login failed: wrong name or password"},
		{"empty password", nil, wire.Frame{Type: wire.TypeLogin, Name: "alice"}, wire.ErrBadLogin, ""},
		{"login bad name", nil, wire.Frame{Type: wire.TypeLogin, Name: "a b", Secret: "x"}, wire.ErrBadName, `bad user name "a b": use 1 to 20 characters without spaces`},
		{"login star", nil, wire.Frame{Type: wire.TypeLogin, Name: "*", Secret: "x"}, wire.ErrBadName, ""},
		{"login long name", nil, wire.Frame{Type: wire.TypeLogin, Name: strings.Repeat("a", 21), Secret: "x"}, wire.ErrBadName, ""},
		{"login 20 runes", nil, wire.Frame{Type: wire.TypeLogin, Name: strings.Repeat("é", 20), Secret: "pw-" + strings.Repeat("é", 20)}, wire.OK, ""},
		{"login bad utf8", nil, wire.Frame{Type: wire.TypeLogin, Name: "a\xffb", Secret: "x"}, wire.ErrBadName, ""},
		{"login control char", nil, wire.Frame{Type: wire.TypeLogin, Name: "a\x01", Secret: "x"}, wire.ErrBadName, ""},
		{"login ok", nil, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "pw-alice"}, wire.OK, "welcome alice"},
		{"login twice", login("alice"), wire.Frame{Type: wire.TypeLogin, Name: "bob", Secret: "pw-bob"}, wire.ErrLoggedIn, "you are already logged in as alice"},
		{"claim closed", nil, wire.Frame{Type: wire.TypeClaim, Name: "g"}, wire.ErrGuestsClosed, ""},
		{"create ok", login("alice"), wire.Frame{Type: wire.TypeCreate, Room: "lounge"}, wire.OK, "created room lounge; enter it with: enter lounge"},
		{"create exists", loginIn("alice", "lounge"), wire.Frame{Type: wire.TypeCreate, Room: "lounge"}, wire.ErrRoomExists, "room lounge already exists"},
		{"create bad name", login("alice"), wire.Frame{Type: wire.TypeCreate, Room: "a b"}, wire.ErrBadName, `bad room name "a b": use 1 to 20 characters without spaces`},
		{"create empty", login("alice"), wire.Frame{Type: wire.TypeCreate}, wire.ErrBadName, ""},
		{"enter missing", login("alice"), wire.Frame{Type: wire.TypeEnter, Room: "lounge"}, wire.ErrNoSuchRoom, "no room named lounge; create it with: create lounge"},
		{"enter bad name", login("alice"), wire.Frame{Type: wire.TypeEnter, Room: "*"}, wire.ErrBadName, ""},
		{"enter current", loginIn("alice", "lounge"), wire.Frame{Type: wire.TypeEnter, Room: "lounge"}, wire.OK, "you are already in lounge"},
		{"enter alone", func(x *fixture) { login("alice")(x); x.do(1, wire.Frame{Type: wire.TypeCreate, Room: "lounge"}) },
			wire.Frame{Type: wire.TypeEnter, Room: "lounge"}, wire.OK, "you entered lounge"},
		{"leave outside", login("alice"), wire.Frame{Type: wire.TypeLeave}, wire.ErrNotInRoom, "you are not in a room"},
		{"leave ok", loginIn("alice", "lounge"), wire.Frame{Type: wire.TypeLeave}, wire.OK, "you left lounge"},
		{"say outside", login("alice"), wire.Frame{Type: wire.TypeSay, Text: "hi"}, wire.ErrNotInRoom, "you are not in a room; enter one with: enter ROOM"},
		{"say empty", loginIn("alice", "r"), wire.Frame{Type: wire.TypeSay}, wire.ErrBadRequest, ""},
		{"say bad utf8", loginIn("alice", "r"), wire.Frame{Type: wire.TypeSay, Text: "\xff"}, wire.ErrBadRequest, ""},
		{"say too long", loginIn("alice", "r"), wire.Frame{Type: wire.TypeSay, Text: long}, wire.ErrTooLong, "message too long: 65536 characters, the limit is 65535"},
		{"say max", loginIn("alice", "r"), wire.Frame{Type: wire.TypeSay, Text: long[2:]}, wire.OK, ""},
		{"tell self", login("alice"), wire.Frame{Type: wire.TypeTell, To: "alice", Text: "hi"}, wire.ErrSelf, "you cannot send a private message to yourself"},
		{"tell nobody", login("alice"), wire.Frame{Type: wire.TypeTell, To: "zed", Text: "hi"}, wire.ErrNoSuchUser, "no user named zed is connected"},
		{"tell bad name", login("alice"), wire.Frame{Type: wire.TypeTell, To: "", Text: "hi"}, wire.ErrBadName, ""},
		{"tell too long", login("alice"), wire.Frame{Type: wire.TypeTell, To: "zed", Text: long}, wire.ErrTooLong, ""},
		{"who", login("alice"), wire.Frame{Type: wire.TypeWho}, wire.OK, "1 user connected"},
		{"rooms none", login("alice"), wire.Frame{Type: wire.TypeRooms}, wire.OK, "no rooms yet; create one with: create ROOM"},
		{"rooms", loginIn("alice", "r"), wire.Frame{Type: wire.TypeRooms}, wire.OK, "1 room"},
		{"history missing room", login("alice"), wire.Frame{Type: wire.TypeHistory, Room: "r"}, wire.ErrNoSuchRoom, ""},
		{"logout", loginIn("alice", "r"), wire.Frame{Type: wire.TypeLogout}, wire.OK, "goodbye alice"},
		{"ping logged in", login("alice"), wire.Frame{Type: wire.TypePing}, wire.OK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := newFixture(t, Config{})
			x.connect(1)
			if tc.setup != nil {
				tc.setup(x)
			}
			r, _ := x.do(1, tc.req)
			if r.Code != tc.code || (tc.text != "" && r.Text != tc.text) {
				t.Fatalf("got code %d %q, want %d %q", r.Code, r.Text, tc.code, tc.text)
			}
		})
	}
}

func login(name string) func(*fixture) {
	return func(x *fixture) {
		x.t.Helper()
		if r, _ := x.do(1, wire.Frame{Type: wire.TypeLogin, Name: name, Secret: "pw-" + name}); r.Code != wire.OK {
			x.t.Fatalf("login: %+v", r)
		}
	}
}

func loginIn(name, room string) func(*fixture) {
	return func(x *fixture) {
		login(name)(x)
		x.enter(1, room)
	}
}

func TestHubHelloFirstAndVersion(t *testing.T) {
	x := newFixture(t, Config{})
	x.h.Connect(1, "a", x.now)
	for _, typ := range []wire.Type{wire.TypePing, wire.TypeLogin, wire.TypeWho} {
		if r, _ := x.do(1, wire.Frame{Type: typ}); r.Code != wire.ErrNoHello {
			t.Fatalf("%v before hello: %+v", typ, r)
		}
	}
	r, _ := x.do(1, wire.Frame{Type: wire.TypeHello, Version: wire.Version, Text: "test 1"})
	if r.Code != wire.OK || r.Version != wire.Version || r.Text != "chat-server 1" {
		t.Fatalf("hello: %+v", r)
	}

	x.h.Connect(2, "b", x.now)
	r, outs := x.do(2, wire.Frame{Type: wire.TypeHello, Version: 99})
	if r.Code != wire.ErrVersion {
		t.Fatalf("version: %+v", r)
	}
	if fs := to(outs, 2); len(fs) != 1 || fs[0].Type != wire.TypeBye || !closes(outs, 2) {
		t.Fatalf("want Bye and close after a bad version: %+v", outs)
	}
	if outs := x.h.Handle(2, &wire.Frame{Type: wire.TypePing, ID: 9}, x.now); len(outs) != 0 {
		t.Fatalf("a closing session was answered: %+v", outs)
	}
}

func TestHubRequestIDZero(t *testing.T) {
	x := newFixture(t, Config{})
	x.connect(1)
	outs := x.h.Handle(1, &wire.Frame{Type: wire.TypePing}, x.now)
	if len(outs) != 1 || outs[0].Frame.Code != wire.ErrBadRequest || outs[0].Frame.ID != 0 {
		t.Fatalf("id 0: %+v", outs)
	}
	if outs := x.h.Handle(1, &wire.Frame{Type: wire.TypePong}, x.now); len(outs) != 0 {
		t.Fatalf("pong was answered: %+v", outs)
	}
	outs = x.h.BadFrame(1, x.now)
	if len(outs) != 1 || outs[0].Frame.Code != wire.ErrBadRequest || outs[0].Frame.ID != 0 {
		t.Fatalf("bad frame: %+v", outs)
	}
}

func TestHubEnterLeaveAnnounced(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.login(3, "carol")
	x.enter(2, "lounge")
	x.enter(3, "lounge")
	x.do(1, wire.Frame{Type: wire.TypeCreate, Room: "den"})
	x.enter(1, "den")
	r, outs := x.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	if r.Text != "you entered lounge with bob, carol" || r.Room != "lounge" {
		t.Fatalf("enter: %+v", r)
	}
	for _, sid := range []SessionID{2, 3} {
		fs := to(outs, sid)
		if len(fs) != 1 || fs[0].Code != wire.NoticeEntered || fs[0].Text != "alice entered lounge" || fs[0].From != "*" || fs[0].Name != "alice" {
			t.Fatalf("session %d: %+v", sid, fs)
		}
	}
	if fs := to(outs, 1); len(fs) != 0 {
		t.Fatalf("alice told about herself: %+v", fs)
	}
	// Entering another room leaves this one.
	_, outs = x.do(1, wire.Frame{Type: wire.TypeEnter, Room: "den"})
	if fs := to(outs, 2); len(fs) != 1 || fs[0].Code != wire.NoticeLeft || fs[0].Text != "alice left lounge" {
		t.Fatalf("left: %+v", fs)
	}
	// Leave.
	_, outs = x.do(2, wire.Frame{Type: wire.TypeLeave})
	if fs := to(outs, 3); len(fs) != 1 || fs[0].Text != "bob left lounge" {
		t.Fatalf("leave: %+v", fs)
	}
	// Logout counts as leaving; the connection stays and can log in again.
	r, outs = x.do(3, wire.Frame{Type: wire.TypeLogout})
	if r.Text != "goodbye carol" || closes(outs, 3) {
		t.Fatalf("logout: %+v", outs)
	}
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeWho}); r.Code != wire.ErrNotLoggedIn {
		t.Fatalf("who after logout: %+v", r)
	}
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeLogin, Name: "carol", Secret: "pw-carol"}); r.Code != wire.OK {
		t.Fatalf("login after logout: %+v", r)
	}
}

func TestHubLogoutAndLostAnnounced(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.enter(1, "r")
	x.enter(2, "r")
	_, outs := x.do(2, wire.Frame{Type: wire.TypeLogout})
	if fs := to(outs, 1); len(fs) != 1 || fs[0].Code != wire.NoticeQuit || fs[0].Text != "bob left r" {
		t.Fatalf("logout: %+v", fs)
	}
	if outs := x.h.Disconnect(2, ReasonClosed, x.now); len(outs) != 0 {
		t.Fatalf("close after logout announced: %+v", outs)
	}
	x.login(3, "carol")
	x.enter(3, "r")
	outs = x.h.Disconnect(3, ReasonLost, x.now)
	if fs := to(outs, 1); len(fs) != 1 || fs[0].Code != wire.NoticeLost || fs[0].Text != "contact with carol was lost" || fs[0].Name != "carol" {
		t.Fatalf("lost: %+v", fs)
	}
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeWho}); len(r.Users) != 1 {
		t.Fatalf("who after lost: %+v", r)
	}
	if outs := x.h.Disconnect(3, ReasonLost, x.now); outs != nil {
		t.Fatalf("second disconnect: %+v", outs)
	}
}

func TestHubSayAndSeq(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.login(3, "carol")
	x.enter(1, "r")
	x.enter(2, "r")
	x.enter(3, "other")
	for want := uint64(1); want <= 3; want++ {
		r, outs := x.do(1, wire.Frame{Type: wire.TypeSay, Text: "hi"})
		if r.Code != wire.OK || r.Seq != want {
			t.Fatalf("say: %+v", r)
		}
		fs := to(outs, 2)
		if len(fs) != 1 || !reflect.DeepEqual(*fs[0], wire.Frame{Type: wire.TypeMessage, From: "alice", Room: "r", Text: "hi", Time: t0.UnixMilli(), Seq: want}) {
			t.Fatalf("message: %+v", fs)
		}
		if len(to(outs, 1)) != 0 || len(to(outs, 3)) != 0 {
			t.Fatalf("message to sender or another room: %+v", outs)
		}
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeEnter, Room: "r"}); r.Seq != 3 {
		t.Fatalf("enter carries the last seq: %+v", r)
	}
	// Each room counts on its own.
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeSay, Text: "x"}); r.Seq != 1 {
		t.Fatalf("other room seq: %+v", r)
	}
}

func TestHubWhoAndRooms(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "carol")
	x.login(2, "alice")
	x.login(3, "bob")
	x.connect(4) // not logged in: not listed
	x.enter(2, "lounge")
	x.enter(3, "lounge")
	x.do(1, wire.Frame{Type: wire.TypeCreate, Room: "attic"})
	r, _ := x.do(1, wire.Frame{Type: wire.TypeWho})
	want := []wire.User{{Name: "alice", Room: "lounge", Prefix: "@"}, {Name: "bob", Room: "lounge"}, {Name: "carol"}}
	if r.Text != "3 users connected" || len(r.Users) != 3 {
		t.Fatalf("who: %+v", r)
	}
	for i := range want {
		if r.Users[i] != want[i] {
			t.Fatalf("who: %+v", r.Users)
		}
	}
	r, _ = x.do(1, wire.Frame{Type: wire.TypeRooms})
	if r.Text != "2 rooms" || len(r.Rooms) != 2 || r.Rooms[0] != (wire.Room{Name: "attic", Mode: "+nt"}) || r.Rooms[1] != (wire.Room{Name: "lounge", Members: 2, Mode: "+nt"}) {
		t.Fatalf("rooms: %+v", r)
	}
}

func TestHubTell(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	r, outs := x.do(1, wire.Frame{Type: wire.TypeTell, To: "bob", Text: "psst"})
	if r.Code != wire.OK {
		t.Fatalf("tell: %+v", r)
	}
	fs := to(outs, 2)
	if len(fs) != 1 || !reflect.DeepEqual(*fs[0], wire.Frame{Type: wire.TypePrivate, From: "alice", To: "bob", Text: "psst", Time: t0.UnixMilli(), Count: 1}) {
		t.Fatalf("private: %+v", fs)
	}
}

func TestHubTakeover(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.enter(1, "r")
	x.enter(2, "r")
	x.connect(3)
	r, outs := x.do(3, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "pw-alice"})
	if r.Code != wire.OK || r.Room != "r" {
		t.Fatalf("takeover login: %+v", r)
	}
	if fs := to(outs, 1); len(fs) != 1 || fs[0].Type != wire.TypeBye || fs[0].Code != wire.ByeTakeover ||
		fs[0].Text != "you logged in from another connection" || !closes(outs, 1) {
		t.Fatalf("old session: %+v", outs)
	}
	if fs := to(outs, 2); len(fs) != 0 {
		t.Fatalf("room told about a takeover: %+v", fs)
	}
	// The old connection's end is not announced either.
	if outs := x.h.Disconnect(1, ReasonLost, x.now); len(outs) != 0 {
		t.Fatalf("old session's close announced: %+v", outs)
	}
	_, outs = x.do(2, wire.Frame{Type: wire.TypeSay, Text: "hi"})
	if fs := to(outs, 3); len(fs) != 1 || fs[0].Text != "hi" {
		t.Fatalf("new session not in the room: %+v", outs)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeWho}); len(r.Users) != 2 || r.Users[0].Room != "r" {
		t.Fatalf("who: %+v", r)
	}
}

func TestHubLoginFailuresLimit(t *testing.T) {
	x := newFixture(t, Config{MaxLoginFailures: 3})
	x.connect(1)
	for i := 1; i <= 3; i++ {
		r, outs := x.do(1, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "bad"})
		if r.Code != wire.ErrBadLogin {
			t.Fatalf("attempt %d: %+v", i, r)
		}
		if got := closes(outs, 1); got != (i == 3) {
			t.Fatalf("attempt %d: close %v", i, got)
		}
		if i == 3 {
			if fs := to(outs, 1); len(fs) != 1 || fs[0].Code != wire.ByeLimit {
				t.Fatalf("bye: %+v", fs)
			}
		}
	}
}

func TestHubLoginUnavailableAndLateResult(t *testing.T) {
	x := newFixture(t, Config{})
	x.connect(1)
	outs := x.h.Handle(1, &wire.Frame{Type: wire.TypeLogin, ID: 7, Name: "alice", Secret: "s"}, x.now)
	if len(outs) != 1 || outs[0].Verify == nil || outs[0].Verify.ReqID != 7 {
		t.Fatalf("want a verify effect: %+v", outs)
	}
	outs = x.h.LoginResult(1, 7, "alice", VerdictUnavailable, x.now)
	if r := x.reply(outs, 1, 7); r.Code != wire.ErrUnavailable {
		t.Fatalf("unavailable: %+v", r)
	}
	// A result for a session that went away is dropped.
	x.h.Handle(1, &wire.Frame{Type: wire.TypeLogin, ID: 8, Name: "alice", Secret: "s"}, x.now)
	x.h.Disconnect(1, ReasonLost, x.now)
	if outs := x.h.LoginResult(1, 8, "alice", VerdictOK, x.now); outs != nil {
		t.Fatalf("late result: %+v", outs)
	}
	if x.h.Sessions() != 0 {
		t.Fatal("session not forgotten")
	}
}

func TestHubGuests(t *testing.T) {
	x := newFixture(t, Config{Guests: true, IsRegistered: func(n string) bool { return n == "alice" }})
	x.connect(1)
	x.connect(2)
	r, _ := x.do(1, wire.Frame{Type: wire.TypeClaim, Name: "g"})
	if r.Code != wire.OK || r.Text != "welcome g" || r.Name != "g" {
		t.Fatalf("claim: %+v", r)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeClaim, Name: "g"}); r.Code != wire.ErrNameTaken {
		t.Fatalf("claim taken: %+v", r)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeClaim, Name: "alice"}); r.Code != wire.ErrNameTaken {
		t.Fatalf("claim registered: %+v", r)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeClaim, Name: "a b"}); r.Code != wire.ErrBadName {
		t.Fatalf("claim bad: %+v", r)
	}
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeClaim, Name: "h"}); r.Code != wire.ErrLoggedIn {
		t.Fatalf("claim twice: %+v", r)
	}
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeLogout}); r.Code != wire.OK {
		t.Fatalf("guest logout: %+v", r)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeClaim, Name: "g"}); r.Code != wire.OK {
		t.Fatalf("claim after logout: %+v", r)
	}
}

func TestHubMaxRooms(t *testing.T) {
	x := newFixture(t, Config{MaxRooms: 2})
	x.login(1, "alice")
	for i, want := range []wire.Code{wire.OK, wire.OK, wire.ErrLimit} {
		if r, _ := x.do(1, wire.Frame{Type: wire.TypeCreate, Room: string(rune('a' + i))}); r.Code != want {
			t.Fatalf("create %d: %+v", i, r)
		}
	}
}

func TestHubHistory(t *testing.T) {
	x := newFixture(t, Config{HistoryLen: 3})
	x.login(1, "alice")
	x.login(2, "bob")
	x.enter(1, "r")
	for i := 0; i < 5; i++ {
		x.do(1, wire.Frame{Type: wire.TypeSay, Text: string(rune('a' + i))})
	}
	r, outs := x.do(2, wire.Frame{Type: wire.TypeHistory, Room: "r", Seq: 1})
	fs := to(outs, 2)
	if r.Code != wire.OK || r.Count != 3 || r.Seq != 5 || len(fs) != 3 || fs[0].Seq != 3 || fs[2].Text != "e" {
		t.Fatalf("history: %+v %+v", r, fs)
	}
	if !strings.Contains(r.Text, "1 older message is no longer kept") {
		t.Fatalf("history text: %q", r.Text)
	}
	r, outs = x.do(2, wire.Frame{Type: wire.TypeHistory, Room: "r", Seq: 5})
	if r.Count != 0 || len(to(outs, 2)) != 0 {
		t.Fatalf("nothing new: %+v", r)
	}

	off := newFixture(t, Config{HistoryLen: -1})
	off.login(1, "alice")
	off.enter(1, "r")
	if r, _ := off.do(1, wire.Frame{Type: wire.TypeHistory, Room: "r"}); r.Code != wire.ErrUnavailable {
		t.Fatalf("history off: %+v", r)
	}
}

func TestHistoryBounds(t *testing.T) {
	var h history
	for i := 1; i <= 1000; i++ {
		h.add(&wire.Frame{Seq: uint64(i), Text: strings.Repeat("x", 100)}, 50, 1000)
		if n := len(h.msgs) - h.head; n > 10 || h.bytes > 1000 || cap(h.msgs) > 64 {
			t.Fatalf("after %d: %d kept, %d bytes, cap %d", i, n, h.bytes, cap(h.msgs))
		}
	}
	if got := h.since(995); len(got) != 5 || got[0].Seq != 996 {
		t.Fatalf("since: %d", len(got))
	}
}

func TestHubShutdown(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.connect(2)
	x.enter(1, "r")
	outs := x.h.Shutdown(x.now)
	for _, sid := range []SessionID{1, 2} {
		fs := to(outs, sid)
		if len(fs) != 2 || fs[0].Code != wire.NoticeShutdown || fs[0].Text != "the server is shutting down" ||
			fs[1].Type != wire.TypeBye || fs[1].Code != wire.ByeShutdown || !closes(outs, sid) {
			t.Fatalf("session %d: %+v", sid, fs)
		}
	}
	if outs := x.h.Disconnect(1, ReasonLost, x.now); len(outs) != 0 {
		t.Fatalf("disconnect after shutdown: %+v", outs)
	}
}

func TestHubWhoFitsOneFrame(t *testing.T) {
	x := newFixture(t, Config{MaxRooms: 20000})
	for i := 1; i <= 10000; i++ {
		name := fmt.Sprintf("%020d", i) // 20 characters
		x.login(SessionID(i), name)
		if i%10 != 0 {
			x.enter(SessionID(i), fmt.Sprintf("r%019d", i))
		}
	}
	r, _ := x.do(1, wire.Frame{Type: wire.TypeWho})
	if size := len(wire.Encode(r)) - wire.HeaderSize; size > wire.MaxFrameSize {
		t.Fatalf("who reply is %d bytes", size)
	}
	if r.Count != 10000 || len(r.Users) == 10000 || !strings.Contains(r.Text, "10000 users connected (the first") {
		t.Fatalf("who: count %d, %d listed, %q", r.Count, len(r.Users), r.Text)
	}
	r, _ = x.do(1, wire.Frame{Type: wire.TypeRooms})
	if size := len(wire.Encode(r)) - wire.HeaderSize; size > wire.MaxFrameSize || r.Count != 9000 {
		t.Fatalf("rooms reply is %d bytes, count %d", size, r.Count)
	}
}

// Who before login: answered on an open server (guests allowed), so that a
// course client can list after logout (S3.6); refused on a password-only
// server, where everything but login waits for it (S0.15).
func TestHubWhoBeforeLogin(t *testing.T) {
	x := newFixture(t, Config{Guests: true})
	x.connect(1)
	x.connect(2)
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeWho}); r.Code != wire.OK || r.Count != 0 || len(r.Users) != 0 {
		t.Fatalf("who before any claim: %+v", r)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeClaim, Name: "B"}); r.Code != wire.OK {
		t.Fatalf("claim: %+v", r)
	}
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeWho}); r.Code != wire.OK || len(r.Users) != 1 || r.Users[0].Name != "B" {
		t.Fatalf("who before login: %+v", r)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeLogout}); r.Code != wire.OK {
		t.Fatalf("logout: %+v", r)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeWho}); r.Code != wire.OK || r.Count != 0 {
		t.Fatalf("who after logout: %+v", r)
	}
	// Only Who: the rest still needs a name.
	for _, f := range []wire.Frame{{Type: wire.TypeTell, To: "B", Text: "x"}, {Type: wire.TypeLogout}, {Type: wire.TypeRooms}, {Type: wire.TypeSay, Text: "x"}} {
		if r, _ := x.do(1, f); r.Code != wire.ErrNotLoggedIn {
			t.Fatalf("%v before login: %+v", f.Type, r)
		}
	}

	closed := newFixture(t, Config{})
	closed.connect(1)
	if r, _ := closed.do(1, wire.Frame{Type: wire.TypeWho}); r.Code != wire.ErrNotLoggedIn || r.Text != "please log in first: login NAME" {
		t.Fatalf("who before login, no guests: %+v", r)
	}
}
