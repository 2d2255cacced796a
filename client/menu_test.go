package client

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// TestMenuParse walks mode menu through the seed's interaction and its
// mistakes: each typed line, the prompt it leaves up, and what it does
// (S2.3, S2.14).
func TestMenuParse(t *testing.T) {
	menu := strings.Join(menuLines, "\n")
	steps := []struct {
		line   string
		kind   CommandKind
		frame  wire.Frame
		text   string
		lines  string
		prompt string
	}{
		{"", CmdNothing, wire.Frame{}, "", "", "Enter your name: "},
		{"two words", CmdReport, wire.Frame{}, "a name is one word: try again", "", "Enter your name: "},
		{strings.Repeat("n", 21), CmdReport, wire.Frame{}, "a name has at most 20 characters, this one has 21: try again", "", "Enter your name: "},
		{"client2", CmdSend, wire.Frame{Type: wire.TypeClaim, Name: "client2"}, "", "", ""},
		{"m", CmdNothing, wire.Frame{}, "", "", "Enter your message: "},
		{"hello!", CmdSend, wire.Frame{Type: wire.TypeBroadcast, Text: "hello!"}, "", menu, ""},
		{"f", CmdNothing, wire.Frame{}, "", "", "Who owns the file? "},
		{"client1", CmdNothing, wire.Frame{}, "", "", "Which file do you want? "},
		{"Ameca_splendens.jpg", CmdSend, wire.Frame{Type: wire.TypeFetch, To: "client1", Name: "Ameca_splendens.jpg"}, "", menu, ""},
		{"M", CmdNothing, wire.Frame{}, "", "", "Enter your message: "},
		{"  another important message! ", CmdSend, wire.Frame{Type: wire.TypeBroadcast, Text: "  another important message! "}, "", menu, ""},
		{"", CmdNothing, wire.Frame{}, "", "", ""},
		{"q", CmdReport, wire.Frame{}, `unknown option "q": enter m, f or x`, menu, ""},
		{"m", CmdNothing, wire.Frame{}, "", "", "Enter your message: "},
		{"   ", CmdReport, wire.Frame{}, "message not sent: it is empty", menu, ""},
		{"f", CmdNothing, wire.Frame{}, "", "", "Who owns the file? "},
		{"", CmdReport, wire.Frame{}, "no file requested: no owner given", menu, ""},
		{"f", CmdNothing, wire.Frame{}, "", "", "Who owns the file? "},
		{"bob", CmdNothing, wire.Frame{}, "", "", "Which file do you want? "},
		{"dir/", CmdReport, wire.Frame{}, "no file requested: dir/ does not end in a file name", menu, ""},
		{"f", CmdNothing, wire.Frame{}, "", "", "Who owns the file? "},
		{"bob", CmdNothing, wire.Frame{}, "", "", "Which file do you want? "},
		{"../x", CmdSend, wire.Frame{Type: wire.TypeFetch, To: "bob", Name: "../x"}, "", menu, ""},
		{"X", CmdLogout, wire.Frame{}, "", "closing your sockets...goodbye", ""},
	}
	m := &menuMode{}
	if p := m.Prompt(); p != "Enter your name: " {
		t.Fatalf("first prompt %q", p)
	}
	for i, s := range steps {
		cmd := m.Parse(s.line)
		if cmd.Kind != s.kind || !reflect.DeepEqual(cmd.Frame, s.frame) || cmd.Text != s.text || strings.Join(cmd.Lines, "\n") != s.lines {
			t.Errorf("step %d %q: got %+v", i, s.line, cmd)
		}
		if p := m.Prompt(); p != s.prompt {
			t.Errorf("step %d %q: prompt %q, want %q", i, s.line, p, s.prompt)
		}
	}
}

func TestMenuShow(t *testing.T) {
	now := time.Now()
	m := &menuMode{state: menuChoice}
	claim := &wire.Frame{Type: wire.TypeClaim, Name: "client2"}
	tests := []struct {
		f     wire.Frame
		req   *wire.Frame
		want  []string
		state menuState
	}{
		{wire.Frame{Type: wire.TypeMessage, From: "client1", Text: "hello!"}, nil, []string{"client1: hello!"}, menuChoice},
		{wire.Frame{Type: wire.TypePrivate, From: "client1", To: "client2", Text: "psst"}, nil, []string{"client1: psst"}, menuChoice},
		{wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeShutdown, Text: "the server is shutting down"}, nil, []string{"* the server is shutting down"}, menuChoice},
		{wire.Frame{Type: wire.TypeReply}, &wire.Frame{Type: wire.TypeBroadcast, Text: "x"}, nil, menuChoice},
		{wire.Frame{Type: wire.TypeReply, Code: wire.ErrNotLoggedIn, Text: "please log in first"}, &wire.Frame{Type: wire.TypeBroadcast}, []string{"* please log in first"}, menuChoice},
		{wire.Frame{Type: wire.TypeReply, Name: "client2"}, claim, menuLines, menuChoice},
		{wire.Frame{Type: wire.TypeReply, Code: wire.ErrNameTaken, Text: "the name client2 is in use; choose another"}, claim, []string{"* the name client2 is in use; choose another"}, menuName},
		{wire.Frame{Type: wire.TypeReply, Code: wire.ErrNameTaken, Text: "the name alice belongs to a registered user; log in with: login alice"}, claim, []string{"* the name alice belongs to a registered user; choose another name"}, menuName},
	}
	for i, tt := range tests {
		m.state = menuChoice
		got := m.Show(&tt.f, tt.req, now)
		if !reflect.DeepEqual(got, tt.want) || m.state != tt.state {
			t.Errorf("case %d: Show = %q (state %d), want %q (state %d)", i, got, m.state, tt.want, tt.state)
		}
	}
	if r := m.Report(now, "connected to x"); r != "! connected to x" {
		t.Errorf("report %q", r)
	}
}

