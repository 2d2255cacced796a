package hub

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"chat/internal/wire"
)

// Tests of what makes a room a channel (channel.go): topics, kicks, modes,
// invitations, bans, and what of them persists (state.go).

// channelFixture: alice (1) runs room r, bob (2) is in it, eve (3) is
// connected and in no room.
func channelFixture(t *testing.T, cfg Config) *fixture {
	x := newFixture(t, cfg)
	x.login(1, "alice")
	x.login(2, "bob")
	x.login(3, "eve")
	x.join(1, "r")
	x.join(2, "r")
	return x
}

func topicSet(room, text string) wire.Frame {
	return wire.Frame{Type: wire.TypeTopic, Room: room, Code: wire.TopicSet, Text: text}
}

func TestTopic(t *testing.T) {
	x := channelFixture(t, Config{})
	at := t0.UnixMilli()
	r := x.want(2, wire.Frame{Type: wire.TypeTopic, Room: "R"}, wire.OK, "no topic is set in r")
	if r.Room != "r" || r.Words != "" || r.By != "" {
		t.Fatalf("no topic: %+v", r)
	}
	// +t (a default): operators only.
	x.want(2, topicSet("r", "mine"), wire.ErrNotOperator, "only the operators of r may set its topic")
	x.want(3, topicSet("r", "mine"), wire.ErrNotInRoom, "you are not in r")
	x.want(3, topicSet("nowhere", "x"), wire.ErrNoSuchRoom, `no room named "nowhere"`)
	x.want(1, topicSet("r", "two\nlines"), wire.ErrBadRequest, "a topic is one line of UTF-8 text")

	r, outs := x.do(1, topicSet("r", "tea at 5"))
	if r.Code != wire.OK || r.Text != "topic set" || r.Room != "r" || r.Words != "tea at 5" || r.By != "alice" || r.At != at {
		t.Fatalf("set: %+v", r)
	}
	// Every member hears it, the setter too.
	got := onlyTo(t, outs, 1, 2)
	want := wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeTopic, From: "*", Name: "alice", Room: "r", By: "alice",
		Words: "tea at 5", At: at, Time: at, Text: "alice set the topic of r to: tea at 5"}
	if !reflect.DeepEqual(*got[1], want) || got[1] != got[2] {
		t.Fatalf("topic notice: %+v", got)
	}
	r = x.want(3, wire.Frame{Type: wire.TypeTopic, Room: "r"}, wire.OK, "the topic of r is: tea at 5")
	if r.Words != "tea at 5" || r.By != "alice" || r.At != at {
		t.Fatalf("read: %+v", r)
	}
	// Whoever enters gets it in the reply.
	r = x.join(3, "r")
	if r.Words != "tea at 5" || r.By != "alice" || r.At != at || r.Text != "you entered r with alice, bob; topic: tea at 5" {
		t.Fatalf("join: %+v", r)
	}
	// -t: any member.
	x.mode(1, "r", "-t")
	x.want(2, topicSet("r", "bob's"), wire.OK, "topic set")
	// Cleared.
	r, outs = x.do(2, topicSet("r", ""))
	if r.Code != wire.OK || r.Words != "" {
		t.Fatalf("clear: %+v", r)
	}
	if n := onlyTo(t, outs, 1, 2, 3)[1]; n.Text != "bob cleared the topic of r" || n.Words != "" || n.By != "bob" {
		t.Fatalf("clear notice: %+v", n)
	}
	x.want(3, wire.Frame{Type: wire.TypeTopic, Room: "r"}, wire.OK, "no topic is set in r")
	// Cut to MaxTopicBytes, never inside a character.
	long := strings.Repeat("é", MaxTopicBytes) // twice the bytes
	if r := x.want(2, topicSet("r", long), wire.OK, ""); r.Words != long[:MaxTopicBytes] {
		t.Fatalf("long topic kept %d bytes", len(r.Words))
	}
	if r := x.want(2, topicSet("r", "x"+long), wire.OK, ""); len(r.Words) != MaxTopicBytes-1 || !strings.HasPrefix(r.Words, "xé") {
		t.Fatalf("odd cut kept %d bytes", len(r.Words))
	}
	// A secret room's topic is its members'.
	x.mode(1, "r", "+s")
	x.do(3, wire.Frame{Type: wire.TypeLeave})
	x.want(3, wire.Frame{Type: wire.TypeTopic, Room: "r"}, wire.ErrNoSuchRoom, `no room named "r"`)
	x.want(2, wire.Frame{Type: wire.TypeTopic, Room: "r"}, wire.OK, "")
}

