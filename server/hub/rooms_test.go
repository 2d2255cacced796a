package hub

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"chat/internal/wire"
)

// Tests of membership in several rooms (rooms.go): Join and Enter, who
// runs a room, leaving, one notice per sharing session, takeover, history.

// claim connects sid and claims a guest name (the fixture's Config must
// allow guests).
func (x *fixture) claim(sid SessionID, name string) {
	x.t.Helper()
	x.connect(sid)
	if r, _ := x.do(sid, wire.Frame{Type: wire.TypeClaim, Name: name}); r.Code != wire.OK {
		x.t.Fatalf("claim %s: %+v", name, r)
	}
}

// join joins sid to room and fails the test unless it is let in.
func (x *fixture) join(sid SessionID, room string) *wire.Frame {
	x.t.Helper()
	r, _ := x.do(sid, wire.Frame{Type: wire.TypeJoin, Room: room})
	if r.Code != wire.OK {
		x.t.Fatalf("join %s by %d: %+v", room, sid, r)
	}
	return r
}

// mode sets modes of room as sid and fails the test unless it is done.
func (x *fixture) mode(sid SessionID, room, change string) *wire.Frame {
	x.t.Helper()
	r, _ := x.do(sid, wire.Frame{Type: wire.TypeMode, Room: room, Mode: change})
	if r.Code != wire.OK {
		x.t.Fatalf("mode %s %s by %d: %+v", room, change, sid, r)
	}
	return r
}

// want fails unless the request gets code (and text, if not empty).
func (x *fixture) want(sid SessionID, f wire.Frame, code wire.Code, text string) *wire.Frame {
	x.t.Helper()
	r, _ := x.do(sid, f)
	if r.Code != code || (text != "" && r.Text != text) {
		x.t.Fatalf("%v %+v by %d: got %d %q, want %d %q", f.Type, f, sid, r.Code, r.Text, code, text)
	}
	return r
}

// delivered maps each session to the frames other than replies it got.
func delivered(outs []Output) map[SessionID][]*wire.Frame {
	m := map[SessionID][]*wire.Frame{}
	for _, o := range outs {
		if o.Frame != nil && o.Frame.Type != wire.TypeReply {
			m[o.To] = append(m[o.To], o.Frame)
		}
	}
	return m
}

// onlyTo fails unless the frames other than replies went to exactly the
// sessions of want, one each, and returns them by session.
func onlyTo(t *testing.T, outs []Output, want ...SessionID) map[SessionID]*wire.Frame {
	t.Helper()
	got := delivered(outs)
	one := map[SessionID]*wire.Frame{}
	for _, sid := range want {
		if len(got[sid]) != 1 {
			t.Fatalf("session %d got %d frames, want 1: %s", sid, len(got[sid]), dump(got))
		}
		one[sid] = got[sid][0]
		delete(got, sid)
	}
	if len(got) > 0 {
		t.Fatalf("frames to other sessions: %s", dump(got))
	}
	return one
}

func dump(m map[SessionID][]*wire.Frame) string {
	ids := make([]SessionID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s := ""
	for _, id := range ids {
		for _, f := range m[id] {
			s += fmt.Sprintf("\n  %d: %+v", id, *f)
		}
	}
	return s
}

// names returns the members a Users list holds, each with its prefix.
func prefixed(users []wire.User) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.Prefix+u.Name)
	}
	return out
}

// prefixOf returns the prefix of name in users, "?" if it is not there.
func prefixOf(users []wire.User, name string) string {
	for _, u := range users {
		if u.Name == name {
			return u.Prefix
		}
	}
	return "?"
}

// whoIn returns the members of room as sid's Who shows them, with prefixes.
func (x *fixture) whoIn(sid SessionID, room string) []string {
	x.t.Helper()
	r, _ := x.do(sid, wire.Frame{Type: wire.TypeWho, Room: room})
	if r.Code != wire.OK {
		x.t.Fatalf("who %s: %+v", room, r)
	}
	return prefixed(r.Users)
}

