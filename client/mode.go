package client

import (
	"fmt"
	"time"

	"chat/internal/wire"
)

// Mode is a front-end of the client: how typed lines become requests and how
// frames from the server become text. The connection, the protocol, the
// reconnection and the terminal handling are shared by every mode; a new mode
// (names, menu, course) is one more implementation of this interface.
type Mode interface {
	// Prompt is the input line's prompt on a terminal.
	Prompt() string
	// Parse turns one typed line into what the client should do.
	Parse(line string) Command
	// Show returns the lines to print for a frame from the server. For a
	// Reply, req is the request it answers; it is nil for events.
	Show(f *wire.Frame, req *wire.Frame, now time.Time) []string
	// Report formats a report of the client itself (connection trouble,
	// usage errors), made at time now.
	Report(now time.Time, text string) string
	// Help returns the lines the help command prints.
	Help() []string
}

// CommandKind says what a typed line asks for.
type CommandKind int

const (
	// CmdNothing: an empty line.
	CmdNothing CommandKind = iota
	// CmdSend: send Command.Frame to the server.
	CmdSend
	// CmdLogin: ask for a password, then log in as Command.Name.
	CmdLogin
	// CmdLogout: log out and exit.
	CmdLogout
	// CmdReport: tell the user Command.Text (a usage error); send nothing.
	CmdReport
	// CmdHelp: print the mode's help.
	CmdHelp
	// CmdPrint: print Command.Text exactly as it is (an error whose wording
	// a seed fixes, such as course's "Bad username"); send nothing.
	CmdPrint
	// CmdHistory: show the page of the user's room's history that
	// Command.History asks for (history.go).
	CmdHistory
)

// Command is what a mode makes of a typed line.
type Command struct {
	Kind  CommandKind
	Frame wire.Frame // CmdSend: the request, without its ID
	Name  string     // CmdLogin
	Text  string     // CmdReport, CmdPrint
	// View names how the reply to Frame is to be shown when the request
	// alone does not say (rooms shows a Who reply as a table after who and
	// as one line after names); the client hands it to a ViewShower.
	View string
	// Lines are printed as they are after the command is acted on (mode
	// menu shows its menu again after each action).
	Lines []string
	// InRoom: Frame is about the user's room (a topic, a kick), which
	// the mode cannot know; the client sets Frame.Room to it, and refuses
	// the line when the user is in no room.
	InRoom bool
	// History: CmdHistory's page.
	History HistoryAsk
}

// LinePrompter is a mode whose prompts are part of what it shows (mode
// menu: "Enter your message:"): on an input that is not a terminal, where
// there is no input line to show them on, the client prints each new
// prompt as a line of its own.
type LinePrompter interface {
	PromptLine() bool
}

// ViewShower is a mode that shows some replies according to the command
// that asked for them (Command.View). For requests sent with a View the
// client calls ShowView instead of Show.
type ViewShower interface {
	ShowView(view string, f *wire.Frame, req *wire.Frame, now time.Time) []string
}

// MissedShower is a mode that marks the room messages said while the client
// was disconnected, replayed after it re-entered the room: rooms shows
// "carol 14:03:07 (missed) TEXT". The client calls ShowMissed instead of
// Show for them.
type MissedShower interface {
	ShowMissed(f *wire.Frame, now time.Time) []string
}

// PageShower is a mode that shows pages of a room's history the user asked
// for (rooms: history), marked apart from live messages so that nobody
// takes them for new ones. Only a PageShower's client asks for pages.
type PageShower interface {
	ShowPage(p Page, now time.Time) []string
}

// QuietExiter is a mode whose way out (its exit command, Ctrl-D, the end of
// the input) prints nothing: the seeds of names and course show nothing
// when the user leaves. The client still tells the server (Logout) and
// waits briefly for its answer, so that the name is free at once for the
// others; it just does not show that answer.
type QuietExiter interface {
	QuietExit() bool
}

// NewMode returns the front-end called name.
func NewMode(name string) (Mode, error) {
	switch name {
	case "rooms", "":
		return roomsMode{}, nil
	case "names":
		return namesMode{}, nil
	case "course":
		return courseMode{}, nil
	case "menu":
		return &menuMode{}, nil
	}
	return nil, fmt.Errorf("unknown mode %q (modes: rooms, names, menu, course)", name)
}

// showUnasked shows, for the modes that print plain lines (menu, course),
// what is not the answer to one of the user's requests: a message as
// "name: message", on its own line; a notice (the server speaking unasked,
// for instance shutting down) and an answer to no request (the server's
// answer to a frame it could not read) marked as the server's; a frame of
// a newer server not at all. ok is false for the answer to a request,
// which the mode shows itself.
func showUnasked(f *wire.Frame, req *wire.Frame) (lines []string, ok bool) {
	switch f.Type {
	case wire.TypePrivate, wire.TypeMessage:
		return []string{f.From + ": " + f.Text}, true
	case wire.TypeNotice:
		return []string{wire.ServerName + " " + noticeText(f)}, true
	case wire.TypeReply:
	default:
		return nil, true
	}
	if req != nil {
		return nil, false
	}
	if f.Text == "" {
		return nil, true
	}
	return []string{wire.ServerName + " " + f.Text}, true
}
