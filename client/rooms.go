package client

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"chat/internal/wire"
)

// roomsMode is the front-end of seed 000 (S0.*), the default mode: login with
// a password, rooms, who, and every other line a message to the user's room.
// Its output is specified in docs/DESIGN.md, "What the client shows".
type roomsMode struct{}

func (roomsMode) Prompt() string { return "> " }

func (roomsMode) Parse(line string) Command {
	words := strings.Fields(line)
	if len(words) == 0 {
		return Command{}
	}
	usage := func(u string) Command { return Command{Kind: CmdReport, Text: "usage: " + u} }
	switch words[0] {
	case "login":
		if len(words) != 2 {
			return usage("login NAME")
		}
		return Command{Kind: CmdLogin, Name: words[1]}
	case "create":
		if len(words) != 2 {
			return usage("create ROOM")
		}
		return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeCreate, Room: words[1]}}
	case "enter":
		if len(words) != 2 {
			return usage("enter ROOM")
		}
		return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeEnter, Room: words[1]}}
	case "logout":
		// The seed: "if the first word on the line is logout".
		return Command{Kind: CmdLogout}
	case "get", "fetch":
		// A file from another user: get OWNER FILE. The file's
		// name is the rest of the line, spaces and all.
		_, rest := cutWord(line)
		return fetchCommand(words[0]+" OWNER FILE", rest)
	case "tell", "msg", "sendto":
		// A private message, as in modes names (MSG) and course (sendto).
		_, rest := cutWord(line)
		to, text := cutWord(rest)
		if to == "" || text == "" {
			return usage(words[0] + " NAME TEXT")
		}
		if n := runeCount(text); n > wire.MaxTextRunes {
			return Command{Kind: CmdReport, Text: fmt.Sprintf("message not sent: %d characters, the limit is %d", n, wire.MaxTextRunes)}
		}
		return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeTell, To: to, Text: text}}
	case "topic", "kick", "invite", "mode", "away", "whois":
		// Running a room and saying who you are (channel.go).
		return parseChannel(words, line)
	case "history":
		// Pages of the room's history (history.go).
		return parseHistory(words)
	}
	if len(words) == 1 {
		// These are commands only alone on the line; "who is there" is a
		// message.
		switch words[0] {
		case "who":
			return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeWho}}
		case "leave":
			return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeLeave}}
		case "rooms":
			return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeRooms}}
		case "names":
			// The names list of modes names and course: who, shown as one
			// line of names (ShowView).
			return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeWho}, View: viewNames}
		case "help":
			return Command{Kind: CmdHelp}
		}
	}
	if n := utf8.RuneCountInString(line); n > wire.MaxTextRunes {
		return Command{Kind: CmdReport, Text: fmt.Sprintf("message not sent: %d characters, the limit is %d", n, wire.MaxTextRunes)}
	}
	return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeSay, Text: line}}
}

func (roomsMode) Report(now time.Time, text string) string {
	return "! " + clock(now) + " " + text
}

func (roomsMode) Help() []string {
	return []string{
		"commands: login NAME, create ROOM, enter ROOM, leave, who, names, rooms, history [N], history more, tell NAME TEXT, get OWNER FILE, topic [TEXT|-], kick NAME [REASON], invite NAME, mode [CHANGES], away [TEXT], whois NAME, help, logout",
		"history [N] shows the last N messages of your room (a screenful by default), each marked with " + trimRightSpace(pageMark) + " so none is taken for a new one; history more shows those before them",
		"get asks OWNER for FILE; it is stored in this directory (or -download DIR); others get your files from -share DIR",
		"tell (or msg, sendto) sends TEXT to NAME only; names lists the connected names on one line",
		"in your room: topic shows its topic, topic TEXT sets it, topic - clears it; kick NAME [REASON] puts NAME out of it; invite NAME lets NAME in, even when it is invite only",
		"a room's creator is its operator; only operators kick, and set the topic unless mode -t lets everyone; mode shows the room's modes, mode +o NAME makes NAME an operator too (IRC's mode letters: o v i m n s t k l b)",
		"away TEXT marks you as away (others see TEXT in who and whois, and when they tell you something); away alone: back; whois NAME says who NAME is and where",
		"any other line is a message to everyone else in your room",
		"keys: Backspace, Ctrl-U, Ctrl-W, arrows, Home/End, Up/Down for history, Ctrl-L redraws, Ctrl-D logs out, Ctrl-C quits",
	}
}