func TestJoinCreatesKeepsAndFolds(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.login(3, "carol")

	// A missing room is created, its creator its operator.
	r, outs := x.do(1, wire.Frame{Type: wire.TypeJoin, Room: "Lounge"})
	if r.Code != wire.OK || r.Text != "you entered Lounge" || r.Room != "Lounge" || r.Seq != 0 || r.Mode != "+nt" ||
		!reflect.DeepEqual(r.Users, []wire.User{{Name: "alice", Room: "Lounge", Prefix: "@"}}) {
		t.Fatalf("join creating: %+v", r)
	}
	onlyTo(t, outs)

	// Names are case-insensitive; the reply carries the room's own name.
	r, outs = x.do(2, wire.Frame{Type: wire.TypeJoin, Room: "LOUNGE"})
	if r.Code != wire.OK || r.Room != "Lounge" || r.Text != "you entered Lounge with alice" ||
		!slices.Equal(prefixed(r.Users), []string{"@alice", "bob"}) {
		t.Fatalf("join existing: %+v", r)
	}
	n := onlyTo(t, outs, 1)[1]
	if n.Type != wire.TypeNotice || n.Code != wire.NoticeEntered || n.Name != "bob" || n.Room != "Lounge" || n.Text != "bob entered Lounge" {
		t.Fatalf("entered notice: %+v", n)
	}
	if got := x.whoIn(3, "lounge"); !slices.Equal(got, []string{"@alice", "bob"}) {
		t.Fatalf("who lounge: %v", got)
	}
	x.want(3, wire.Frame{Type: wire.TypeCreate, Room: "lOUNGE"}, wire.ErrRoomExists, "room Lounge already exists")

	// Join keeps the other rooms.
	x.join(2, "den")
	if got := x.whoIn(3, "Lounge"); !slices.Equal(got, []string{"@alice", "bob"}) {
		t.Fatalf("bob left Lounge on joining den: %v", got)
	}
	if got := x.whoIn(3, "den"); !slices.Equal(got, []string{"@bob"}) {
		t.Fatalf("who den: %v", got)
	}

	// Already in: OK, and nobody is told anything.
	r, outs = x.do(2, wire.Frame{Type: wire.TypeJoin, Room: "lounge"})
	if r.Code != wire.OK || r.Text != "you are already in Lounge" || r.Room != "Lounge" || r.Mode != "+nt" {
		t.Fatalf("join again: %+v", r)
	}
	onlyTo(t, outs)

	// Who of everyone shows the first room each is in.
	r, _ = x.do(3, wire.Frame{Type: wire.TypeWho})
	if want := []wire.User{{Name: "alice", Room: "Lounge", Prefix: "@"}, {Name: "bob", Room: "Lounge"}, {Name: "carol"}}; !reflect.DeepEqual(r.Users, want) {
		t.Fatalf("who: %+v", r.Users)
	}
}

func TestEnterLeavesEveryOtherRoom(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.login(3, "carol")
	x.login(4, "dave")
	x.join(2, "a")
	x.join(2, "b")
	x.join(2, "c")
	x.join(1, "a")
	x.join(3, "b")
	x.join(4, "c")
	x.join(4, "b")

	// bob enters a, which he is in: he leaves b and c; each member there
	// hears it once, and a's members hear nothing.
	r, outs := x.do(2, wire.Frame{Type: wire.TypeEnter, Room: "a"})
	if r.Code != wire.OK || r.Text != "you are already in a" || r.Room != "a" {
		t.Fatalf("enter: %+v", r)
	}
	got := delivered(outs)
	if len(got[1]) != 0 || len(got[3]) != 1 || len(got[4]) != 2 {
		t.Fatalf("notices: %s", dump(got))
	}
	for _, n := range append(got[3], got[4]...) {
		if n.Code != wire.NoticeLeft || n.Name != "bob" || n.Text != "bob left "+n.Room {
			t.Fatalf("left notice: %+v", n)
		}
	}
	if got[4][0].Room != "b" || got[4][1].Room != "c" {
		t.Fatalf("dave's notices: %s", dump(got))
	}

	// Enter of another room: out of every room, into that one.
	x.join(2, "b")
	_, outs = x.do(2, wire.Frame{Type: wire.TypeEnter, Room: "c"})
	got = delivered(outs)
	if len(got[1]) != 1 || got[1][0].Code != wire.NoticeLeft || got[1][0].Room != "a" ||
		len(got[3]) != 1 || got[3][0].Code != wire.NoticeLeft || got[3][0].Room != "b" ||
		len(got[4]) != 2 || got[4][0].Code != wire.NoticeLeft || got[4][0].Room != "b" ||
		got[4][1].Code != wire.NoticeEntered || got[4][1].Room != "c" {
		t.Fatalf("enter c: %s", dump(got))
	}
	r, _ = x.do(2, wire.Frame{Type: wire.TypeWhois, Name: "bob"})
	if len(r.Rooms) != 1 || r.Rooms[0].Name != "c" {
		t.Fatalf("bob's rooms: %+v", r.Rooms)
	}
}