func TestKick(t *testing.T) {
	x := channelFixture(t, Config{})
	x.login(4, "carol")
	x.join(4, "r")
	x.join(2, "other")
	kick := func(name, reason string) wire.Frame {
		return wire.Frame{Type: wire.TypeKick, Room: "r", Name: name, Text: reason}
	}
	x.want(2, kick("carol", ""), wire.ErrNotOperator, "only the operators of r may kick")
	x.want(3, kick("carol", ""), wire.ErrNotInRoom, "you are not in r")
	x.want(1, kick("eve", ""), wire.ErrNoSuchUser, "eve is not in r")
	x.want(1, kick("nobody", ""), wire.ErrNoSuchUser, `no user named "nobody" is connected`)
	x.want(1, wire.Frame{Type: wire.TypeKick, Room: "none", Name: "bob"}, wire.ErrNoSuchRoom, "")

	x.want(1, kick("BOB", ""), wire.ErrNoSuchUser, `no user named "BOB" is connected`) // user names keep their case
	r, outs := x.do(1, kick("bob", "spam"))
	if r.Code != wire.OK || r.Text != "you kicked bob out of r" {
		t.Fatalf("kick: %+v", r)
	}
	// Every member hears it, the kicked one too.
	got := onlyTo(t, outs, 1, 2, 4)
	want := wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeKicked, From: "*", Name: "bob", Room: "r", By: "alice",
		Words: "spam", Time: t0.UnixMilli(), Text: "alice kicked bob out of r (spam)"}
	if !reflect.DeepEqual(*got[2], want) {
		t.Fatalf("kick notice: %+v", got[2])
	}
	// Out of r, still in the other room.
	x.want(2, wire.Frame{Type: wire.TypeSay, Room: "r", Text: "hey"}, wire.ErrNotInRoom, "")
	if r := x.want(2, wire.Frame{Type: wire.TypeSay, Text: "still here"}, wire.OK, ""); r.Room != "other" {
		t.Fatalf("say after kick: %+v", r)
	}
	if got := x.whoIn(1, "r"); !slices.Equal(got, []string{"@alice", "carol"}) {
		t.Fatalf("who after kick: %v", got)
	}
	x.want(1, kick("bob", ""), wire.ErrNoSuchUser, "")
	// Without a reason.
	_, outs = x.do(1, kick("carol", ""))
	if n := onlyTo(t, outs, 1, 4)[4]; n.Text != "alice kicked carol out of r" || n.Words != "" {
		t.Fatalf("kick without reason: %+v", n)
	}
}

