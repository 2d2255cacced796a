package client

import (
	"fmt"
	"strings"
	"time"

	"chat/internal/wire"
)

// Running a room from mode rooms: its topic, kicks, invitations and modes,
// and what a user says of themself (away, whois). The server's rules
// (docs/PROTOCOL.md) decide who may do what; the client words the
// requests, shows the answers, and forgets the room it was kicked out of.

// topicClear is the argument of topic that clears the room's topic: a
// topic alone shows it, so clearing needs a word of its own.
const topicClear = "-"

// parseChannel makes a request of a line of mode rooms whose first word is
// topic, kick, invite, mode, away or whois; words are the line's words.
// The requests about a room are about the user's (Command.InRoom).
func parseChannel(words []string, line string) Command {
	usage := func(u string) Command { return Command{Kind: CmdReport, Text: "usage: " + u} }
	send := func(f wire.Frame) Command { return Command{Kind: CmdSend, Frame: f} }
	inRoom := func(f wire.Frame) Command { return Command{Kind: CmdSend, Frame: f, InRoom: true} }
	_, rest := cutWord(line)
	rest = trimRightSpace(rest)
	if n := runeCount(rest); n > wire.MaxTextRunes {
		return Command{Kind: CmdReport, Text: fmt.Sprintf("%s not sent: %d characters, the limit is %d", words[0], n, wire.MaxTextRunes)}
	}
	switch words[0] {
	case "topic":
		// topic: show it; topic -: clear it; topic TEXT: set it.
		switch rest {
		case "":
			return inRoom(wire.Frame{Type: wire.TypeTopic})
		case topicClear:
			return inRoom(wire.Frame{Type: wire.TypeTopic, Code: wire.TopicSet})
		}
		return inRoom(wire.Frame{Type: wire.TypeTopic, Code: wire.TopicSet, Text: rest})
	case "kick":
		// kick NAME [REASON]
		name, reason := cutWord(rest)
		if name == "" {
			return usage("kick NAME [REASON]")
		}
		return inRoom(wire.Frame{Type: wire.TypeKick, Name: name, Text: reason})
	case "invite":
		// invite NAME
		if len(words) != 2 {
			return usage("invite NAME")
		}
		return inRoom(wire.Frame{Type: wire.TypeInvite, Name: words[1]})
	case "mode":
		// mode [CHANGES]: IRC's mode letters and their arguments, passed
		// on as typed; alone, the room's modes.
		return inRoom(wire.Frame{Type: wire.TypeMode, Mode: strings.Join(words[1:], " ")})
	case "away":
		// away [TEXT]: alone, back (as IRC's AWAY).
		return send(wire.Frame{Type: wire.TypeAway, Text: rest})
	case "whois":
		// whois NAME
		if len(words) != 2 {
			return usage("whois NAME")
		}
		return send(wire.Frame{Type: wire.TypeWhois, Name: words[1]})
	}
	return Command{Kind: CmdReport, Text: "unknown command " + clip(words[0])}
}

// whoLine is one user of a who reply: "alice is in lounge (operator);
// away: lunch", "bob is in no room".
func whoLine(u wire.User) string {
	line := u.Name + " is in no room"
	if u.Room != "" {
		line = u.Name + " is in " + u.Room + standing(u.Prefix)
	}
	if u.Away != "" {
		line += "; away: " + u.Away
	}
	return line
}

// standing words a member's prefix in a room: " (operator)" for "@",
// " (voiced)" for "+", nothing otherwise.
func standing(prefix string) string {
	switch prefix {
	case "@":
		return " (operator)"
	case "+":
		return " (voiced)"
	}
	return ""
}

// enterLines shows the answer to an Enter: the server's text, then the
// room's topic on a line of its own, if one is set. The server's text may
// end with the topic already ("; topic: TEXT"), which is then left to the
// topic's own line.
func enterLines(f, req *wire.Frame, now time.Time, server func(string) string) []string {
	if f.Words == "" {
		if f.Text == "" {
			return nil
		}
		return []string{server(f.Text)}
	}
	room := textOr(f.Room, req.Room)
	text := strings.TrimSuffix(textOr(f.Text, "you entered "+room), "; topic: "+f.Words)
	return []string{server(text), server("topic of " + room + ": " + f.Words + setBy(f, now))}
}

