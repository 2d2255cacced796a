package client

import (
	"strings"
	"time"

	"chat/internal/wire"
)

// The exact lines of seed 003 (the course's protocol), which its tests
// compare byte for byte.
const (
	courseBadUsername    = "Bad username"
	courseBadMessage     = "Bad message"
	courseInvalidCommand = "Invalid command"
	courseSuccess        = "Success"
	courseFailure        = "Failure"
)

// courseMode is the front-end of seed 003 (S3.*): login USER (a name claimed
// without a password), list, sendto USER TEXT, logout (the connection
// stays), exit. Commands are lower case, as in the seed. A line the client
// rejects prints one of the seed's errors and sends nothing; every
// request's answer prints Success or Failure, but a successful list
// prints the names. What it shows is specified in docs/DESIGN.md, "What the
// client shows (modes names and course)".
//
// The other modes' commands that mean the same here are accepted under the
// same rules: name (as login), who, names and getnames (as list), tell and
// msg (as sendto), and help.
type courseMode struct{}

// The prompt is empty: the seed's client prints only its own lines.
func (courseMode) Prompt() string { return "" }

func (courseMode) QuietExit() bool { return true }

func (courseMode) Parse(line string) Command {
	cmd, rest := cutWord(line)
	fixed := func(text string) Command { return Command{Kind: CmdPrint, Text: text} }
	send := func(f wire.Frame) Command { return Command{Kind: CmdSend, Frame: f} }
	// Parameters after a command that takes none make the line invalid.
	alone := strings.TrimSpace(rest) == ""
	switch cmd {
	case "":
		return Command{}
	case "login", "name":
		// One word, at most 20 characters; missing, too long or followed
		// by more words is a bad username.
		words := strings.Fields(rest)
		if len(words) != 1 || runeCount(words[0]) > wire.MaxNameRunes {
			return fixed(courseBadUsername)
		}
		return send(wire.Frame{Type: wire.TypeClaim, Name: words[0]})
	case "list", "who", "names", "getnames":
		if !alone {
			return fixed(courseInvalidCommand)
		}
		return send(wire.Frame{Type: wire.TypeWho})
	case "sendto", "tell", "msg":
		// A missing user or text, or a user over 20 characters, is a bad
		// username; a text over 65535 characters a bad message.
		to, text := cutWord(rest)
		if to == "" || text == "" || runeCount(to) > wire.MaxNameRunes {
			return fixed(courseBadUsername)
		}
		if runeCount(text) > wire.MaxTextRunes {
			return fixed(courseBadMessage)
		}
		return send(wire.Frame{Type: wire.TypeTell, To: to, Text: text})
	case "logout":
		// Logout keeps the connection: a request like any other.
		if !alone {
			return fixed(courseInvalidCommand)
		}
		return send(wire.Frame{Type: wire.TypeLogout})
	case "exit":
		if !alone {
			return fixed(courseInvalidCommand)
		}
		return Command{Kind: CmdLogout}
	case "help":
		if !alone {
			return fixed(courseInvalidCommand)
		}
		return Command{Kind: CmdHelp}
	case "getfile", "get":
		// A file from another user (seed 002): not one of the
		// seed's commands, so its errors are the client's own lines.
		return fetchCommand("getfile USER FILE", rest)
	}
	return fixed(courseInvalidCommand)
}

// Report: the client's own lines (connection trouble, help) start with "!"
// so that they never look like the seed's lines.
func (courseMode) Report(_ time.Time, text string) string { return "! " + text }

func (courseMode) Help() []string {
	return []string{
		"commands: login USER, list, sendto USER TEXT, logout (stay connected), exit",
		"also: name USER (as login), who, names or getnames (as list), tell or msg USER TEXT (as sendto), help",
		"getfile USER FILE (or get) asks USER for FILE, stored in this directory (or -download DIR); others get your files from -share DIR",
		"messages to you show as: USER: TEXT",
		"keys: Backspace, Ctrl-U, Ctrl-W, arrows, Home/End, Up/Down for history, Ctrl-L redraws, Ctrl-D exits, Ctrl-C quits",
	}
}

func (courseMode) Show(f *wire.Frame, req *wire.Frame, now time.Time) []string {
	// A room message cannot reach this mode (it enters no room); if one
	// did, it is a message from a user like any other.
	if lines, ok := showUnasked(f, req); ok {
		return lines
	}
	switch {
	case req.Type == wire.TypeHello || req.Type == wire.TypePing:
		// The client's own business, not a command's answer.
		return nil
	case f.Code != wire.OK:
		return []string{courseFailure}
	case req.Type == wire.TypeWho:
		// The LIST answer: the logged-in users on one line.
		return []string{joinNames(f.Users)}
	}
	return []string{courseSuccess}
}