// Enter of a room the session is in already, while it is in others too,
// only takes it out of the others: the room's key, member limit and bans
// are for coming in, not for staying.
func TestEnterOwnRoomIsNotReadmitted(t *testing.T) {
	for _, change := range []string{"+k sesame", "+l 1", "+i", "+b bob"} {
		t.Run(change, func(t *testing.T) {
			x := newFixture(t, Config{})
			x.login(1, "alice")
			x.login(2, "bob")
			x.join(1, "r")
			x.join(2, "r")
			x.join(2, "other")
			x.mode(1, "r", change)
			r, outs := x.do(2, wire.Frame{Type: wire.TypeEnter, Room: "r"})
			if r.Code != wire.OK || r.Text != "you are already in r" {
				t.Fatalf("enter of own room after %s: %+v", change, r)
			}
			onlyTo(t, outs) // other's only member was bob
			if got := x.whoIn(1, "r"); !slices.Equal(got, []string{"@alice", "bob"}) {
				t.Fatalf("who r: %v", got)
			}
		})
	}
}

func TestJoinLimits(t *testing.T) {
	x := newFixture(t, Config{MaxJoined: 2, MaxRooms: 3})
	x.login(1, "alice")
	x.login(2, "bob")
	x.join(1, "a")
	x.join(1, "b")
	x.want(1, wire.Frame{Type: wire.TypeJoin, Room: "c"}, wire.ErrLimit,
		"you are in 2 rooms, the most one session may be in; leave one first")
	// The refused join made no room.
	x.want(2, wire.Frame{Type: wire.TypeEnter, Room: "c"}, wire.ErrNoSuchRoom, "")
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeRooms}); r.Count != 2 {
		t.Fatalf("rooms after a refused join: %+v", r.Rooms)
	}
	// Nor is an existing room joined past the limit.
	x.join(2, "c")
	x.want(1, wire.Frame{Type: wire.TypeJoin, Room: "c"}, wire.ErrLimit, "")
	// Enter leaves the others, so the limit does not stop it.
	x.want(1, wire.Frame{Type: wire.TypeEnter, Room: "c"}, wire.OK, "you entered c with bob")
	// The server's room limit.
	x.want(1, wire.Frame{Type: wire.TypeJoin, Room: "d"}, wire.ErrLimit,
		"cannot create room d: the server has reached its limit of 3 rooms")
	x.want(1, wire.Frame{Type: wire.TypeJoin, Room: "bad name"}, wire.ErrBadName, "")
}

// Who runs a room: its creator; when nobody does (its guest operator
// left) and it is empty, whoever enters next; a room with members and no
// operator stays so; a registered operator stays one while away.
func TestOperatorSuccession(t *testing.T) {
	x := newFixture(t, Config{Guests: true})
	x.claim(1, "g1")
	x.claim(2, "g2")
	x.claim(3, "g3")
	x.join(1, "r")
	x.join(2, "r")
	x.do(1, wire.Frame{Type: wire.TypeLeave, Room: "r"})
	if got := x.whoIn(2, "r"); !slices.Equal(got, []string{"g2"}) {
		t.Fatalf("after the guest operator left: %v", got)
	}
	x.join(3, "r")
	if got := x.whoIn(2, "r"); !slices.Equal(got, []string{"g2", "g3"}) {
		t.Fatalf("entering a room with members makes nobody its operator: %v", got)
	}
	// Once it is empty, whoever enters next runs it, as on IRC.
	x.do(2, wire.Frame{Type: wire.TypeLeave, Room: "r"})
	x.do(3, wire.Frame{Type: wire.TypeLeave, Room: "r"})
	x.join(3, "r")
	// The guest who left comes back as anyone else.
	x.join(1, "r")
	if got := x.whoIn(3, "r"); !slices.Equal(got, []string{"@g3", "g1"}) {
		t.Fatalf("the next to enter an empty room runs it: %v", got)
	}
}

