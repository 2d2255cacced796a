package client

import (
	"slices"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

func TestRoomsParse(t *testing.T) {
	send := func(f wire.Frame) Command { return Command{Kind: CmdSend, Frame: f} }
	say := func(s string) Command { return send(wire.Frame{Type: wire.TypeSay, Text: s}) }
	usage := func(u string) Command { return Command{Kind: CmdReport, Text: "usage: " + u} }
	long := strings.Repeat("é", wire.MaxTextRunes+1)
	tests := []struct {
		line string
		want Command
	}{
		{"", Command{}},
		{"   ", Command{}},
		{"hello", say("hello")},
		{"  spaces  kept  ", say("  spaces  kept  ")},
		{"login alice", Command{Kind: CmdLogin, Name: "alice"}},
		{"  login   alice  ", Command{Kind: CmdLogin, Name: "alice"}},
		{"login", usage("login NAME")},
		{"login bob extra", usage("login NAME")},
		{"create lounge", send(wire.Frame{Type: wire.TypeCreate, Room: "lounge"})},
		{"create", usage("create ROOM")},
		{"create a b", usage("create ROOM")},
		{"enter lounge", send(wire.Frame{Type: wire.TypeEnter, Room: "lounge"})},
		{"enter", usage("enter ROOM")},
		{"enter lounge now", usage("enter ROOM")},
		{"who", send(wire.Frame{Type: wire.TypeWho})},
		{" who ", send(wire.Frame{Type: wire.TypeWho})},
		{"who is there", say("who is there")},
		{"leave", send(wire.Frame{Type: wire.TypeLeave})},
		{"leave me alone", say("leave me alone")},
		{"rooms", send(wire.Frame{Type: wire.TypeRooms})},
		{"help", Command{Kind: CmdHelp}},
		{"help me", say("help me")},
		{"logout", Command{Kind: CmdLogout}},
		{"logout now please", Command{Kind: CmdLogout}},
		{"Login alice", say("Login alice")},
		{"tell bob psst", send(wire.Frame{Type: wire.TypeTell, To: "bob", Text: "psst"})},
		{"tell  bob  two  words ", send(wire.Frame{Type: wire.TypeTell, To: "bob", Text: "two  words "})},
		{"msg bob psst", send(wire.Frame{Type: wire.TypeTell, To: "bob", Text: "psst"})},
		{"sendto bob psst", send(wire.Frame{Type: wire.TypeTell, To: "bob", Text: "psst"})},
		{"tell bob", usage("tell NAME TEXT")},
		{"tell", usage("tell NAME TEXT")},
		{"tell bob " + long, Command{Kind: CmdReport, Text: "message not sent: 65536 characters, the limit is 65535"}},
		{"names", Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeWho}, View: viewNames}},
		{"names please", say("names please")},
		{long, Command{Kind: CmdReport, Text: "message not sent: 65536 characters, the limit is 65535"}},
	}
	for _, tt := range tests {
		got := roomsMode{}.Parse(tt.line)
		if got.Kind != tt.want.Kind || got.Name != tt.want.Name || got.Text != tt.want.Text || got.View != tt.want.View ||
			got.Frame.Type != tt.want.Frame.Type || got.Frame.Room != tt.want.Frame.Room || got.Frame.Text != tt.want.Frame.Text ||
			got.Frame.To != tt.want.Frame.To {
			name := tt.line
			if len(name) > 40 {
				name = name[:40] + "..."
			}
			t.Errorf("Parse(%q) = %+v, want %+v", name, got, tt.want)
		}
	}
}

