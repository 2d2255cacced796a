package irc

import (
	"strings"

	"chat/internal/wire"
)

// Render appends the IRC lines for a frame the hub (or the loop: a Bye, a
// server Ping) sends this session; dst may be nil. Requests it makes in
// turn (the names after a takeover, refusing a file) are in TakeRequests,
// to be handed to the hub after this output is applied; Closing says
// whether the connection is to be closed.
//
// A room message renders the same for every session in the room (it
// depends on the frame alone), so the loop may render it once and send
// the bytes to every IRC member.
func (s *Session) Render(dst []byte, f *wire.Frame) []byte {
	switch f.Type {
	case wire.TypeReply:
		return s.reply(dst, f)
	case wire.TypeMessage:
		if f.Room == "" {
			// A broadcast to everyone (mode menu): an announcement, which
			// IRC clients show as a notice from the sender.
			return s.appendText(dst, s.prefix(f.From), "NOTICE", s.nick, f.Text)
		}
		return s.appendText(dst, s.prefix(f.From), "PRIVMSG", "#"+f.Room, f.Text)
	case wire.TypePrivate:
		return s.appendText(dst, s.prefix(f.From), "PRIVMSG", s.nick, f.Text)
	case wire.TypeNotice:
		return s.renderNotice(dst, f)
	case wire.TypeServerPing:
		return appendLine(dst, "", "PING", s.cfg.Server)
	case wire.TypeBye:
		return s.closeLink(dst, f.Text)
	case wire.TypeFileOffer:
		// An IRC client cannot serve files: refuse at once rather than
		// leave the requester waiting for the attach timeout.
		s.request(kindSilent, "", false, wire.Frame{Type: wire.TypeRefuse, Token: f.Token, Code: wire.ErrNoSuchFile,
			Text: s.nick + " is on IRC, which cannot send files"})
		return s.serverNotice(dst, f.From+" asked you for the file "+f.Name+"; files cannot be sent over IRC")
	}
	return dst
}

// renderNotice renders the hub's notices about other users as the IRC
// events they are, and the rest as a server NOTICE.
func (s *Session) renderNotice(dst []byte, f *wire.Frame) []byte {
	switch f.Code {
	case wire.NoticeEntered:
		return appendLine(dst, s.prefix(f.Name), "JOIN", "#"+f.Room)
	case wire.NoticeLeft:
		return appendLine(dst, s.prefix(f.Name), "PART", "#"+f.Room, f.Text)
	case wire.NoticeLost:
		return appendLine(dst, s.prefix(f.Name), "QUIT", f.Text)
	}
	return s.serverNotice(dst, f.Text)
}

// appendText appends text as one or more lines "prefix COMMAND target
// :piece", each within MaxLine. Text that starts with "/me " is a CTCP
// ACTION.
func (s *Session) appendText(dst []byte, prefix, command, target, text string) []byte {
	action := false
	if rest, ok := strings.CutPrefix(text, "/me "); ok {
		text, action = rest, true
	}
	room := MaxLine - len(prefix) - len(command) - len(target) - 8 // ":" " " " " " :" CR LF
	if action {
		room -= len("\x01ACTION \x01")
	}
	for _, piece := range splitText(text, room) {
		if action {
			piece = "\x01ACTION " + piece + "\x01"
		}
		dst = appendLine(dst, prefix, command, target, piece)
	}
	return dst
}