func TestModeQueryAndKey(t *testing.T) {
	x := channelFixture(t, Config{})
	r := x.want(3, wire.Frame{Type: wire.TypeMode, Room: "r"}, wire.OK, "the modes of r are +nt")
	if r.Mode != "+nt" || r.Room != "r" {
		t.Fatalf("query: %+v", r)
	}
	x.want(3, wire.Frame{Type: wire.TypeMode, Room: "none"}, wire.ErrNoSuchRoom, "")
	r, outs := x.do(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+kl sesame 5"})
	if r.Code != wire.OK || r.Mode != "+kl sesame 5" || r.Text != "mode +kl sesame 5 set on r" {
		t.Fatalf("set: %+v", r)
	}
	if n := onlyTo(t, outs, 1, 2)[2]; n.Code != wire.NoticeMode || n.By != "alice" || n.Mode != "+kl sesame 5" || n.Room != "r" ||
		n.Text != "alice set mode +kl sesame 5 on r" {
		t.Fatalf("mode notice: %+v", n)
	}
	// The key only to members.
	if r := x.want(2, wire.Frame{Type: wire.TypeMode, Room: "r"}, wire.OK, ""); r.Mode != "+klnt sesame 5" {
		t.Fatalf("member's query: %+v", r)
	}
	if r := x.want(3, wire.Frame{Type: wire.TypeMode, Room: "r"}, wire.OK, ""); r.Mode != "+klnt * 5" {
		t.Fatalf("outsider's query: %+v", r)
	}
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeRooms}); r.Rooms[0].Mode != "+klnt" {
		t.Fatalf("rooms: %+v", r.Rooms)
	}
	x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.ErrBadKey, "r has a key; enter it with the key")
	x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r", Secret: "Sesame"}, wire.ErrBadKey, "")
	x.want(3, wire.Frame{Type: wire.TypeEnter, Room: "r", Secret: "nope"}, wire.ErrBadKey, "")
	if r := x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r", Secret: "sesame"}, wire.OK, ""); r.Mode != "+klnt sesame 5" {
		t.Fatalf("join with the key: %+v", r)
	}
	// "-k" needs no key; the notice does not show it.
	if r := x.mode(1, "r", "-k whatever"); r.Mode != "-k *" {
		t.Fatalf("-k: %+v", r)
	}
	x.want(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "-l"}, wire.OK, "mode -l set on r")
	x.want(1, wire.Frame{Type: wire.TypeMode, Room: "r"}, wire.OK, "the modes of r are +nt")
}

func TestModeLimitInviteSecret(t *testing.T) {
	x := channelFixture(t, Config{})
	x.login(4, "carol")
	x.mode(1, "r", "+l 2")
	x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.ErrRoomFull, "r is full")
	x.mode(1, "r", "+l 3")
	x.join(3, "r")
	x.do(3, wire.Frame{Type: wire.TypeLeave})

	x.mode(1, "r", "+i")
	x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.ErrInviteOnly, "r is invite only; ask one of its operators for an invitation")
	invite := func(name string) wire.Frame { return wire.Frame{Type: wire.TypeInvite, Room: "r", Name: name} }
	x.want(2, invite("eve"), wire.ErrNotOperator, "only the operators of r may invite to it")
	x.want(3, invite("carol"), wire.ErrNotInRoom, "you are not in r")
	x.want(1, invite("bob"), wire.ErrInRoom, "bob is already in r")
	x.want(1, invite("zed"), wire.ErrNoSuchUser, `no user named "zed" is connected`)
	x.want(1, wire.Frame{Type: wire.TypeInvite, Room: "none", Name: "eve"}, wire.ErrNoSuchRoom, "")
	r, outs := x.do(1, invite("eve"))
	if r.Code != wire.OK || r.Text != "you invited eve to r" || r.Room != "r" || r.Name != "eve" {
		t.Fatalf("invite: %+v", r)
	}
	if n := onlyTo(t, outs, 3)[3]; n.Code != wire.NoticeInvited || n.Name != "eve" || n.By != "alice" || n.Room != "r" || n.Text != "alice invites you to r" {
		t.Fatalf("invite notice: %+v", n)
	}
	x.join(3, "r")
	// The invitation was used up.
	x.do(3, wire.Frame{Type: wire.TypeLeave})
	x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.ErrInviteOnly, "")
	// Without +i any member may invite.
	x.mode(1, "r", "-i")
	x.want(2, invite("carol"), wire.OK, "")

	// +s: hidden from those outside.
	x.mode(1, "r", "+s")
	x.join(1, "open")
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeRooms}); len(r.Rooms) != 1 || r.Rooms[0].Name != "open" || r.Count != 1 {
		t.Fatalf("rooms to an outsider: %+v", r.Rooms)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeRooms}); len(r.Rooms) != 2 {
		t.Fatalf("rooms to a member: %+v", r.Rooms)
	}
	if r := x.want(3, wire.Frame{Type: wire.TypeWho, Room: "r"}, wire.OK, "0 users in r"); len(r.Users) != 0 {
		t.Fatalf("who of a secret room: %+v", r.Users)
	}
	r, _ = x.do(3, wire.Frame{Type: wire.TypeWho})
	for _, u := range r.Users {
		if u.Room == "r" {
			t.Fatalf("who shows the secret room: %+v", r.Users)
		}
	}
	if u := r.Users[slices.IndexFunc(r.Users, func(u wire.User) bool { return u.Name == "alice" })]; u.Room != "open" {
		t.Fatalf("who shows alice in %q", u.Room)
	}
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeWhois, Name: "alice"}); len(r.Rooms) != 1 || r.Rooms[0].Name != "open" {
		t.Fatalf("whois to an outsider: %+v", r.Rooms)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeWhois, Name: "alice"}); len(r.Rooms) != 2 {
		t.Fatalf("whois to a member: %+v", r.Rooms)
	}
	x.want(3, wire.Frame{Type: wire.TypeMode, Room: "r"}, wire.ErrNoSuchRoom, "")
}