func TestRegisteredOperatorStays(t *testing.T) {
	x := newFixture(t, Config{Guests: true, IsRegistered: func(n string) bool { return n == "alice" }})
	x.login(1, "alice")
	x.claim(2, "g")
	x.join(1, "r")
	x.do(1, wire.Frame{Type: wire.TypeLeave, Room: "r"})
	x.join(2, "r")
	if got := x.whoIn(2, "r"); !slices.Equal(got, []string{"g"}) {
		t.Fatalf("a guest took over a room whose registered operator is away: %v", got)
	}
	x.do(1, wire.Frame{Type: wire.TypeLogout})
	x.do(2, wire.Frame{Type: wire.TypeLeave})
	x.join(2, "r")
	if got := x.whoIn(2, "r"); !slices.Equal(got, []string{"g"}) {
		t.Fatalf("after the operator's logout: %v", got)
	}
	x.h.Disconnect(1, ReasonClosed, x.now)
	x.login(3, "alice")
	if r := x.join(3, "R"); !slices.Equal(prefixed(r.Users), []string{"g", "@alice"}) {
		t.Fatalf("the registered operator came back: %+v", r.Users)
	}
	if st := x.h.RoomStates(true); len(st) != 1 || !slices.Equal(st[0].Ops, []string{"alice"}) {
		t.Fatalf("saved operators: %+v", st)
	}
}

// A guest's standing (operator, voice, invitation) ends with its session:
// the next guest of that name starts with none, however the first went.
func TestGuestStandingNotInherited(t *testing.T) {
	ends := map[string]func(x *fixture, sid SessionID){
		"logout": func(x *fixture, sid SessionID) { x.do(sid, wire.Frame{Type: wire.TypeLogout}) },
		"lost":   func(x *fixture, sid SessionID) { x.h.Disconnect(sid, ReasonLost, x.now) },
		"closed": func(x *fixture, sid SessionID) { x.h.Disconnect(sid, ReasonClosed, x.now) },
		"rename": func(x *fixture, sid SessionID) { x.do(sid, wire.Frame{Type: wire.TypeNick, Name: "other"}) },
		"leave+lost": func(x *fixture, sid SessionID) {
			x.do(sid, wire.Frame{Type: wire.TypeLeave})
			x.h.Disconnect(sid, ReasonLost, x.now)
		},
	}
	for how, end := range ends {
		t.Run(how, func(t *testing.T) {
			x := newFixture(t, Config{Guests: true, IsRegistered: func(n string) bool { return n == "alice" }})
			x.login(1, "alice")
			x.claim(2, "g")
			x.join(1, "voice")
			x.join(1, "secret")
			x.mode(1, "secret", "+i")
			x.join(2, "run")   // g runs it
			x.join(2, "voice") // g is voiced there
			x.join(1, "run")   // alice does not run it
			x.mode(1, "voice", "+v g")
			x.mode(2, "run", "+o alice") // so "run" keeps an operator when g goes
			x.do(1, wire.Frame{Type: wire.TypeInvite, Room: "secret", Name: "g"})
			x.do(1, wire.Frame{Type: wire.TypeCreate, Room: "made"}) // not g's
			end(x, 2)

			x.claim(3, "g")
			x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "secret"}, wire.ErrInviteOnly, "")
			// (A renamed g is still there under its new name.)
			if r := x.join(3, "voice"); prefixOf(r.Users, "g") != "" {
				t.Fatalf("voice passed on: %+v", r.Users)
			}
			if r := x.join(3, "run"); prefixOf(r.Users, "g") != "" || prefixOf(r.Users, "alice") != "@" {
				t.Fatalf("operator status passed on: %+v", r.Users)
			}
		})
	}
}

