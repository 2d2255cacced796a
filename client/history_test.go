package client

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

func TestParseHistory(t *testing.T) {
	hist := func(n int, more bool) Command {
		return Command{Kind: CmdHistory, History: HistoryAsk{Count: n, More: more}}
	}
	usage := Command{Kind: CmdReport, Text: "usage: history [N] (N from 1 to 1000), or history more"}
	checkParse(t, roomsMode{}, []parseCase{
		{"history", hist(0, false)},
		{"  history  ", hist(0, false)},
		{"history 10", hist(10, false)},
		{"history 1", hist(1, false)},
		{"history 1000", hist(wire.MaxHistoryPage, false)}, // the protocol's bound of a page
		{"history more", hist(0, true)},
		{" history   more ", hist(0, true)},
		{"history 0", usage},
		{"history -3", usage},
		{"history 1001", usage},
		{"history 99999999999999999999", usage},
		{"history ten", usage},
		{"history 1.5", usage},
		{"history More", usage},
		{"history 10 20", usage},
		{"history more 10", usage},
		{"history of the room", usage}, // the word is always the command
		{"History 10", Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeSay, Text: "History 10"}}},
	})
}

func TestRoomsShowPage(t *testing.T) {
	at := time.Date(2026, 11, 21, 14, 3, 7, 0, time.Local)
	now := at.Add(time.Hour)
	msgs := func(from, to uint64) []wire.Frame {
		var fs []wire.Frame
		for s := from; s <= to; s++ {
			fs = append(fs, wire.Frame{Type: wire.TypeMessage, From: "carol", Room: "lounge", Seq: s, Text: fmt.Sprintf("m%d", s), Time: at.UnixMilli()})
		}
		return fs
	}
	marked := func(from, to uint64) []string {
		var ls []string
		for s := from; s <= to; s++ {
			ls = append(ls, fmt.Sprintf("│ carol 14:03:07 m%d", s))
		}
		return ls
	}
	lines := func(parts ...any) []string {
		var ls []string
		for _, p := range parts {
			switch p := p.(type) {
			case string:
				ls = append(ls, "* 15:03:07 "+p)
			case []string:
				ls = append(ls, p...)
			}
		}
		return ls
	}
	const more = "end of history; older messages: history more"
	yesterday := wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Seq: 7, Text: "old", Time: at.AddDate(0, 0, -1).UnixMilli()}
	tests := []struct {
		name string
		p    Page
		want []string
	}{
		{"latest", Page{Room: "lounge", Msgs: msgs(21, 30), Asked: 10, Before: 31},
			lines("history of lounge: the last 10 messages", marked(21, 30), more)},
		{"latest, one", Page{Room: "lounge", Msgs: msgs(30, 30), Asked: 1, Before: 31},
			lines("history of lounge: the last message", marked(30, 30), more)},
		{"earlier", Page{Room: "lounge", Msgs: msgs(11, 20), Asked: 10, Before: 21, Earlier: true},
			lines("history of lounge: 10 earlier messages", marked(11, 20), more)},
		{"earlier, one", Page{Room: "lounge", Msgs: msgs(20, 20), Asked: 1, Before: 21, Earlier: true},
			lines("history of lounge: 1 earlier message", marked(20, 20), more)},
		{"reaches the first message", Page{Room: "lounge", Msgs: msgs(1, 10), Asked: 10, Before: 11, Earlier: true},
			lines("history of lounge: 10 earlier messages", marked(1, 10), "end of history: that is the first message of lounge")},
		{"fewer than asked, the first", Page{Room: "lounge", Msgs: msgs(1, 3), Asked: 27, Before: 4},
			lines("history of lounge: the last 3 messages", marked(1, 3), "end of history: that is the first message of lounge")},
		{"fewer than asked, older ones gone", Page{Room: "lounge", Msgs: msgs(45, 47), Asked: 10, Before: 48},
			lines("history of lounge: the last 3 messages", marked(45, 47), "end of history: the server keeps none older of lounge")},
		{"nothing said yet", Page{Room: "lounge", Asked: 10, Before: 1},
			lines("nothing has been said in lounge yet")},
		{"none kept", Page{Room: "lounge", Asked: 10, Before: 31},
			lines("the server keeps no messages of lounge")},
		{"nothing before the first", Page{Room: "lounge", Asked: 10, Before: 1, Earlier: true},
			lines("no older messages: that was the first message of lounge")},
		{"nothing older kept", Page{Room: "lounge", Asked: 10, Before: 45, Earlier: true},
			lines("no older messages: the server keeps none older of lounge")},
		{"another day shows the date", Page{Room: "lounge", Msgs: []wire.Frame{yesterday}, Asked: 5, Before: 8},
			lines("history of lounge: the last message", []string{"│ bob 2026-11-20 14:03:07 old"}, "end of history: the server keeps none older of lounge")},
		{"unread, the last 5", Page{Room: "lounge", Msgs: msgs(46, 50), Asked: 5, Before: 51, Unread: 42},
			lines("42 messages in lounge since you were last here; the last 5:", marked(46, 50), more)},
		{"unread, all of them", Page{Room: "lounge", Msgs: msgs(48, 50), Asked: 3, Before: 51, Unread: 3},
			lines("3 messages in lounge since you were last here:", marked(48, 50), more)},
		{"unread, one", Page{Room: "lounge", Msgs: msgs(50, 50), Asked: 1, Before: 51, Unread: 1},
			lines("1 message in lounge since you were last here:", marked(50, 50), more)},
		{"unread, one kept", Page{Room: "lounge", Msgs: msgs(50, 50), Asked: 5, Before: 51, Unread: 9},
			lines("9 messages in lounge since you were last here; the last one:", marked(50, 50), "end of history: the server keeps none older of lounge")},
		{"unread, none kept", Page{Room: "lounge", Asked: 5, Before: 51, Unread: 9},
			lines("9 messages in lounge since you were last here; the server keeps none of them")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Time = now.UnixMilli()
			if got := (roomsMode{}).ShowPage(tt.p, now); !slices.Equal(got, tt.want) {
				t.Errorf("ShowPage =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// sendPage answers a History page request as the server does: the
// messages from..to of room, then the reply with how many were sent.
func (p *peer) sendPage(req wire.Frame, from, to uint64) {
	p.t.Helper()
	n := uint64(0)
	for s := from; s <= to && from > 0; s++ {
		p.send(wire.Frame{Type: wire.TypeMessage, From: "carol", Room: req.Room, Seq: s, Text: fmt.Sprintf("said %d", s)})
		n++
	}
	p.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Text: fmt.Sprintf("%d messages from %s", n, req.Room), Room: req.Room, Seq: 31, Count: n})
}

// expectPage reads a History page request and checks what it asks for.
func (p *peer) expectPage(room string, before, count uint64) wire.Frame {
	p.t.Helper()
	req := p.expect(wire.TypeHistory)
	if req.Code != wire.HistoryBefore || req.Room != room || req.Seq != before || req.Count != count {
		p.t.Fatalf("history code %d room %q seq %d count %d, want %d %q %d %d", req.Code, req.Room, req.Seq, req.Count, wire.HistoryBefore, room, before, count)
	}
	return req
}

// TestHistoryPages pages back through a room of 30 messages: each page is
// marked and shown whole, a live message that arrives while a page is on
// its way is shown live and is not part of the page, and the first message
// of the room is said to be the first.
func TestHistoryPages(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done, p := loggedInRoom(t, srv, "lounge", 30)
	out.waitFor(t, "you entered lounge\n")

	typeLine(t, in, "history 10")
	req := p.expectPage("lounge", 31, 10) // up to the last message seen
	// Said after the client asked, before the server read the request.
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Seq: 31, Text: "live one"})
	p.sendPage(req, 21, 30)
	out.waitFor(t, "end of history; older messages: history more\n")

	typeLine(t, in, "history more")
	p.sendPage(p.expectPage("lounge", 21, 10), 11, 20)
	out.waitFor(t, "history of lounge: 10 earlier messages\n")
	typeLine(t, in, "history more")
	p.sendPage(p.expectPage("lounge", 11, 10), 1, 10)
	out.waitFor(t, "end of history: that is the first message of lounge\n")
	typeLine(t, in, "history more")
	p.sendPage(p.expectPage("lounge", 1, 10), 0, 0)
	out.waitFor(t, "no older messages: that was the first message of lounge\n")

	got := out.String()
	page := func(head string, from, to int) string {
		re := `\* ` + `\d\d:\d\d:\d\d ` + regexp.QuoteMeta(head) + `\n`
		for s := from; s <= to; s++ {
			re += fmt.Sprintf(`│ carol \d\d:\d\d:\d\d said %d\n`, s)
		}
		return re
	}
	want := regexp.MustCompile(`(?s)bob \d\d:\d\d:\d\d live one\n` +
		page("history of lounge: the last 10 messages", 21, 30) + `[^\n]*end of history; older messages: history more\n` +
		page("history of lounge: 10 earlier messages", 11, 20) + `[^\n]*end of history; older messages: history more\n` +
		page("history of lounge: 10 earlier messages", 1, 10) + `[^\n]*end of history: that is the first message of lounge\n`)
	if !want.MatchString(got) {
		t.Errorf("pages not shown whole, marked, oldest first, after the live message:\n%s", got)
	}
	if n := strings.Count(got, "live one"); n != 1 {
		t.Errorf("the live message shown %d times:\n%s", n, got)
	}

	// The live message counts as seen: the next latest page ends with it.
	// A live message amid the page's (a server that reads the page from
	// its store sends live messages meanwhile) is still live.
	typeLine(t, in, "history 3")
	req = p.expectPage("lounge", 32, 3)
	p.send(wire.Frame{Type: wire.TypeMessage, From: "carol", Room: "lounge", Seq: 29, Text: "said 29"})
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Seq: 32, Text: "live two"})
	for s := uint64(30); s <= 31; s++ {
		p.send(wire.Frame{Type: wire.TypeMessage, From: "carol", Room: "lounge", Seq: s, Text: fmt.Sprintf("said %d", s)})
	}
	p.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Room: "lounge", Seq: 32, Count: 3})
	out.waitFor(t, "history of lounge: the last 3 messages\n")
	want = regexp.MustCompile(`bob \d\d:\d\d:\d\d live two\n` +
		page("history of lounge: the last 3 messages", 29, 31) + `\* \d\d:\d\d:\d\d end of history; older messages: history more\n`)
	if got := out.String(); !want.MatchString(got) {
		t.Errorf("a live message amid a page's not shown live before it:\n%s", got)
	}

	in.Close()
	p.answer(wire.TypeLogout, "goodbye alice")
	exitStatus(t, done, out)
}