func TestModeChanges(t *testing.T) {
	x := channelFixture(t, Config{})
	x.login(4, "ann")
	x.join(4, "r")
	x.mode(1, "r", "+v ann")
	mode := func(change string) wire.Frame { return wire.Frame{Type: wire.TypeMode, Room: "r", Mode: change} }

	x.want(2, mode("+m"), wire.ErrNotOperator, "only the operators of r may change its modes")
	x.want(3, mode("+m"), wire.ErrNotInRoom, "you are not in r")
	// An unknown letter: refused, nothing applied.
	x.want(1, mode("+mz"), wire.ErrUnknownMode, "z is not a mode this server knows; it knows b, i, k, l, m, n, o, s, t and v")
	x.want(1, mode("+o"), wire.ErrBadRequest, "mode +o needs an argument")
	x.want(1, mode("+m+o eve"), wire.ErrNoSuchUser, "eve is not in r")
	x.want(1, mode("+m-vv bob zed"), wire.ErrNoSuchUser, `no user named "zed" is connected`)
	x.want(1, mode(""), wire.OK, "the modes of r are +nt")
	if got := x.whoIn(1, "r"); !slices.Equal(got, []string{"@alice", "bob", "+ann"}) {
		t.Fatalf("a refused change was applied: %v", got)
	}

	// The notice gives the change as applied, with the names as they are.
	r, outs := x.do(1, mode("+o-v bob ann"))
	if r.Code != wire.OK || r.Mode != "+o-v bob ann" {
		t.Fatalf("+o-v: %+v", r)
	}
	if n := onlyTo(t, outs, 1, 2, 4)[4]; n.Mode != "+o-v bob ann" || n.By != "alice" || n.Text != "alice set mode +o-v bob ann on r" {
		t.Fatalf("+o-v notice: %+v", n)
	}
	if got := x.whoIn(1, "r"); !slices.Equal(got, []string{"@alice", "@bob", "ann"}) {
		t.Fatalf("after +o-v: %v", got)
	}
	// bob runs r now.
	x.want(2, mode("+m"), wire.OK, "mode +m set on r")
	// Only what changes is told; nothing changing is no notice.
	r, outs = x.do(1, mode("+mn-s"))
	if r.Code != wire.OK || r.Text != "the modes of r are unchanged: +mnt" || r.Mode != "" {
		t.Fatalf("no-op: %+v", r)
	}
	onlyTo(t, outs)
	if r := x.mode(1, "r", "+mi-mv ann"); r.Mode != "+i-m" { // ann has no voice
		t.Fatalf("partly applied: %+v", r)
	}
	// Bad values are dropped, the rest applied.
	if r := x.mode(1, "r", "+l-i zero"); r.Mode != "-i" {
		t.Fatalf("bad limit: %+v", r)
	}
	x.mode(1, "r", "-o bob")
	x.want(2, mode("+m"), wire.ErrNotOperator, "")
}