func (roomsMode) Show(f *wire.Frame, req *wire.Frame, now time.Time) []string {
	at := clock(frameTime(f.Time, now))
	server := func(text string) string { return wire.ServerName + " " + at + " " + text }
	switch f.Type {
	case wire.TypeMessage:
		return []string{f.From + " " + at + " " + f.Text}
	case wire.TypePrivate:
		return []string{f.From + " " + at + " (private) " + f.Text}
	case wire.TypeNotice:
		return []string{server(noticeText(f))}
	case wire.TypeReply:
		return showReply(f, req, now, server)
	}
	return nil
}

// ShowMissed shows a room message said while the client was disconnected
// and replayed after it re-entered the room, marked as such like a private
// message is: "carol 14:03:07 (missed) TEXT".
func (roomsMode) ShowMissed(f *wire.Frame, now time.Time) []string {
	return []string{f.From + " " + clock(frameTime(f.Time, now)) + " (missed) " + f.Text}
}

// pageMark starts each message of a page of history, apart from live
// messages: "│ carol 14:03:07 TEXT".
const pageMark = "│ "

// ShowPage shows a page of the room's history: a first line that says
// what it is, each message marked with pageMark, and a last line that says
// how to see older ones, or why there are none.
func (roomsMode) ShowPage(p Page, now time.Time) []string {
	server := func(text string) string { return wire.ServerName + " " + clock(frameTime(p.Time, now)) + " " + text }
	k := len(p.Msgs)
	var head string
	switch {
	case p.Unread > 0 && k == 0:
		return []string{server(sinceLastHere(p) + "; the server keeps none of them")}
	case p.Unread > uint64(k) && k == 1:
		head = sinceLastHere(p) + "; the last one:"
	case p.Unread > uint64(k):
		head = fmt.Sprintf("%s; the last %d:", sinceLastHere(p), k)
	case p.Unread > 0:
		head = sinceLastHere(p) + ":"
	case k == 0 && p.Before <= 1 && p.Earlier:
		return []string{server("no older messages: that was the first message of " + p.Room)}
	case k == 0 && p.Before <= 1:
		return []string{server("nothing has been said in " + p.Room + " yet")}
	case k == 0 && p.Earlier:
		return []string{server("no older messages: the server keeps none older of " + p.Room)}
	case k == 0:
		return []string{server("the server keeps no messages of " + p.Room)}
	case p.Earlier:
		head = "history of " + p.Room + ": " + wire.Plural(k, "earlier message", "earlier messages")
	case k == 1:
		head = "history of " + p.Room + ": the last message"
	default:
		head = fmt.Sprintf("history of %s: the last %d messages", p.Room, k)
	}
	lines := make([]string, 0, k+2)
	lines = append(lines, server(head))
	for i := range p.Msgs {
		m := &p.Msgs[i]
		lines = append(lines, pageMark+m.From+" "+stamp(frameTime(m.Time, now), now)+" "+m.Text)
	}
	switch {
	case p.Msgs[0].Seq == 1:
		lines = append(lines, server("end of history: that is the first message of "+p.Room))
	case k < p.Asked:
		lines = append(lines, server("end of history: the server keeps none older of "+p.Room))
	default:
		lines = append(lines, server("end of history; older messages: history more"))
	}
	return lines
}