// TestFetchCommands checks the file request of the other modes: get in
// rooms, GETFILE in names, getfile in course.
func TestFetchCommands(t *testing.T) {
	fetch := func(to, name string) Command {
		return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeFetch, To: to, Name: name}}
	}
	report := func(text string) Command { return Command{Kind: CmdReport, Text: text} }
	tests := []struct {
		mode Mode
		line string
		want Command
	}{
		{roomsMode{}, "get bob report.pdf", fetch("bob", "report.pdf")},
		{roomsMode{}, "get bob my report.pdf  ", fetch("bob", "my report.pdf")},
		{roomsMode{}, "fetch bob sub/a.txt", fetch("bob", "sub/a.txt")},
		{roomsMode{}, "get bob", report("usage: get OWNER FILE")},
		{roomsMode{}, "get", report("usage: get OWNER FILE")},
		{roomsMode{}, "get bob dir/", report("no file requested: dir/ does not end in a file name")},
		{roomsMode{}, "get " + strings.Repeat("b", 21) + " f", report("no file requested: a name has at most 20 characters, this one has 21")},
		{namesMode{}, "GETFILE B notes.txt", fetch("B", "notes.txt")},
		{namesMode{}, "get B notes.txt", fetch("B", "notes.txt")},
		{namesMode{}, "GETFILE B", report("usage: GETFILE NAME FILE")},
		{courseMode{}, "getfile alice notes.txt", fetch("alice", "notes.txt")},
		{courseMode{}, "get alice notes.txt", fetch("alice", "notes.txt")},
		{courseMode{}, "getfile alice", report("usage: getfile USER FILE")},
	}
	for _, tt := range tests {
		if got := tt.mode.Parse(tt.line); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%T.Parse(%q) = %+v, want %+v", tt.mode, tt.line, got, tt.want)
		}
	}
}

// TestMenuSession runs mode menu with its input a pipe: the prompts, which
// a terminal shows on the input line, are printed as lines of their own,
// after the connection report; the name is claimed first (S2.3), m is a
// Broadcast (S2.4), f a Fetch (S2.9), x says goodbye and exits 0 (S2.14).
func TestMenuSession(t *testing.T) {
	srv, in, out, done, p := connectedClient(t, &menuMode{})
	out.waitFor(t, "Enter your name:\n")
	typeLine(t, in, "client2")
	p.answer(wire.TypeClaim, "welcome client2", func(f *wire.Frame) { f.Name = "client2" })
	typeLine(t, in, "m")
	typeLine(t, in, "hello!")
	if b := p.answer(wire.TypeBroadcast, ""); b.Text != "hello!" {
		t.Errorf("broadcast %q", b.Text)
	}
	p.send(wire.Frame{Type: wire.TypeMessage, From: "client1", Text: "hi"})
	out.waitFor(t, "client1: hi\n")
	typeLine(t, in, "f")
	typeLine(t, in, "client1")
	typeLine(t, in, "Ameca_splendens.jpg")
	req := p.expect(wire.TypeFetch)
	if req.To != "client1" || req.Name != "Ameca_splendens.jpg" {
		t.Errorf("fetch %+v", req)
	}
	p.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Code: wire.ErrNoSuchUser, Text: "no user named client1 is connected"})
	out.waitFor(t, "! could not get Ameca_splendens.jpg from client1: no user named client1 is connected\n")
	typeLine(t, in, "x")
	p.answer(wire.TypeLogout, "goodbye client2")
	exitsWith(t, done, out, 0)
	menu := strings.Join(menuLines, "\n") + "\n"
	want := "! connected to " + srv.addr + "\n" +
		"Enter your name:\n" +
		menu +
		"Enter your message:\n" +
		menu +
		"client1: hi\n" +
		"Who owns the file?\n" +
		"Which file do you want?\n" +
		menu +
		"! could not get Ameca_splendens.jpg from client1: no user named client1 is connected\n" +
		"closing your sockets...goodbye\n"
	if got := out.String(); got != want {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
}