func TestModeArgumentLimit(t *testing.T) {
	x := channelFixture(t, Config{})
	args := func(n int) string { return strings.TrimSpace(strings.Repeat(" bob", n)) }
	x.want(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+" + strings.Repeat("v", MaxModeArgs) + " " + args(MaxModeArgs)}, wire.OK, "")
	x.want(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+" + strings.Repeat("v", MaxModeArgs+1) + " " + args(MaxModeArgs+1)},
		wire.ErrBadRequest, "at most 6 mode changes at once")
	// Flags take no argument, so they do not count.
	x.want(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+imnst+lvvvvv 9 " + args(5)}, wire.OK, "")
	x.want(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "-imnst"}, wire.OK, "mode -imnst set on r")
}

func TestBans(t *testing.T) {
	x := channelFixture(t, Config{Guests: true})
	x.claim(4, "a/b")
	x.claim(5, "Carol")
	x.want(3, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "b"}, wire.OK, "0 bans in r")
	r := x.mode(1, "r", "+bb eve *!*@*.example")
	if r.Mode != "+bb eve!*@* *!*@*.example" {
		t.Fatalf("+b: %+v", r)
	}
	for _, list := range []string{"b", "+b"} {
		r = x.want(3, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: list}, wire.OK, "2 bans in r")
		if r.Room != "r" || !reflect.DeepEqual(r.Users, []wire.User{{Name: "eve!*@*"}, {Name: "*!*@*.example"}}) {
			t.Fatalf("ban list: %+v", r)
		}
	}
	x.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.ErrBanned, "you are banned from r")
	// Masks compare without case: "-b EVE" lifts "eve!*@*"; "+b EVE"
	// again is no new ban.
	if r := x.mode(1, "r", "-b EVE"); r.Mode != "-b eve!*@*" {
		t.Fatalf("-b EVE: %+v", r)
	}
	x.join(3, "r")
	x.do(3, wire.Frame{Type: wire.TypeLeave})
	x.mode(1, "r", "+b Eve")
	if r := x.want(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+b EVE"}, wire.OK, ""); r.Mode != "" {
		t.Fatalf("the same ban twice: %+v", r)
	}
	if r := x.want(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "b"}, wire.OK, "2 bans in r"); len(r.Users) != 2 {
		t.Fatalf("bans: %+v", r.Users)
	}
	x.mode(1, "r", "-b eve!*@*")
	// A wildcard matches any name, "/" and all.
	x.mode(1, "r", "+b *")
	for _, sid := range []SessionID{3, 4, 5} {
		x.want(sid, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.ErrBanned, "")
	}
	// The ban list is bounded.
	x.mode(1, "r", "-b *")
	for i := 0; i < MaxBans; i++ {
		x.mode(1, "r", "+b x"+strings.Repeat("y", i%50)+string(rune('a'+i/50)))
	}
	if r := x.want(1, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+b one-more"}, wire.OK, ""); r.Mode != "" {
		t.Fatalf("ban past the limit: %+v", r)
	}
}

func TestBanMasks(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bob", "bob!*@*"},
		{"bob@host", "*!bob@host"},
		{"bob!x", "bob!x@*"},
		{"*!*@*", "*!*@*"},
		{"b?b!*@chat", "b?b!*@chat"},
	} {
		if got := normalMask(tc.in); got != tc.want {
			t.Errorf("normalMask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name, ident, ban string
		banned           bool
	}{
		{"bob", "", "bob!*@*", true},
		{"Bob", "", "BOB!*@*", true},
		{"bob", "~b", "*!~b@*", true},
		{"bob", "~b", "*!bob@*", false},
		{"bob", "", "*!bob@chat", true}, // the ident defaults to the name
		{"bobby", "", "bob!*@*", false},
		{"bobby", "", "bob*!*@*", true},
		{"bob", "", "b?b!*@*", true},
		{"a/b", "", "*!*@*", true},
		{"a/b", "", "a*!*@*", true},
		{"a/b", "", "a/b!*@*", true},
		{"a[1]", "", "a[1]!*@*", true},
		{`a\b`, "", `a\b!*@*`, true},
		{"ab", "", `a\b!*@*`, false},
		{"é", "", "?!*@*", true},
	} {
		s := &session{name: tc.name, ident: tc.ident}
		r := &room{}
		r.bans = []string{tc.ban}
		if got := r.banned(s); got != tc.banned {
			t.Errorf("%s (ident %q) banned by %s: %v, want %v", tc.name, tc.ident, tc.ban, got, tc.banned)
		}
	}
}

func TestServerOperatorRunsEveryRoom(t *testing.T) {
	x := channelFixture(t, Config{IsOperator: func(n string) bool { return n == "root" }})
	x.oper(3, "root")
	x.mode(1, "r", "+is")
	// From outside: sees the room, changes its modes, kicks.
	x.want(3, wire.Frame{Type: wire.TypeMode, Room: "r"}, wire.OK, "the modes of r are +inst")
	r, outs := x.do(3, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: "+m"})
	if r.Code != wire.OK {
		t.Fatalf("mode from outside: %+v", r)
	}
	if got := onlyTo(t, outs, 1, 2, 3); got[3].Mode != "+m" {
		t.Fatalf("mode notice: %+v", got)
	}
	x.want(3, wire.Frame{Type: wire.TypeKick, Room: "r", Name: "bob"}, wire.OK, "")
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeRooms}); len(r.Rooms) != 1 {
		t.Fatalf("rooms: %+v", r.Rooms)
	}
	// +i does not keep it out.
	x.join(3, "r")
}

