package client

import (
	"fmt"
	"strings"
	"time"

	"chat/internal/wire"
)

// The exact lines of seed 002: the menu, its prompts and the last
// word.
const (
	menuPromptName    = "Enter your name: "
	menuPromptMessage = "Enter your message: "
	menuPromptOwner   = "Who owns the file? "
	menuPromptFile    = "Which file do you want? "
	menuGoodbye       = "closing your sockets...goodbye"
)

// menuLines is the menu, shown when the name is taken and again after each
// action.
var menuLines = []string{
	"Enter an option ('m', 'f', 'x'):",
	"  (M)essage (send)",
	"  (F)ile (request)",
	"  e(x)it",
}

// menuState is where the user is in the menu.
type menuState int

const (
	menuName    menuState = iota // the name is asked first
	menuChoice                   // the menu is up: m, f or x
	menuMessage                  // Enter your message:
	menuOwner                    // Who owns the file?
	menuFile                     // Which file do you want?
)

// menuMode is the front-end of seed 002: the name first (claimed
// without a password, so the server must run with -guests), then a menu:
// m sends a message to every other user (Broadcast), shown to them as
// "name: message"; f asks for a file by owner and name (Fetch), which
// arrives while the menu goes on; x closes every connection and prints
// "closing your sockets...goodbye". What it
// shows is specified in docs/DESIGN.md, "File transfer and mode menu
// (client)".
//
// Unlike the other modes it has state: which prompt is up. The prompts
// are the input line's prompt on a terminal, so a message arriving while
// the user types is printed above it without garbling it; on an input that
// is not a terminal each prompt is printed as a line (LinePrompter).
type menuMode struct {
	state menuState
	owner string // the answer to "Who owns the file?"
}

func (m *menuMode) Prompt() string {
	switch m.state {
	case menuName:
		return menuPromptName
	case menuMessage:
		return menuPromptMessage
	case menuOwner:
		return menuPromptOwner
	case menuFile:
		return menuPromptFile
	}
	return ""
}

func (m *menuMode) PromptLine() bool { return true }

func (m *menuMode) QuietExit() bool { return true }

func (m *menuMode) Parse(line string) Command {
	report := func(text string) Command {
		m.state = menuChoice
		return Command{Kind: CmdReport, Text: text, Lines: menuLines}
	}
	switch m.state {
	case menuName:
		words := strings.Fields(line)
		switch {
		case len(words) == 0:
			return Command{}
		case len(words) > 1:
			return Command{Kind: CmdReport, Text: "a name is one word: try again"}
		case runeCount(words[0]) > wire.MaxNameRunes:
			return Command{Kind: CmdReport, Text: fmt.Sprintf("a name has at most %d characters, this one has %d: try again", wire.MaxNameRunes, runeCount(words[0]))}
		}
		// The menu comes with the server's yes (Show); meanwhile typed
		// lines are menu choices, sent once the name is taken.
		m.state = menuChoice
		return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeClaim, Name: words[0]}}
	case menuChoice:
		opt := strings.TrimSpace(line)
		// The seed asks for lower case; its own example types an X.
		switch strings.ToLower(opt) {
		case "":
			return Command{}
		case "m":
			m.state = menuMessage
			return Command{}
		case "f":
			m.state = menuOwner
			return Command{}
		case "x":
			return Command{Kind: CmdLogout, Lines: []string{menuGoodbye}}
		}
		return report(fmt.Sprintf("unknown option %q: enter m, f or x", clip(opt)))
	case menuMessage:
		if strings.TrimSpace(line) == "" {
			return report("message not sent: it is empty")
		}
		if n := runeCount(line); n > wire.MaxTextRunes {
			return report(fmt.Sprintf("message not sent: %d characters, the limit is %d", n, wire.MaxTextRunes))
		}
		m.state = menuChoice
		return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeBroadcast, Text: line}, Lines: menuLines}
	case menuOwner:
		owner := strings.TrimSpace(line)
		switch {
		case owner == "":
			return report("no file requested: no owner given")
		case strings.ContainsAny(owner, " \t"):
			return report("no file requested: a name is one word")
		case runeCount(owner) > wire.MaxNameRunes:
			return report(fmt.Sprintf("no file requested: a name has at most %d characters, this one has %d", wire.MaxNameRunes, runeCount(owner)))
		}
		m.owner = owner
		m.state = menuFile
		return Command{}
	case menuFile:
		file := strings.TrimSpace(line)
		if file == "" {
			return report("no file requested: no file name given")
		}
		if _, err := localName(file); err != nil {
			return report("no file requested: " + err.Error())
		}
		m.state = menuChoice
		return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeFetch, To: m.owner, Name: file}, Lines: menuLines}
	}
	return Command{}
}

// Report: the client's own lines start with "!", without a time, as in the
// other modes of the seeds.
func (m *menuMode) Report(_ time.Time, text string) string { return "! " + text }

func (m *menuMode) Help() []string {
	return []string{
		"enter your name first; then m sends a message to everyone else, f asks a user for a file, x exits",
		"files you are asked for are served from your shared directory (-share DIR); files you get are stored in -download DIR",
	}
}

func (m *menuMode) Show(f *wire.Frame, req *wire.Frame, now time.Time) []string {
	if lines, ok := showUnasked(f, req); ok {
		return lines
	}
	server := func(text string) []string { return []string{wire.ServerName + " " + text} }
	switch req.Type {
	case wire.TypeHello, wire.TypePing, wire.TypeLogout:
		return nil
	case wire.TypeClaim:
		if f.Code != wire.OK {
			m.state = menuName
			if f.Code == wire.ErrGuestsClosed {
				return server("this server allows no names without a password, so mode menu cannot work here (the server must be started with -guests)")
			}
			return server(textOr(refusalText(f), "the name was refused"))
		}
		return menuLines
	}
	if f.Code != wire.OK {
		return server(textOr(f.Text, fmt.Sprintf("the server refused the %s request (code %d)", req.Type, f.Code)))
	}
	return nil
}
