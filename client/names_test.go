package client

import (
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// TestNamesParse checks the commands of seed 001 (S1.2–S1.5) and the other
// modes' commands names mode accepts, with the same limits as the server.
func TestNamesParse(t *testing.T) {
	send := func(f wire.Frame) Command { return Command{Kind: CmdSend, Frame: f} }
	report := func(s string) Command { return Command{Kind: CmdReport, Text: s} }
	claim := func(n string) Command { return send(wire.Frame{Type: wire.TypeClaim, Name: n}) }
	tell := func(to, text string) Command { return send(wire.Frame{Type: wire.TypeTell, To: to, Text: text}) }
	who := send(wire.Frame{Type: wire.TypeWho})
	usageName, usageMsg := report("usage: NAME YOURNAME (one word)"), report("usage: MSG NAME TEXT")
	unknown := func(w string) Command {
		return report("unknown command " + w + ": the commands are NAME, GETNAMES, MSG, EXIT and HELP")
	}

	name20, name21 := strings.Repeat("n", 20), strings.Repeat("n", 21)
	text65535, text65536 := strings.Repeat("é", 65535), strings.Repeat("é", 65536)

	tests := []parseCase{
		{"", Command{}},
		{"  ", Command{}},

		{"NAME A", claim("A")},
		{"name A", claim("A")},
		{"Name a", claim("a")},
		{"  NAME   A  ", claim("A")},
		{"LOGIN A", claim("A")},
		{"login A", claim("A")},
		{"NAME " + name20, claim(name20)},
		{"NAME " + name21, report("name not set: a name has at most 20 characters, this one has 21")},
		{"NAME", usageName},
		{"NAME A B", usageName},

		{"GETNAMES", who},
		{"getnames", who},
		{"who", who},
		{"WHO", who},
		{"names", who},
		{"list", who},
		{"GETNAMES now", report("usage: GETNAMES")},

		{"MSG B HELLO", tell("B", "HELLO")},
		{"msg B hello there", tell("B", "hello there")},
		{"MSG B  two  spaces ", tell("B", "two  spaces ")},
		{"TELL B hi", tell("B", "hi")},
		{"sendto B hi", tell("B", "hi")},
		{"MSG A HELLO", tell("A", "HELLO")},
		{"MSG B", usageMsg},
		{"MSG B ", usageMsg},
		{"MSG", usageMsg},
		{"MSG " + name20 + " hi", tell(name20, "hi")},
		{"MSG " + name21 + " hi", report("message not sent: a name has at most 20 characters, this one has 21")},
		{"MSG B " + text65535, tell("B", text65535)},
		{"MSG B " + text65536, report("message not sent: 65536 characters, the limit is 65535")},

		{"EXIT", Command{Kind: CmdLogout}},
		{"exit", Command{Kind: CmdLogout}},
		{"EXIT now", report("usage: EXIT")},
		{"LOGOUT", send(wire.Frame{Type: wire.TypeLogout})},
		{"logout", send(wire.Frame{Type: wire.TypeLogout})},
		{"logout now", report("usage: LOGOUT")},
		{"HELP", Command{Kind: CmdHelp}},
		{"help", Command{Kind: CmdHelp}},
		{"help me", report("usage: HELP")},

		// Unknown commands get an answer; a runaway word is clipped.
		{"HELLO", unknown("HELLO")},
		{"hi there", unknown("hi")},
		{"create lounge", unknown("create")},
		{strings.Repeat("x", 100), unknown(strings.Repeat("x", 24) + "...")},
	}
	checkParse(t, namesMode{}, tests)
}

// TestNamesShow checks the rendering of every frame type in names mode:
// the seed's HELLO A, "A B" and A SENT TEXT, no timestamps anywhere.
func TestNamesShow(t *testing.T) {
	now := time.Date(2026, 11, 21, 14, 3, 7, 0, time.Local)
	req := func(ty wire.Type) *wire.Frame { return &wire.Frame{Type: ty, ID: 7} }
	reply := func(code wire.Code, text string) wire.Frame {
		return wire.Frame{Type: wire.TypeReply, ID: 7, Code: code, Text: text, Time: now.UnixMilli()}
	}
	named := reply(wire.OK, "welcome A")
	named.Name = "A"
	users := reply(wire.OK, "2 users connected")
	users.Users = []wire.User{{Name: "A"}, {Name: "B", Room: "lounge"}}
	tests := []showCase{
		{"private message", wire.Frame{Type: wire.TypePrivate, From: "B", To: "A", Text: "HELLO", Time: now.UnixMilli()}, nil,
			[]string{"B SENT HELLO"}},
		{"room message", wire.Frame{Type: wire.TypeMessage, From: "B", Room: "lounge", Text: "hi all"}, nil,
			[]string{"[lounge] B SENT hi all"}},
		{"notice", wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeShutdown, Text: "the server is shutting down"}, nil,
			[]string{"* the server is shutting down"}},
		{"notice without text", wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeLeft, Name: "B", Room: "lounge"}, nil,
			[]string{"* B left lounge"}},
		{"name ok", named, &wire.Frame{Type: wire.TypeClaim, Name: "A"}, []string{"HELLO A"}},
		{"name ok, reply without the name", reply(wire.OK, ""), &wire.Frame{Type: wire.TypeClaim, Name: "A"}, []string{"HELLO A"}},
		{"name taken", reply(wire.ErrNameTaken, "the name A is in use; choose another"), req(wire.TypeClaim),
			[]string{"* the name A is in use; choose another"}},
		{"registered name: advice that works here", reply(wire.ErrNameTaken, "the name alice belongs to a registered user; log in with: login alice"), req(wire.TypeClaim),
			[]string{"* the name alice belongs to a registered user; choose another name"}},
		{"no guests", reply(wire.ErrGuestsClosed, "this server allows no guests; log in with: login NAME"), req(wire.TypeClaim),
			[]string{"* " + guestsClosedText}},
		{"getnames", users, req(wire.TypeWho), []string{"A B"}},
		{"getnames of nobody", reply(wire.OK, "0 users connected"), req(wire.TypeWho), []string{"* 0 users connected"}},
		{"getnames before a name", reply(wire.ErrNotLoggedIn, "please log in first: login NAME"), req(wire.TypeWho),
			[]string{"* please log in first: login NAME"}},
		{"msg ok prints nothing", reply(wire.OK, "message sent to B"), req(wire.TypeTell), nil},
		{"msg to nobody", reply(wire.ErrNoSuchUser, "no user named C is connected"), req(wire.TypeTell),
			[]string{"* no user named C is connected"}},
		{"msg to oneself", reply(wire.ErrSelf, "you cannot send a private message to yourself"), req(wire.TypeTell),
			[]string{"* you cannot send a private message to yourself"}},
		{"error without text", reply(wire.ErrUnknown, ""), req(wire.TypeTell),
			[]string{"* the server refused the tell request (code 7)"}},
		{"logout", reply(wire.OK, "goodbye A"), req(wire.TypeLogout), []string{"* goodbye A"}},
		{"hello", reply(wire.OK, "chat-server 1"), req(wire.TypeHello), nil},
		{"answer to no request", reply(wire.ErrBadRequest, "malformed frame: it was ignored"), nil,
			[]string{"* malformed frame: it was ignored"}},
		{"server ping", wire.Frame{Type: wire.TypeServerPing}, nil, nil},
		{"bye", wire.Frame{Type: wire.TypeBye, Code: wire.ByeShutdown, Text: "bye"}, nil, nil},
	}
	checkShow(t, namesMode{}, now, tests)
	if got := (namesMode{}).Report(now, "connected to localhost:7777"); got != "! connected to localhost:7777" {
		t.Errorf("Report = %q", got)
	}
}

func TestCutWord(t *testing.T) {
	tests := []struct{ in, word, rest string }{
		{"", "", ""},
		{"   ", "", ""},
		{"list", "list", ""},
		{"  list  ", "list", ""},
		{"sendto John  Hello,  you ", "sendto", "John  Hello,  you "},
		{"a\tb", "a", "b"},
		{"é\u00a0b", "é", "b"},
	}
	for _, tt := range tests {
		w, r := cutWord(tt.in)
		if w != tt.word || r != tt.rest {
			t.Errorf("cutWord(%q) = %q, %q; want %q, %q", tt.in, w, r, tt.word, tt.rest)
		}
	}
}