func TestRoomStatesRoundTrip(t *testing.T) {
	x := newFixture(t, Config{Guests: true})
	x.login(1, "alice")
	x.login(2, "bob")
	x.claim(3, "g")
	x.join(1, "r")
	x.join(2, "r")
	x.join(3, "r")
	x.mode(1, "r", "+o bob")
	x.mode(1, "r", "+o g")
	x.do(1, topicSet("r", "tea at 5"))
	x.mode(1, "r", "+imsk-n sesame")
	x.mode(1, "r", "+lbb 7 eve *!*@*.example")
	x.join(3, "plain")
	x.do(3, wire.Frame{Type: wire.TypeSay, Room: "plain", Text: "x"})

	states := x.h.RoomStates(true)
	want := []RoomState{
		{Name: "plain", Seq: 1, Created: t0.UnixMilli(), Modes: "+nt"},
		{Name: "r", Created: t0.UnixMilli(), Topic: "tea at 5", TopicBy: "alice", TopicAt: t0.UnixMilli(), Modes: "+imst", Key: "sesame", Limit: 7,
			Ops: []string{"alice", "bob"}, Bans: []string{"eve!*@*", "*!*@*.example"}},
	}
	if !reflect.DeepEqual(states, want) {
		t.Fatalf("states:\n got %+v\nwant %+v", states, want)
	}
	y := newFixture(t, Config{Guests: true, IsOperator: func(n string) bool { return n == "root" }})
	if err := y.h.Restore(states, true); err != nil {
		t.Fatal(err)
	}
	if got := y.h.RoomStates(true); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restore:\n got %+v\nwant %+v", got, want)
	}
	// The restored room works as the old one did. A server operator, like
	// the room's own operators, gets past +i, +k and +l.
	y.login(1, "alice")
	y.login(2, "eve")
	y.claim(3, "g")
	y.login(4, "root")
	y.oper(4, "root")
	y.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r", Secret: "sesame"}, wire.ErrInviteOnly, "")
	if r := y.want(4, wire.Frame{Type: wire.TypeJoin, Room: "r"}, wire.OK, ""); r.Mode != "+iklmst sesame 7" ||
		r.Words != "tea at 5" || r.By != "alice" || !slices.Equal(prefixed(r.Users), []string{"*root"}) {
		t.Fatalf("join restored: %+v", r)
	}
	y.want(4, wire.Frame{Type: wire.TypeInvite, Room: "r", Name: "alice"}, wire.OK, "")
	if r := y.join(1, "r"); !slices.Equal(prefixed(r.Users), []string{"*root", "@alice"}) {
		t.Fatalf("the saved operator: %+v", r.Users)
	}
	y.want(3, wire.Frame{Type: wire.TypeJoin, Room: "r", Secret: "sesame"}, wire.ErrInviteOnly, "")
	y.want(2, wire.Frame{Type: wire.TypeJoin, Room: "r", Secret: "sesame"}, wire.ErrBanned, "")
	y.want(3, wire.Frame{Type: wire.TypeRooms}, wire.OK, "1 room") // r is secret
}

