package client

import (
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

func TestRoomsParseChannel(t *testing.T) {
	send := func(f wire.Frame) Command { return Command{Kind: CmdSend, Frame: f} }
	inRoom := func(f wire.Frame) Command { return Command{Kind: CmdSend, Frame: f, InRoom: true} }
	usage := func(u string) Command { return Command{Kind: CmdReport, Text: "usage: " + u} }
	long := strings.Repeat("é", wire.MaxTextRunes+1)
	checkParse(t, roomsMode{}, []parseCase{
		// topic: alone shows it, "-" clears it, anything else sets it.
		{"topic", inRoom(wire.Frame{Type: wire.TypeTopic})},
		{"  topic  ", inRoom(wire.Frame{Type: wire.TypeTopic})},
		{"topic -", inRoom(wire.Frame{Type: wire.TypeTopic, Code: wire.TopicSet})},
		{"topic  - ", inRoom(wire.Frame{Type: wire.TypeTopic, Code: wire.TopicSet})},
		{"topic tea at  5 ", inRoom(wire.Frame{Type: wire.TypeTopic, Code: wire.TopicSet, Text: "tea at  5"})},
		{"topic - not cleared", inRoom(wire.Frame{Type: wire.TypeTopic, Code: wire.TopicSet, Text: "- not cleared"})},
		{"topic " + long, Command{Kind: CmdReport, Text: "topic not sent: 65536 characters, the limit is 65535"}},
		{"Topic x", send(wire.Frame{Type: wire.TypeSay, Text: "Topic x"})},
		// kick NAME [REASON]
		{"kick bob", inRoom(wire.Frame{Type: wire.TypeKick, Name: "bob"})},
		{"kick  bob  too  loud ", inRoom(wire.Frame{Type: wire.TypeKick, Name: "bob", Text: "too  loud"})},
		{"kick", usage("kick NAME [REASON]")},
		{"kick   ", usage("kick NAME [REASON]")},
		// invite NAME
		{"invite carol", inRoom(wire.Frame{Type: wire.TypeInvite, Name: "carol"})},
		{"invite", usage("invite NAME")},
		{"invite carol dave", usage("invite NAME")},
		// mode [CHANGES], passed on as typed.
		{"mode", inRoom(wire.Frame{Type: wire.TypeMode})},
		{"mode +o  bob", inRoom(wire.Frame{Type: wire.TypeMode, Mode: "+o bob"})},
		{"mode -t", inRoom(wire.Frame{Type: wire.TypeMode, Mode: "-t"})},
		// away [TEXT]: alone, back.
		{"away", send(wire.Frame{Type: wire.TypeAway})},
		{"away gone  to lunch ", send(wire.Frame{Type: wire.TypeAway, Text: "gone  to lunch"})},
		// whois NAME
		{"whois bob", send(wire.Frame{Type: wire.TypeWhois, Name: "bob"})},
		{"whois", usage("whois NAME")},
		{"whois bob carol", usage("whois NAME")},
	})
}

func TestRoomsShowChannel(t *testing.T) {
	at := time.Date(2026, 11, 21, 14, 3, 7, 0, time.Local)
	ms := at.UnixMilli()
	now := at.Add(time.Hour)
	yesterday := at.Add(-24 * time.Hour).UnixMilli()
	req := func(f wire.Frame) *wire.Frame { return &f }
	reply := func(text string, set ...func(*wire.Frame)) wire.Frame {
		f := wire.Frame{Type: wire.TypeReply, Text: text, Time: ms}
		for _, s := range set {
			s(&f)
		}
		return f
	}
	topic := func(words, by string, at int64) func(*wire.Frame) {
		return func(f *wire.Frame) { f.Room, f.Words, f.By, f.At = "lounge", words, by, at }
	}
	refused := func(code wire.Code) func(*wire.Frame) { return func(f *wire.Frame) { f.Code = code } }
	enter := req(wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	readTopic := req(wire.Frame{Type: wire.TypeTopic, Room: "lounge"})
	setTopic := req(wire.Frame{Type: wire.TypeTopic, Room: "lounge", Code: wire.TopicSet, Text: "tea"})
	kick := req(wire.Frame{Type: wire.TypeKick, Room: "lounge", Name: "bob"})
	whois := req(wire.Frame{Type: wire.TypeWhois, Name: "bob"})
	checkShow(t, roomsMode{}, now, []showCase{
		{"who with standing and away", reply("3 users connected", func(f *wire.Frame) {
			f.Users = []wire.User{{Name: "alice", Room: "lounge", Prefix: "@"}, {Name: "bob", Room: "lounge", Prefix: "+", Away: "lunch"}, {Name: "carol", Away: "out"}}
		}), req(wire.Frame{Type: wire.TypeWho}),
			[]string{"* 14:03:07 3 users connected", "* 14:03:07 alice is in lounge (operator)",
				"* 14:03:07 bob is in lounge (voiced); away: lunch", "* 14:03:07 carol is in no room; away: out"}},
		{"rooms with a topic", reply("2 rooms", func(f *wire.Frame) {
			f.Rooms = []wire.Room{{Name: "attic", Members: 1, Mode: "+nt"}, {Name: "lounge", Members: 3, Topic: "tea at 5", Mode: "+nt"}}
		}), req(wire.Frame{Type: wire.TypeRooms}),
			[]string{"* 14:03:07 2 rooms", "* 14:03:07 attic has 1 member", "* 14:03:07 lounge has 3 members; topic: tea at 5"}},
		{"enter without a topic", reply("you entered lounge with bob", func(f *wire.Frame) { f.Room, f.Mode = "lounge", "+nt" }), enter,
			[]string{"* 14:03:07 you entered lounge with bob"}},
		{"enter with a topic", reply("you entered lounge with bob; topic: tea at 5", topic("tea at 5", "bob", ms)), enter,
			[]string{"* 14:03:07 you entered lounge with bob", "* 14:03:07 topic of lounge: tea at 5 (set by bob at 14:03:07)"}},
		{"enter with a topic the text does not tell", reply("you entered lounge", topic("tea", "bob", yesterday)), enter,
			[]string{"* 14:03:07 you entered lounge", "* 14:03:07 topic of lounge: tea (set by bob on 2026-11-20 at 14:03:07)"}},
		{"enter refused", reply("lounge is invite only; ask one of its operators for an invitation", refused(wire.ErrInviteOnly)), enter,
			[]string{"* 14:03:07 lounge is invite only; ask one of its operators for an invitation"}},
		{"topic read", reply("the topic of lounge is: tea", topic("tea", "bob", ms)), readTopic,
			[]string{"* 14:03:07 the topic of lounge is: tea (set by bob at 14:03:07)"}},
		{"topic read without text", reply("", topic("tea", "", 0)), readTopic,
			[]string{"* 14:03:07 the topic of lounge is: tea"}},
		{"no topic", reply("no topic is set in lounge", func(f *wire.Frame) { f.Room = "lounge" }), readTopic,
			[]string{"* 14:03:07 no topic is set in lounge"}},
		{"topic set: the notice says it", reply("topic set", topic("tea", "alice", ms)), setTopic, nil},
		{"topic set refused", reply("only the operators of lounge may set its topic", refused(wire.ErrNotOperator)), setTopic,
			[]string{"* 14:03:07 only the operators of lounge may set its topic"}},
		{"kick: the notice says it", reply("you kicked bob out of lounge"), kick, nil},
		{"kick refused", reply("only the operators of lounge may kick", refused(wire.ErrNotOperator)), kick,
			[]string{"* 14:03:07 only the operators of lounge may kick"}},
		{"kick of nobody", reply(`"bobby" is not in lounge`, refused(wire.ErrNoSuchUser)), kick,
			[]string{`* 14:03:07 "bobby" is not in lounge`}},
		{"away", reply("you are marked as away: lunch"), req(wire.Frame{Type: wire.TypeAway, Text: "lunch"}),
			[]string{"* 14:03:07 you are marked as away: lunch"}},
		{"invite", reply("you invited carol to lounge"), req(wire.Frame{Type: wire.TypeInvite, Room: "lounge", Name: "carol"}),
			[]string{"* 14:03:07 you invited carol to lounge"}},
		{"whois", reply("bob is connected", func(f *wire.Frame) {
			f.Users = []wire.User{{Name: "bob", Away: "lunch", Real: "Bob B", Prefix: "*"}}
			f.Rooms = []wire.Room{{Name: "lounge", Members: 2, Prefix: "@"}, {Name: "attic", Members: 1}}
		}), whois,
			[]string{"* 14:03:07 bob is connected", "* 14:03:07 bob is in lounge (operator), attic", "* 14:03:07 bob's real name is Bob B",
				"* 14:03:07 bob is a server operator", "* 14:03:07 bob is away: lunch"}},
		{"whois of a guest in no room", reply("bob is connected as a guest", func(f *wire.Frame) { f.Users = []wire.User{{Name: "bob"}} }), whois,
			[]string{"* 14:03:07 bob is connected as a guest", "* 14:03:07 bob is in no room"}},
		{"whois of nobody", reply(`no user named "bobby" is connected`, refused(wire.ErrNoSuchUser)), whois,
			[]string{`* 14:03:07 no user named "bobby" is connected`}},
	})
}

// TestChannelNotices checks that every mode shows the notices of running
// a room: the server's text as it is, or, without one, a text made from
// the notice's fields.
func TestChannelNotices(t *testing.T) {
	at := time.Date(2026, 11, 21, 14, 3, 7, 0, time.Local)
	notice := func(code wire.Code, set func(*wire.Frame)) wire.Frame {
		f := wire.Frame{Type: wire.TypeNotice, From: wire.ServerName, Code: code, Room: "lounge", Time: at.UnixMilli()}
		set(&f)
		return f
	}
	tests := []struct {
		name string
		f    wire.Frame
		want string // without Text
	}{
		{"topic", notice(wire.NoticeTopic, func(f *wire.Frame) { f.Name, f.By, f.Words = "ann", "ann", "tea at 5" }),
			"ann set the topic of lounge to: tea at 5"},
		{"topic cleared", notice(wire.NoticeTopic, func(f *wire.Frame) { f.Name, f.By = "ann", "ann" }),
			"ann cleared the topic of lounge"},
		{"kicked", notice(wire.NoticeKicked, func(f *wire.Frame) { f.Name, f.By, f.Words = "bob", "ann", "too loud" }),
			"ann kicked bob out of lounge (too loud)"},
		{"kicked without a reason", notice(wire.NoticeKicked, func(f *wire.Frame) { f.Name, f.By = "bob", "ann" }),
			"ann kicked bob out of lounge"},
		{"mode", notice(wire.NoticeMode, func(f *wire.Frame) { f.By, f.Mode = "ann", "+o-v bob cy" }),
			"ann set mode +o-v bob cy on lounge"},
		{"invited", notice(wire.NoticeInvited, func(f *wire.Frame) { f.Name, f.By = "bob", "ann" }),
			"ann invites you to lounge"},
		{"renamed", notice(wire.NoticeRenamed, func(f *wire.Frame) { f.Name, f.To = "guest1", "cy" }),
			"guest1 is now known as cy"},
		{"quit", notice(wire.NoticeQuit, func(f *wire.Frame) { f.Name, f.Words = "bob", "bye all" }),
			"bob left lounge (bye all)"},
		{"quit without words", notice(wire.NoticeQuit, func(f *wire.Frame) { f.Name = "bob" }),
			"bob left lounge"},
	}
	modes := []struct {
		mode   Mode
		prefix string
	}{{roomsMode{}, "* 14:03:07 "}, {namesMode{}, "* "}, {&menuMode{state: menuChoice}, "* "}, {courseMode{}, "* "}}
	for _, tt := range tests {
		for _, m := range modes {
			f := tt.f
			if got := m.mode.Show(&f, nil, at); len(got) != 1 || got[0] != m.prefix+tt.want {
				t.Errorf("%s in %T without text: Show = %q, want %q", tt.name, m.mode, got, m.prefix+tt.want)
			}
			f.Text = "the server's own words"
			if got := m.mode.Show(&f, nil, at); len(got) != 1 || got[0] != m.prefix+f.Text {
				t.Errorf("%s in %T: Show = %q, want the server's text", tt.name, m.mode, got)
			}
		}
	}
}

// TestKickedOut runs a client in a room that its user is kicked out of:
// it says so to the user, sends nothing more about that room, and does not
// enter it again after a reconnection.
func TestKickedOut(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done, p := loggedInRoom(t, srv, "lounge", 3)
	out.waitFor(t, "you entered lounge")

	// A request about the room goes with the room's name.
	typeLine(t, in, "topic")
	if f := p.answer(wire.TypeTopic, "no topic is set in lounge"); f.Room != "lounge" || f.Code == wire.TopicSet {
		t.Errorf("topic request %+v, want a read of lounge", f)
	}
	// Somebody else's kick changes nothing for this client.
	p.send(wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeKicked, Name: "carol", By: "bob", Room: "lounge", Text: "bob kicked carol out of lounge"})
	out.waitFor(t, " bob kicked carol out of lounge\n")
	typeLine(t, in, "kick dave")
	if f := p.answer(wire.TypeKick, "", func(f *wire.Frame) { f.Code, f.Text = wire.ErrNotOperator, "only the operators of lounge may kick" }); f.Room != "lounge" || f.Name != "dave" {
		t.Errorf("kick request %+v, want dave out of lounge", f)
	}
	out.waitFor(t, " only the operators of lounge may kick\n")

	// Another user whose name differs only in case is another user.
	p.send(wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeKicked, Name: "Alice", By: "bob", Room: "lounge", Text: "bob kicked Alice out of lounge"})
	out.waitFor(t, " bob kicked Alice out of lounge\n")
	// Its own kick, the room named in another case, is worded to the user.
	p.send(wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeKicked, Name: "alice", By: "bob", Room: "Lounge", Words: "spam",
		Text: "bob kicked alice out of Lounge (spam)"})
	out.waitFor(t, " bob kicked you out of Lounge (spam)\n")
	typeLine(t, in, "topic new")
	out.waitFor(t, " not sent: you are not in a room; enter one with: enter ROOM\n")

	// After a reconnection: logged in again, and no Enter.
	p.c.Close()
	out.waitFor(t, "reconnecting in ")
	p = srv.next()
	p.hello()
	p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	out.waitFor(t, "logged in as alice again")
	typeLine(t, in, "who")
	p.answer(wire.TypeWho, "1 user connected", func(f *wire.Frame) { f.Users = []wire.User{{Name: "alice"}} })
	out.waitFor(t, " alice is in no room\n")
	if strings.Contains(out.String(), "back in") {
		t.Errorf("the client went back into the room it was kicked out of:\n%s", out.String())
	}

	in.Close()
	p.answer(wire.TypeLogout, "goodbye alice")
	exitStatus(t, done, out)
}