func TestLeaveWithRoomAndWords(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.login(3, "carol")
	for _, room := range []string{"a", "b", "c"} {
		x.join(1, room)
	}
	x.join(2, "a")
	x.join(2, "b")
	x.join(3, "c")

	r, outs := x.do(1, wire.Frame{Type: wire.TypeLeave, Room: "B", Text: "bye now"})
	if r.Code != wire.OK || r.Text != "you left b" || r.Room != "b" {
		t.Fatalf("leave b: %+v", r)
	}
	n := onlyTo(t, outs, 2)[2]
	if n.Code != wire.NoticeLeft || n.Name != "alice" || n.Room != "b" || n.Words != "bye now" || n.Text != "alice left b (bye now)" {
		t.Fatalf("left notice: %+v", n)
	}
	r = x.want(1, wire.Frame{Type: wire.TypeLeave, Room: "b"}, wire.ErrNotInRoom, `you are not in "b"`)
	if r.Room != "b" {
		t.Fatalf("leave of a room not in: %+v", r)
	}
	x.want(1, wire.Frame{Type: wire.TypeLeave, Room: "nowhere"}, wire.ErrNotInRoom, `you are not in "nowhere"`)

	// Without Room: every room, each told once.
	r, outs = x.do(1, wire.Frame{Type: wire.TypeLeave, Text: "\xff"})
	if r.Code != wire.OK || r.Text != "you left a, c" {
		t.Fatalf("leave all: %+v", r)
	}
	got := onlyTo(t, outs, 2, 3)
	if got[2].Room != "a" || got[3].Room != "c" || got[2].Words != "" || got[2].Text != "alice left a" {
		t.Fatalf("leave all notices: %+v %+v", got[2], got[3])
	}
	x.want(1, wire.Frame{Type: wire.TypeLeave}, wire.ErrNotInRoom, "you are not in a room")
}

// A session in three rooms goes: each session sharing any of them hears it
// once, of one room they share.
func TestQuitToldOncePerSharer(t *testing.T) {
	type want struct {
		kind  wire.Code
		words string
		text  string // for sharer 2, told of room a
	}
	cases := map[string]struct {
		end  func(x *fixture) []Output
		want want
	}{
		"logout": {func(x *fixture) []Output {
			_, outs := x.do(1, wire.Frame{Type: wire.TypeLogout, Text: "gone fishing"})
			return outs
		}, want{wire.NoticeQuit, "gone fishing", "alice left a (gone fishing)"}},
		"lost": {func(x *fixture) []Output { return x.h.Disconnect(1, ReasonLost, x.now) },
			want{wire.NoticeLost, "", "contact with alice was lost"}},
		"lost why": {func(x *fixture) []Output { return x.h.DisconnectWhy(1, ReasonLost, "ping timeout", x.now) },
			want{wire.NoticeLost, "ping timeout", "contact with alice was lost (ping timeout)"}},
		"closed": {func(x *fixture) []Output { return x.h.Disconnect(1, ReasonClosed, x.now) },
			want{wire.NoticeQuit, "", "alice left a"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			x := newFixture(t, Config{})
			for i, n := range []string{"alice", "bob", "carol", "dave", "eve"} {
				x.login(SessionID(i+1), n)
			}
			for _, room := range []string{"a", "b", "c"} {
				x.join(1, room)
				x.join(2, room) // bob shares all three
			}
			x.join(3, "b")
			x.join(4, "c")
			x.join(4, "b") // dave shares b and c; b is his first with alice
			x.join(5, "d")
			got := onlyTo(t, tc.end(x), 2, 3, 4)
			for sid, room := range map[SessionID]string{2: "a", 3: "b", 4: "c"} {
				n := got[sid]
				if n.Type != wire.TypeNotice || n.Code != tc.want.kind || n.Name != "alice" || n.Words != tc.want.words {
					t.Fatalf("session %d: %+v", sid, n)
				}
				// Told of the first room alice is in that they share.
				if sid != 4 && n.Room != room || sid == 4 && n.Room != "b" {
					t.Fatalf("session %d told of %s: %+v", sid, n.Room, n)
				}
			}
			if got[2].Text != tc.want.text {
				t.Fatalf("text: %q", got[2].Text)
			}
			for _, room := range []string{"a", "b", "c"} {
				if slices.Contains(x.whoIn(2, room), "alice") || slices.Contains(x.whoIn(2, room), "@alice") {
					t.Fatalf("alice still in %s", room)
				}
			}
		})
	}
}