// TestHistoryRefusedInClient checks that a history outside a room, or with
// a bad N, is answered by the client and sends nothing, and that without a
// terminal a page is 20 messages.
func TestHistoryRefusedInClient(t *testing.T) {
	srv, in, out, done, p := connectedClient(t, roomsMode{})
	typeLine(t, in, "history")
	out.waitFor(t, "no history to show: you are not in a room; enter one with: enter ROOM\n")
	typeLine(t, in, "history 0")
	typeLine(t, in, "history 5 6")
	typeLine(t, in, "who")
	p.answer(wire.TypeWho, "0 users connected") // the next request is who
	if n := strings.Count(out.String(), "usage: history [N] (N from 1 to 1000), or history more\n"); n != 2 {
		t.Errorf("%d usage lines, want 2:\n%s", n, out.String())
	}
	_ = srv

	typeLine(t, in, "login alice")
	typeLine(t, in, "secret")
	p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	typeLine(t, in, "enter lounge")
	p.answer(wire.TypeEnter, "you entered lounge", func(f *wire.Frame) { f.Room, f.Seq = "lounge", 0 })
	typeLine(t, in, "history")
	p.sendPage(p.expectPage("lounge", 1, defaultPage), 0, 0)
	out.waitFor(t, "nothing has been said in lounge yet\n")
	// history more with nothing shown yet is the latest page.
	typeLine(t, in, "history more")
	p.sendPage(p.expectPage("lounge", 1, defaultPage), 0, 0)

	in.Close()
	p.answer(wire.TypeLogout, "goodbye alice")
	exitStatus(t, done, out)
}