func TestRestoreModes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state RoomState
		mode  string // the room's modes after, "" if Restore fails
		err   string
	}{
		{"old state", RoomState{Name: "r", Seq: 3}, "+nt", ""},
		{"no flags", RoomState{Name: "r", Modes: "+"}, "+", ""},
		{"flags", RoomState{Name: "r", Modes: "+ims"}, "+ims", ""},
		{"without plus", RoomState{Name: "r", Modes: "nt"}, "+nt", ""},
		{"key and limit", RoomState{Name: "r", Modes: "+nt", Key: "k", Limit: 3}, "+klnt k 3", ""},
		// What RoomStates wrote before it left k and l out of Modes.
		{"k and l letters", RoomState{Name: "r", Modes: "+klnt", Key: "k", Limit: 3}, "+klnt k 3", ""},
		{"unknown letter", RoomState{Name: "r", Modes: "+nq"}, "", "room r: unknown mode 'q'"},
		{"negative limit", RoomState{Name: "r", Limit: -1}, "", "room r: negative member limit -1"},
		{"bad name", RoomState{Name: "a b"}, "", `bad room name "a b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newFixture(t, Config{})
			err := x.h.Restore([]RoomState{tc.state}, true)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Restore: %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := x.h.room("r").modeString(true); got != tc.mode {
				t.Fatalf("modes %q, want %q", got, tc.mode)
			}
		})
	}
	x := newFixture(t, Config{})
	if err := x.h.Restore([]RoomState{{Name: "r"}, {Name: "R"}}, true); err == nil || err.Error() != "room R is listed twice" {
		t.Fatalf("twice: %v", err)
	}
}

// What a topic may hold survives a restart: IRC formatting codes too.
func TestRestoreKeepsTopic(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.join(1, "r")
	topic := "\x02bold\x02 and \x0304red\x03\ttab"
	x.want(1, topicSet("r", topic), wire.OK, "")
	y := newFixture(t, Config{})
	if err := y.h.Restore(x.h.RoomStates(true), true); err != nil {
		t.Fatal(err)
	}
	y.login(1, "alice")
	if r := y.want(1, wire.Frame{Type: wire.TypeTopic, Room: "r"}, wire.OK, ""); r.Words != topic {
		t.Fatalf("restored topic %q, want %q", r.Words, topic)
	}
	// A state file edited by hand cannot put a line break in a topic.
	z := newFixture(t, Config{})
	if err := z.h.Restore([]RoomState{{Name: "r", Topic: "a\nb"}}, true); err != nil {
		t.Fatal(err)
	}
	z.login(1, "alice")
	if r := z.want(1, wire.Frame{Type: wire.TypeTopic, Room: "r"}, wire.OK, ""); r.Words != "" {
		t.Fatalf("restored topic %q", r.Words)
	}
}

// A change the state keeps (a registered user given a room nobody ran)
// changes StateVersion, so that the loop saves it.
func TestStateVersionOnChannelChanges(t *testing.T) {
	x := newFixture(t, Config{})
	if err := x.h.Restore([]RoomState{{Name: "r"}}, true); err != nil {
		t.Fatal(err)
	}
	x.login(1, "alice")
	x.login(2, "bob")
	for _, step := range []struct {
		what string
		do   func()
	}{
		{"operator by entering", func() { x.join(1, "r") }},
		{"topic", func() { x.do(1, topicSet("r", "t")) }},
		{"mode", func() { x.mode(1, "r", "+m") }},
		{"ban", func() { x.mode(1, "r", "+b eve") }},
		{"operator by mode", func() { x.join(2, "r"); x.mode(1, "r", "+o bob") }},
	} {
		v := x.h.StateVersion()
		step.do()
		if x.h.StateVersion() == v {
			t.Fatalf("%s: the state version did not change", step.what)
		}
	}
	if st := x.h.RoomStates(true); !slices.Equal(st[0].Ops, []string{"alice", "bob"}) {
		t.Fatalf("ops: %+v", st[0])
	}
}