// A second login of an account takes the first's rooms, silently.
func TestTakeoverInSeveralRooms(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.login(4, "carol")
	x.join(1, "a")
	x.join(1, "b")
	x.join(2, "a")
	x.join(4, "b")
	x.do(2, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "one"})
	x.do(2, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "two"})
	x.do(1, wire.Frame{Type: wire.TypeAway, Text: "lunch"})
	x.connect(3)
	r, outs := x.do(3, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "pw-alice"})
	if r.Code != wire.OK || r.Room != "a" || r.Seq != 2 ||
		!reflect.DeepEqual(r.Rooms, []wire.Room{{Name: "a", Members: 2}, {Name: "b", Members: 2}}) ||
		r.Text != "welcome alice; you are in a, b, taken over from your other connection" {
		t.Fatalf("takeover: %+v", r)
	}
	if f := onlyTo(t, outs, 1)[1]; f.Type != wire.TypeBye || f.Code != wire.ByeTakeover || !closes(outs, 1) {
		t.Fatalf("old session: %+v", f)
	}
	if outs := x.h.Disconnect(1, ReasonLost, x.now); len(outs) != 0 {
		t.Fatalf("the old session's end was announced: %+v", outs)
	}
	_, outs = x.do(2, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "three"})
	onlyTo(t, outs, 3)
	_, outs = x.do(4, wire.Frame{Type: wire.TypeSay, Room: "b", Text: "four"})
	onlyTo(t, outs, 3)
	if got := x.whoIn(2, "a"); !slices.Equal(got, []string{"@alice", "bob"}) {
		t.Fatalf("who a: %v", got)
	}
	r, _ = x.do(2, wire.Frame{Type: wire.TypeWhois, Name: "alice"})
	if r.Users[0].Away != "lunch" || len(r.Rooms) != 2 {
		t.Fatalf("whois after takeover: %+v", r)
	}
}

func TestSayToRooms(t *testing.T) {
	x := newFixture(t, Config{})
	for i, n := range []string{"alice", "bob", "carol", "dave"} {
		x.login(SessionID(i+1), n)
	}
	x.join(1, "a")
	x.join(1, "b")
	x.join(2, "a")
	x.join(3, "b")

	r, outs := x.do(1, wire.Frame{Type: wire.TypeSay, Room: "B", Text: "hi b"})
	if r.Code != wire.OK || r.Room != "b" || r.Seq != 1 {
		t.Fatalf("say b: %+v", r)
	}
	if m := onlyTo(t, outs, 3)[3]; !reflect.DeepEqual(*m, wire.Frame{Type: wire.TypeMessage, From: "alice", Room: "b", Text: "hi b", Time: t0.UnixMilli(), Seq: 1}) {
		t.Fatalf("message: %+v", m)
	}
	x.want(1, wire.Frame{Type: wire.TypeSay, Text: "where?"}, wire.ErrBadRequest, "you are in several rooms: say which one the message is for")
	x.want(1, wire.Frame{Type: wire.TypeSay, Room: "zzz", Text: "x"}, wire.ErrNoSuchRoom, `no room named "zzz"`)
	// In one room, Room may be left out.
	if r := x.want(2, wire.Frame{Type: wire.TypeSay, Text: "hi a"}, wire.OK, ""); r.Room != "a" {
		t.Fatalf("say in the one room: %+v", r)
	}

	// +n (the default) keeps outsiders out; -n lets them speak.
	x.want(4, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "x"}, wire.ErrNotInRoom, "you are not in a; enter it to speak there")
	x.mode(1, "a", "-n")
	_, outs = x.do(4, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "from outside"})
	if got := onlyTo(t, outs, 1, 2); got[1].From != "dave" || got[2].Text != "from outside" {
		t.Fatalf("outside message: %+v", got)
	}

	// +m: operators and voiced members only.
	x.mode(1, "a", "+m")
	x.want(2, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "x"}, wire.ErrCannotSpeak, "a is moderated: only its operators and voiced members may speak")
	x.want(4, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "x"}, wire.ErrCannotSpeak, "")
	x.want(1, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "x"}, wire.OK, "")
	x.mode(1, "a", "+v bob")
	x.want(2, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "x"}, wire.OK, "")
	x.mode(1, "a", "-m")

	// A ban keeps out (ErrBanned) and silences (ErrCannotSpeak, which an
	// IRC client sees as 404, not as JOIN's 474), a member and an outsider
	// alike.
	x.mode(1, "b", "+b carol")
	x.want(3, wire.Frame{Type: wire.TypeSay, Room: "b", Text: "x"}, wire.ErrCannotSpeak, "you are banned from b")
	x.mode(1, "a", "+b dave")
	x.want(4, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "x"}, wire.ErrCannotSpeak, "you are banned from a")
	x.want(4, wire.Frame{Type: wire.TypeJoin, Room: "a"}, wire.ErrBanned, "you are banned from a")
	x.want(4, wire.Frame{Type: wire.TypeEnter, Room: "a"}, wire.ErrBanned, "you are banned from a")
	// A voiced member speaks despite a ban, as on IRC.
	x.mode(1, "a", "+b bob")
	x.want(2, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "x"}, wire.OK, "")
}