// sinceLastHere says how many messages were said in the page's room since
// the user was last in it: "42 messages in lounge since you were last
// here".
func sinceLastHere(p Page) string {
	return wire.Plural(int(p.Unread), "message", "messages") + " in " + p.Room + " since you were last here"
}

// stamp is when a message of a page was said, seen at now: its time, and
// its date too when that was not today (local time).
func stamp(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return clock(t)
	}
	return t.Format("2006-01-02 15:04:05")
}

// viewNames is the View of the names command: a Who reply shown as one line
// of names.
const viewNames = "names"

func (m roomsMode) ShowView(view string, f *wire.Frame, req *wire.Frame, now time.Time) []string {
	if view != viewNames || f.Type != wire.TypeReply || f.Code != wire.OK || len(f.Users) == 0 {
		return m.Show(f, req, now)
	}
	return []string{wire.ServerName + " " + clock(frameTime(f.Time, now)) + " " + joinNames(f.Users)}
}

func showReply(f *wire.Frame, req *wire.Frame, now time.Time, server func(string) string) []string {
	var reqType wire.Type
	if req != nil {
		reqType = req.Type
	}
	if f.Code != wire.OK {
		text := f.Text
		if text == "" {
			text = fmt.Sprintf("the server refused the %s request (code %d)", reqType, f.Code)
		}
		return []string{server(text)}
	}
	switch reqType {
	case wire.TypeSay, wire.TypePing, wire.TypeHello:
		// A message that went through needs no news; the other two are the
		// client's own business.
		if f.Text == "" {
			return nil
		}
	case wire.TypeWho:
		head := f.Text
		if head == "" {
			head = wire.Plural(len(f.Users), "user", "users") + " connected"
		}
		lines := []string{server(head)}
		for _, u := range f.Users {
			lines = append(lines, server(whoLine(u)))
		}
		return lines
	case wire.TypeRooms:
		head := f.Text
		if head == "" {
			head = wire.Plural(len(f.Rooms), "room", "rooms")
		}
		lines := []string{server(head)}
		for _, r := range f.Rooms {
			line := r.Name + " has " + wire.Plural(int(r.Members), "member", "members")
			if r.Topic != "" {
				line += "; topic: " + r.Topic
			}
			lines = append(lines, server(line))
		}
		return lines
	case wire.TypeEnter:
		return enterLines(f, req, now, server)
	case wire.TypeTopic:
		return topicLines(f, req, now, server)
	case wire.TypeKick:
		// The room's notice, which reaches the kicker too, has said it.
		return nil
	case wire.TypeWhois:
		return whoisLines(f, req, server)
	}
	if f.Text == "" {
		return nil
	}
	return []string{server(f.Text)}
}

// noticeText is a notice's text, or one made from its kind when the server
// sent none.
func noticeText(f *wire.Frame) string {
	if f.Text != "" {
		return f.Text
	}
	switch f.Code {
	case wire.NoticeEntered:
		return f.Name + " entered " + f.Room
	case wire.NoticeLeft:
		return f.Name + " left " + f.Room
	case wire.NoticeLost:
		return "contact with " + f.Name + " was lost"
	case wire.NoticeShutdown:
		return "the server is shutting down"
	case wire.NoticeQuit:
		return f.Name + " left " + f.Room + inParens(f.Words)
	case wire.NoticeTopic:
		if f.Words == "" {
			return f.By + " cleared the topic of " + f.Room
		}
		return f.By + " set the topic of " + f.Room + " to: " + f.Words
	case wire.NoticeKicked:
		return f.By + " kicked " + f.Name + " out of " + f.Room + inParens(f.Words)
	case wire.NoticeMode:
		return f.By + " set mode " + f.Mode + " on " + f.Room
	case wire.NoticeInvited:
		return f.By + " invites you to " + f.Room
	case wire.NoticeRenamed:
		return f.Name + " is now known as " + f.To
	}
	return fmt.Sprintf("notice %d", f.Code)
}