// TestHistoryRefusedByServer shows the server's refusal of a page.
func TestHistoryRefusedByServer(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done, p := loggedInRoom(t, srv, "lounge", 30)
	typeLine(t, in, "history 5")
	p.refuse(wire.TypeHistory, wire.ErrUnavailable, "history is not available on this server")
	out.waitFor(t, "* ")
	out.waitFor(t, " history is not available on this server\n")
	in.Close()
	p.answer(wire.TypeLogout, "goodbye alice")
	exitStatus(t, done, out)
}

// TestEnterShowsUnread checks what entering a room shows of the messages
// said since the user was last there (the Enter reply's Count): the last
// five as a page, ending where the user entered; nothing when there are
// none; and nothing of the kind on the automatic re-entry of a
// reconnection, which asks History for what was missed instead.
func TestEnterShowsUnread(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done := runClient(t, srv.addr)
	typeLine(t, in, "login alice")
	typeLine(t, in, "secret")
	typeLine(t, in, "enter lounge")
	p := srv.next()
	p.hello()
	p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	p.answer(wire.TypeEnter, "you entered lounge", func(f *wire.Frame) { f.Room, f.Seq, f.Count = "lounge", 50, 42 })
	req := p.expectPage("lounge", 51, 5)
	// A live message on the way does not join the page.
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Seq: 51, Text: "live one"})
	p.sendPage(req, 46, 50)
	out.waitFor(t, "end of history; older messages: history more\n")
	want := regexp.MustCompile(`(?s)you entered lounge\nbob \d\d:\d\d:\d\d live one\n` +
		`\* \d\d:\d\d:\d\d 42 messages in lounge since you were last here; the last 5:\n` +
		`(│ carol \d\d:\d\d:\d\d said \d\d\n){5}\* `)
	if !want.MatchString(out.String()) {
		t.Errorf("the unread messages not shown as a page after entering:\n%s", out.String())
	}
	// history more goes on from the page shown on entering.
	typeLine(t, in, "history more")
	p.sendPage(p.expectPage("lounge", 46, defaultPage), 26, 45)

	// None since the last visit: nothing asked.
	typeLine(t, in, "enter attic")
	p.answer(wire.TypeEnter, "you entered attic", func(f *wire.Frame) { f.Room, f.Seq = "attic", 9 })
	typeLine(t, in, "hello")
	if say := p.expect(wire.TypeSay); say.Text != "hello" {
		t.Fatalf("sent %q, want the typed line", say.Text)
	}

	// The automatic re-entry: its Count asks no page; the History sent
	// is the replay of what was missed.
	p.c.Close()
	out.waitFor(t, "reconnecting in ")
	p = srv.next()
	p.hello()
	p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	p.answer(wire.TypeEnter, "you entered attic", func(f *wire.Frame) { f.Room, f.Seq, f.Count = "attic", 12, 3 })
	replay := p.expect(wire.TypeHistory)
	if replay.Code != 0 || replay.Seq != 9 {
		t.Fatalf("history code %d seq %d after the re-entry, want the replay after 9", replay.Code, replay.Seq)
	}
	for s := uint64(10); s <= 12; s++ {
		p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "attic", Seq: s, Text: fmt.Sprintf("missed %d", s)})
	}
	p.send(wire.Frame{Type: wire.TypeReply, ID: replay.ID, Text: "3 messages from attic", Room: "attic", Seq: 12, Count: 3})
	out.waitFor(t, "missed while disconnected: 3 messages from attic (shown above)\n")
	if got := out.String(); strings.Contains(got, "in attic since you were last here") {
		t.Errorf("the automatic re-entry showed the unread page:\n%s", got)
	}
	in.Close()
	p.answer(wire.TypeLogout, "goodbye alice")
	exitStatus(t, done, out)
}

// TestHistoryLostOnTheWay checks that a page the connection was lost
// before is reported, not forgotten, and not asked again by itself.
func TestHistoryLostOnTheWay(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done, p := loggedInRoom(t, srv, "lounge", 30)
	typeLine(t, in, "history 10")
	p.expectPage("lounge", 31, 10)
	p.c.Close()
	out.waitFor(t, "the history of lounge was not shown: the connection was lost before it came; ask again with: history\n")
	p = srv.next()
	p.hello()
	p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	p.answer(wire.TypeEnter, "you entered lounge", func(f *wire.Frame) { f.Room, f.Seq = "lounge", 30 })
	typeLine(t, in, "hello")
	if say := p.answer(wire.TypeSay, ""); say.Text != "hello" {
		t.Fatalf("sent %q, want the typed line (no page asked again)", say.Text)
	}
	in.Close()
	p.answer(wire.TypeLogout, "goodbye alice")
	exitStatus(t, done, out)
}
