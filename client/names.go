package client

import (
	"fmt"
	"strings"
	"time"

	"chat/internal/wire"
)

// namesMode is the front-end of seed 001 (S1.*): claim a name without a
// password, list the names, send private messages, exit. Its output is the
// seed's, exactly and without timestamps: HELLO A, "A B", A SENT TEXT. What
// it shows is specified in docs/DESIGN.md, "What the client shows (modes
// names and course)".
//
// Command words are case-insensitive (the seed writes them in capitals;
// lower case is accepted too). The commands of the other modes that mean
// the same here are accepted as well: login (as NAME), who, names and list
// (as GETNAMES), tell and sendto (as MSG); logout gives the name up and
// keeps the connection, as in course.
type namesMode struct{}

// The prompt is empty: the seed's client shows the typed characters and
// nothing else on the input line.
func (namesMode) Prompt() string { return "" }

func (namesMode) QuietExit() bool { return true }

func (namesMode) Parse(line string) Command {
	cmd, rest := cutWord(line)
	report := func(text string) Command { return Command{Kind: CmdReport, Text: text} }
	send := func(f wire.Frame) Command { return Command{Kind: CmdSend, Frame: f} }
	alone := strings.TrimSpace(rest) == ""
	switch strings.ToUpper(cmd) {
	case "":
		return Command{}
	case "NAME", "LOGIN":
		words := strings.Fields(rest)
		if len(words) != 1 {
			return report("usage: NAME YOURNAME (one word)")
		}
		if n := runeCount(words[0]); n > wire.MaxNameRunes {
			return report(fmt.Sprintf("name not set: a name has at most %d characters, this one has %d", wire.MaxNameRunes, n))
		}
		return send(wire.Frame{Type: wire.TypeClaim, Name: words[0]})
	case "GETNAMES", "WHO", "NAMES", "LIST":
		if !alone {
			return report("usage: GETNAMES")
		}
		return send(wire.Frame{Type: wire.TypeWho})
	case "MSG", "TELL", "SENDTO":
		to, text := cutWord(rest)
		if to == "" || text == "" {
			return report("usage: MSG NAME TEXT")
		}
		if n := runeCount(to); n > wire.MaxNameRunes {
			return report(fmt.Sprintf("message not sent: a name has at most %d characters, this one has %d", wire.MaxNameRunes, n))
		}
		if n := runeCount(text); n > wire.MaxTextRunes {
			return report(fmt.Sprintf("message not sent: %d characters, the limit is %d", n, wire.MaxTextRunes))
		}
		return send(wire.Frame{Type: wire.TypeTell, To: to, Text: text})
	case "EXIT":
		if !alone {
			return report("usage: EXIT")
		}
		return Command{Kind: CmdLogout}
	case "LOGOUT":
		if !alone {
			return report("usage: LOGOUT")
		}
		return send(wire.Frame{Type: wire.TypeLogout})
	case "HELP":
		if !alone {
			return report("usage: HELP")
		}
		return Command{Kind: CmdHelp}
	case "GETFILE", "GET":
		// A file from another user (seed 002).
		return fetchCommand("GETFILE NAME FILE", rest)
	}
	return report(fmt.Sprintf("unknown command %s: the commands are NAME, GETNAMES, MSG, EXIT and HELP", clip(cmd)))
}

// Report: the client's own lines start with "!", as in rooms, but without
// the time: nothing in this mode shows one.
func (namesMode) Report(_ time.Time, text string) string { return "! " + text }

func (namesMode) Help() []string {
	return []string{
		"commands: NAME A (take the name A), GETNAMES (the names connected), MSG B TEXT (send TEXT to B), EXIT",
		"also: LOGIN A (as NAME), WHO, NAMES or LIST (as GETNAMES), TELL or SENDTO B TEXT (as MSG), LOGOUT (give the name up, stay connected), HELP; upper or lower case",
		"GETFILE B FILE (or GET) asks B for FILE, stored in this directory (or -download DIR); others get your files from -share DIR",
		"messages to you show as: A SENT TEXT",
		"keys: Backspace, Ctrl-U, Ctrl-W, arrows, Home/End, Up/Down for history, Ctrl-L redraws, Ctrl-D exits, Ctrl-C quits",
	}
}

// guestsClosedText replaces the server's answer to a claim on a server that
// allows no guests: its advice (log in with a password) is not something
// these modes do.
const guestsClosedText = "this server allows no names without a password, so NAME cannot work here (the server must be started with -guests)"

func (namesMode) Show(f *wire.Frame, req *wire.Frame, now time.Time) []string {
	server := func(text string) []string { return []string{wire.ServerName + " " + text} }
	switch f.Type {
	case wire.TypePrivate:
		return []string{f.From + " SENT " + f.Text}
	case wire.TypeMessage:
		// Not reachable from this mode (it enters no room), but a room
		// message must still look like one: the room, then the seed's form.
		if f.Room == "" {
			// A broadcast (mode menu's message): to everyone.
			return []string{f.From + " SENT " + f.Text}
		}
		return []string{"[" + f.Room + "] " + f.From + " SENT " + f.Text}
	case wire.TypeNotice:
		return server(noticeText(f))
	case wire.TypeReply:
	default:
		return nil
	}
	var reqType wire.Type
	if req != nil {
		reqType = req.Type
	}
	if f.Code != wire.OK {
		if f.Code == wire.ErrGuestsClosed {
			return server(guestsClosedText)
		}
		return server(textOr(refusalText(f), fmt.Sprintf("the server refused the %s request (code %d)", reqType, f.Code)))
	}
	switch reqType {
	case wire.TypeClaim:
		return []string{"HELLO " + textOr(f.Name, req.Name)}
	case wire.TypeWho:
		if len(f.Users) == 0 {
			return server(textOr(f.Text, "nobody is connected"))
		}
		return []string{joinNames(f.Users)}
	case wire.TypeTell, wire.TypeHello, wire.TypePing:
		// The seed shows nothing for a message that went through.
		return nil
	}
	if f.Text == "" {
		return nil
	}
	return server(f.Text)
}

// clip shortens what the user typed for quoting it back in an error: a
// runaway line is not worth printing twice.
func clip(s string) string {
	const limit = 24
	if runeCount(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit]) + "..."
}

// refusalText is the server's text for a refused request, with advice these
// modes cannot follow replaced. A registered name is refused with "the name
// alice belongs to a registered user; log in with: login alice", but a
// password login is not something modes names, course and menu do (their
// LOGIN or login claims a name), so the advice becomes "choose another
// name".
func refusalText(f *wire.Frame) string {
	if f.Code != wire.ErrNameTaken {
		return f.Text
	}
	if i := strings.Index(f.Text, "; log in with: "); i >= 0 {
		return f.Text[:i] + "; choose another name"
	}
	return f.Text
}