func TestAsNoticeCarried(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.join(1, "a")
	x.join(2, "a")
	_, outs := x.do(1, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "note", Code: wire.AsNotice})
	if m := onlyTo(t, outs, 2)[2]; m.Type != wire.TypeMessage || m.Code != wire.AsNotice {
		t.Fatalf("room notice: %+v", m)
	}
	_, outs = x.do(1, wire.Frame{Type: wire.TypeTell, To: "bob", Text: "note", Code: wire.AsNotice})
	if p := onlyTo(t, outs, 2)[2]; p.Type != wire.TypePrivate || p.Code != wire.AsNotice {
		t.Fatalf("private notice: %+v", p)
	}
	// Any other code is no notice.
	_, outs = x.do(1, wire.Frame{Type: wire.TypeSay, Room: "a", Text: "plain", Code: 7})
	if m := onlyTo(t, outs, 2)[2]; m.Code != 0 {
		t.Fatalf("plain message: %+v", m)
	}
}

// History replays each room up to the point the session joined that room:
// what came later reached it live.
func TestHistoryStopsAtEachRoomsJoin(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.join(2, "a")
	x.join(2, "b")
	say := func(room, text string) {
		x.want(2, wire.Frame{Type: wire.TypeSay, Room: room, Text: text}, wire.OK, "")
	}
	say("a", "a1")
	say("a", "a2")
	say("b", "b1")
	if r := x.join(1, "a"); r.Seq != 2 {
		t.Fatalf("join a: %+v", r)
	}
	say("a", "a3")
	say("b", "b2")
	if r := x.join(1, "b"); r.Seq != 2 {
		t.Fatalf("join b: %+v", r)
	}
	say("b", "b3")
	say("a", "a4")
	cases := []struct {
		room    string
		want    []string
		lastSeq uint64
	}{{"a", []string{"a1", "a2"}, 4}, {"b", []string{"b1", "b2"}, 3}}
	for _, tc := range cases {
		r, outs := x.do(1, wire.Frame{Type: wire.TypeHistory, Room: tc.room})
		var texts []string
		for _, f := range to(outs, 1) {
			texts = append(texts, f.Text)
		}
		if !slices.Equal(texts, tc.want) || r.Count != uint64(len(tc.want)) || r.Seq != tc.lastSeq {
			t.Fatalf("history %s: %v, %+v", tc.room, texts, r)
		}
	}
	// Someone outside the room sees all of it.
	x.login(3, "carol")
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeHistory, Room: "b"}); r.Count != 3 {
		t.Fatalf("history from outside: %+v", r)
	}
}
