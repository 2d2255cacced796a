package client

import (
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// shortLine names a test line that may be 65536 characters long.
func shortLine(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// TestCourseParse checks every client-side rule of seed 003 (S3.3–S3.8) at
// its limits: names of 20 and 21 characters, texts of 65535 and 65536
// characters (counted in characters, so also in two-byte ones).
func TestCourseParse(t *testing.T) {
	send := func(f wire.Frame) Command { return Command{Kind: CmdSend, Frame: f} }
	fixed := func(s string) Command { return Command{Kind: CmdPrint, Text: s} }
	claim := func(n string) Command { return send(wire.Frame{Type: wire.TypeClaim, Name: n}) }
	tell := func(to, text string) Command { return send(wire.Frame{Type: wire.TypeTell, To: to, Text: text}) }
	who := send(wire.Frame{Type: wire.TypeWho})
	badUser, badMsg, invalid := fixed("Bad username"), fixed("Bad message"), fixed("Invalid command")

	name20, name21 := strings.Repeat("n", 20), strings.Repeat("n", 21)
	wide20, wide21 := strings.Repeat("é", 20), strings.Repeat("é", 21)
	text65535, text65536 := strings.Repeat("t", 65535), strings.Repeat("t", 65536)
	wideText65535, wideText65536 := strings.Repeat("é", 65535), strings.Repeat("é", 65536)

	tests := []parseCase{
		{"", Command{}},
		{"   ", Command{}},

		// login (S3.3)
		{"login John", claim("John")},
		{"  login   John  ", claim("John")},
		{"login\tJohn", claim("John")},
		{"login john", claim("john")},
		{"login " + name20, claim(name20)},
		{"login " + name21, badUser},
		{"login " + wide20, claim(wide20)},
		{"login " + wide21, badUser},
		{"login", badUser},
		{"login ", badUser},
		{"login John Doe", badUser},
		{"name John", claim("John")},
		{"name John Doe", badUser},

		// list (S3.4)
		{"list", who},
		{" list ", who},
		{"list bob", invalid},
		{"who", who},
		{"names", who},
		{"getnames", who},
		{"who is there", invalid},

		// sendto (S3.5)
		{"sendto John Hello, how are you?", tell("John", "Hello, how are you?")},
		{"sendto John  two  spaces kept ", tell("John", "two  spaces kept ")},
		{"sendto John x", tell("John", "x")},
		{"sendto JohnHello", badUser},
		{"sendto John ", badUser},
		{"sendto", badUser},
		{"sendto ", badUser},
		{"sendto " + name20 + " hi", tell(name20, "hi")},
		{"sendto " + name21 + " hi", badUser},
		{"sendto " + wide20 + " hi", tell(wide20, "hi")},
		{"sendto " + wide21 + " hi", badUser},
		{"sendto John " + text65535, tell("John", text65535)},
		{"sendto John " + text65536, badMsg},
		{"sendto John " + wideText65535, tell("John", wideText65535)},
		{"sendto John " + wideText65536, badMsg},
		// The username is checked first.
		{"sendto " + name21 + " " + text65536, badUser},
		{"tell John hi", tell("John", "hi")},
		{"msg John hi", tell("John", "hi")},
		{"tell John", badUser},

		// logout (S3.6) keeps the connection: a request like any other.
		{"logout", send(wire.Frame{Type: wire.TypeLogout})},
		{"logout Joe", invalid},

		// exit (S3.7)
		{"exit", Command{Kind: CmdLogout}},
		{" exit ", Command{Kind: CmdLogout}},
		{"exit client", invalid},

		{"help", Command{Kind: CmdHelp}},
		{"help me", invalid},

		// Anything else is not a command; commands are lower case.
		{"hello there", invalid},
		{"LIST", invalid},
		{"Login John", invalid},
		{"EXIT", invalid},
		{"create lounge", invalid},
		{"\x1b[A", invalid},
		{strings.Repeat("x", 70000), invalid},
	}
	checkParse(t, courseMode{}, tests)
}

// shortCommand keeps a failure message readable when a Command holds a
// 65535-character text.
func shortCommand(c Command) Command {
	c.Frame.Text = shortLine(c.Frame.Text)
	return c
}

// TestCourseShow checks the rendering of every frame type in course mode:
// Success and Failure for every answer (S3.10), the names for a successful
// list (S3.9), USER: TEXT for a message (S3.11).
func TestCourseShow(t *testing.T) {
	now := time.Date(2026, 11, 21, 14, 3, 7, 0, time.Local)
	req := func(ty wire.Type) *wire.Frame { return &wire.Frame{Type: ty, ID: 7} }
	reply := func(code wire.Code, text string) wire.Frame {
		return wire.Frame{Type: wire.TypeReply, ID: 7, Code: code, Text: text, Time: now.UnixMilli()}
	}
	users := reply(wire.OK, "3 users connected")
	users.Users = []wire.User{{Name: "alice", Room: "lounge"}, {Name: "bob"}, {Name: "John"}}
	tests := []showCase{
		{"private message", wire.Frame{Type: wire.TypePrivate, From: "Bob", To: "John", Text: "Hi how are you?"}, nil,
			[]string{"Bob: Hi how are you?"}},
		{"room message", wire.Frame{Type: wire.TypeMessage, From: "Bob", Room: "lounge", Text: "hi all"}, nil,
			[]string{"Bob: hi all"}},
		{"notice", wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeShutdown, Text: "the server is shutting down"}, nil,
			[]string{"* the server is shutting down"}},
		{"notice without text", wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeLost, Name: "bob"}, nil,
			[]string{"* contact with bob was lost"}},
		{"login ok", reply(wire.OK, "welcome John"), req(wire.TypeClaim), []string{"Success"}},
		{"login taken", reply(wire.ErrNameTaken, "the name John is in use; choose another"), req(wire.TypeClaim), []string{"Failure"}},
		{"login on a server without guests", reply(wire.ErrGuestsClosed, "this server allows no guests"), req(wire.TypeClaim), []string{"Failure"}},
		{"login twice", reply(wire.ErrLoggedIn, "you are already logged in as John"), req(wire.TypeClaim), []string{"Failure"}},
		{"list", users, req(wire.TypeWho), []string{"alice bob John"}},
		{"list of nobody", reply(wire.OK, "0 users connected"), req(wire.TypeWho), []string{""}},
		{"list refused", reply(wire.ErrNotLoggedIn, "please log in first"), req(wire.TypeWho), []string{"Failure"}},
		{"sendto ok", reply(wire.OK, "message sent to Bob"), req(wire.TypeTell), []string{"Success"}},
		{"sendto nobody", reply(wire.ErrNoSuchUser, "no user named Bob is connected"), req(wire.TypeTell), []string{"Failure"}},
		{"sendto oneself", reply(wire.ErrSelf, "you cannot send a private message to yourself"), req(wire.TypeTell), []string{"Failure"}},
		{"logout ok", reply(wire.OK, "goodbye John"), req(wire.TypeLogout), []string{"Success"}},
		{"logout when not logged in", reply(wire.ErrNotLoggedIn, "please log in first"), req(wire.TypeLogout), []string{"Failure"}},
		{"hello is not a command", reply(wire.OK, "chat-server 1"), req(wire.TypeHello), nil},
		{"ping is not a command", reply(wire.OK, "pong"), req(wire.TypePing), nil},
		{"answer to no request", reply(wire.ErrBadRequest, "malformed frame: it was ignored"), nil,
			[]string{"* malformed frame: it was ignored"}},
		{"server ping", wire.Frame{Type: wire.TypeServerPing}, nil, nil},
		{"bye", wire.Frame{Type: wire.TypeBye, Code: wire.ByeShutdown, Text: "bye"}, nil, nil},
	}
	checkShow(t, courseMode{}, now, tests)
	if got := (courseMode{}).Report(now, "connected to localhost:7777"); got != "! connected to localhost:7777" {
		t.Errorf("Report = %q", got)
	}
}