func TestRoomsShow(t *testing.T) {
	at := time.Date(2026, 11, 21, 14, 3, 7, 0, time.Local)
	ms := at.UnixMilli()
	now := at.Add(time.Hour)
	req := func(ty wire.Type) *wire.Frame { return &wire.Frame{Type: ty} }
	tests := []showCase{
		{"room message", wire.Frame{Type: wire.TypeMessage, From: "alice", Text: "hello", Time: ms}, nil,
			[]string{"alice 14:03:07 hello"}},
		{"private message", wire.Frame{Type: wire.TypePrivate, From: "alice", To: "bob", Text: "psst", Time: ms}, nil,
			[]string{"alice 14:03:07 (private) psst"}},
		{"notice", wire.Frame{Type: wire.TypeNotice, From: "*", Code: wire.NoticeEntered, Name: "bob", Room: "lounge", Text: "bob entered lounge", Time: ms}, nil,
			[]string{"* 14:03:07 bob entered lounge"}},
		{"notice without text", wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeLost, Name: "bob", Time: ms}, nil,
			[]string{"* 14:03:07 contact with bob was lost"}},
		{"frame without time shows local time", wire.Frame{Type: wire.TypeMessage, From: "a", Text: "x"}, nil,
			[]string{"a 15:03:07 x"}},
		{"reply text", wire.Frame{Type: wire.TypeReply, Text: "welcome alice", Time: ms}, req(wire.TypeLogin),
			[]string{"* 14:03:07 welcome alice"}},
		{"error reply", wire.Frame{Type: wire.TypeReply, Code: wire.ErrNoSuchRoom, Text: "no room named x; create it with: create x", Time: ms}, req(wire.TypeEnter),
			[]string{"* 14:03:07 no room named x; create it with: create x"}},
		{"say ok prints nothing", wire.Frame{Type: wire.TypeReply, Seq: 4, Time: ms}, req(wire.TypeSay), nil},
		{"say refused", wire.Frame{Type: wire.TypeReply, Code: wire.ErrNotInRoom, Text: "you are not in a room; enter one with: enter ROOM", Time: ms}, req(wire.TypeSay),
			[]string{"* 14:03:07 you are not in a room; enter one with: enter ROOM"}},
		{"who", wire.Frame{Type: wire.TypeReply, Text: "2 users connected", Time: ms,
			Users: []wire.User{{Name: "alice", Room: "lounge"}, {Name: "bob"}}}, req(wire.TypeWho),
			[]string{"* 14:03:07 2 users connected", "* 14:03:07 alice is in lounge", "* 14:03:07 bob is in no room"}},
		{"who without text", wire.Frame{Type: wire.TypeReply, Time: ms, Users: []wire.User{{Name: "bob"}}}, req(wire.TypeWho),
			[]string{"* 14:03:07 1 user connected", "* 14:03:07 bob is in no room"}},
		{"rooms", wire.Frame{Type: wire.TypeReply, Text: "2 rooms", Time: ms,
			Rooms: []wire.Room{{Name: "attic", Members: 1}, {Name: "lounge", Members: 3}}}, req(wire.TypeRooms),
			[]string{"* 14:03:07 2 rooms", "* 14:03:07 attic has 1 member", "* 14:03:07 lounge has 3 members"}},
	}
	checkShow(t, roomsMode{}, now, tests)
	if got := (roomsMode{}).Report(at, "usage: login NAME"); got != "! 14:03:07 usage: login NAME" {
		t.Errorf("Report = %q", got)
	}
}

// TestRoomsShowView checks the names command's rendering of a Who reply:
// one line of names; anything else as Show has it.
func TestRoomsShowView(t *testing.T) {
	at := time.Date(2026, 11, 21, 14, 3, 7, 0, time.Local)
	ms := at.UnixMilli()
	who := &wire.Frame{Type: wire.TypeWho}
	tests := []struct {
		name string
		f    wire.Frame
		want []string
	}{
		{"names", wire.Frame{Type: wire.TypeReply, Text: "2 users connected", Time: ms,
			Users: []wire.User{{Name: "alice", Room: "lounge"}, {Name: "bob"}}},
			[]string{"* 14:03:07 alice bob"}},
		{"refused", wire.Frame{Type: wire.TypeReply, Code: wire.ErrNotLoggedIn, Text: "please log in first: login NAME", Time: ms},
			[]string{"* 14:03:07 please log in first: login NAME"}},
		{"nobody", wire.Frame{Type: wire.TypeReply, Text: "0 users connected", Time: ms},
			[]string{"* 14:03:07 0 users connected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roomsMode{}.ShowView(viewNames, &tt.f, who, at)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ShowView = %q, want %q", got, tt.want)
			}
		})
	}
}