// topicLines shows the answer to a Topic request. One that set the topic
// shows nothing: the room's notice, which reaches the setter too, has said
// it.
func topicLines(f, req *wire.Frame, now time.Time, server func(string) string) []string {
	if req.Code == wire.TopicSet {
		return nil
	}
	room := textOr(f.Room, req.Room)
	if f.Words == "" {
		return []string{server(textOr(f.Text, "no topic is set in "+room))}
	}
	return []string{server(textOr(f.Text, "the topic of "+room+" is: "+f.Words) + setBy(f, now))}
}

// setBy says who set a topic and when: " (set by alice at 14:03:07)", the
// date too when it was not today; nothing when the frame does not say.
func setBy(f *wire.Frame, now time.Time) string {
	if f.By == "" {
		return ""
	}
	if f.At == 0 {
		return " (set by " + f.By + ")"
	}
	return " (set by " + f.By + " " + when(time.UnixMilli(f.At), now) + ")"
}

// when says when t was, seen at now: "at 14:03:07" today, "on 2026-12-06
// at 14:03:07" another day (local time).
func when(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return "at " + clock(t)
	}
	return "on " + t.Format("2006-01-02") + " at " + clock(t)
}

// whoisLines shows the answer to a Whois: the server's text, then the
// user's rooms (with their standing in each), real name, server operator
// status and away message.
func whoisLines(f, req *wire.Frame, server func(string) string) []string {
	name := req.Name
	var u wire.User
	if len(f.Users) > 0 {
		u = f.Users[0]
		name = textOr(u.Name, name)
	}
	lines := []string{server(textOr(f.Text, name+" is connected"))}
	rooms := make([]string, 0, len(f.Rooms))
	for _, r := range f.Rooms {
		rooms = append(rooms, r.Name+standing(r.Prefix))
	}
	if len(rooms) == 0 {
		lines = append(lines, server(name+" is in no room"))
	} else {
		lines = append(lines, server(name+" is in "+strings.Join(rooms, ", ")))
	}
	if u.Real != "" {
		lines = append(lines, server(name+"'s real name is "+u.Real))
	}
	if u.Prefix == "*" {
		lines = append(lines, server(name+" is a server operator"))
	}
	if u.Away != "" {
		lines = append(lines, server(name+" is away: "+u.Away))
	}
	return lines
}

// inParens is " (words)", or nothing when there are no words: a kick's
// reason, the words someone left with.
func inParens(words string) string {
	if words == "" {
		return ""
	}
	return " (" + words + ")"
}

// notice shows a notice of the server. A notice that the user was kicked
// out of their room also takes the client out of it, as a leave would:
// it is worded to the user ("bob kicked you out of lounge"), and the room
// is not entered again after a reconnection.
func (c *Client) notice(f *wire.Frame, now time.Time) {
	if f.Code == wire.NoticeKicked && c.loggedIn && f.Name == c.user {
		c.kickedOut(f.Room)
		you := *f
		you.Text = kickedYouText(f)
		f = &you
	}
	for _, l := range c.mode.Show(f, nil, now) {
		c.r.Print(l)
	}
}

// kickedOut forgets room, if it is the user's: the user is in no room,
// and a re-entry under way ends there.
func (c *Client) kickedOut(room string) {
	if c.room == "" || !sameRoom(room, c.room) {
		return
	}
	c.room, c.lastSeq = "", 0
	c.finishResume()
}

// kickedYouText is the notice of the user's own kick, worded to them:
// "bob kicked you out of lounge (reason)".
func kickedYouText(f *wire.Frame) string {
	return textOr(f.By, "an operator") + " kicked you out of " + f.Room + inParens(f.Words)
}

// sameRoom reports whether two room names are one, as the server
// compares them (wire.FoldName). User names are compared exactly.
func sameRoom(a, b string) bool { return wire.FoldName(a) == wire.FoldName(b) }
