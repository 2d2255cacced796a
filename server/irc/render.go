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
// A room message renders the same for every session of one Variant (it
// depends on the frame and the session's capabilities alone), so the loop
// may render it once per variant and send the bytes to every IRC member.
func (s *Session) Render(dst []byte, f *wire.Frame) []byte {
	switch f.Type {
	case wire.TypeReply:
		return s.reply(dst, f)
	case wire.TypeMessage:
		if out, ok := s.replayed(dst, f); ok {
			return out
		}
		if f.Room == "" {
			// A broadcast to everyone (mode menu): an announcement, which
			// IRC clients show as a notice from the sender.
			return s.appendText(dst, s.frameTags("", f), s.prefix(f.From), "NOTICE", s.nick, f.Text)
		}
		return s.appendMessage(dst, "", f, "#"+f.Room)
	case wire.TypePrivate:
		return s.appendMessage(dst, "", f, s.nick)
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

// renderNotice renders the hub's notices about users and channels as the
// IRC events they are, and the rest as a server NOTICE.
func (s *Session) renderNotice(dst []byte, f *wire.Frame) []byte {
	ch := "#" + f.Room
	switch f.Code {
	case wire.NoticeEntered:
		return appendLine(s.tags(dst, f.Time), s.prefix(f.Name), "JOIN", ch)
	case wire.NoticeLeft:
		return appendLine(s.tags(dst, f.Time), s.prefix(f.Name), "PART", partParams(ch, f.Words)...)
	case wire.NoticeQuit:
		words := f.Words
		if words == "" {
			words = "Quit"
		}
		return appendLine(s.tags(dst, f.Time), s.prefix(f.Name), "QUIT", words)
	case wire.NoticeLost:
		words := f.Words
		if words == "" {
			words = "Connection lost"
		}
		return appendLine(s.tags(dst, f.Time), s.prefix(f.Name), "QUIT", words)
	case wire.NoticeTopic:
		return appendLine(s.tags(dst, f.Time), s.prefix(f.By), "TOPIC", ch, f.Words)
	case wire.NoticeKicked:
		if f.Name == s.nick {
			s.leftRoom(f.Room)
		}
		reason := f.Words
		if reason == "" {
			reason = f.By // as IRC servers do when KICK gives no comment
		}
		return appendLine(s.tags(dst, f.Time), s.prefix(f.By), "KICK", ch, f.Name, reason)
	case wire.NoticeMode:
		return appendLine(s.tags(dst, f.Time), s.prefix(f.By), "MODE", append([]string{ch}, strings.Fields(f.Mode)...)...)
	case wire.NoticeInvited:
		return appendLine(s.tags(dst, f.Time), s.prefix(f.By), "INVITE", s.nick, ch)
	case wire.NoticeRenamed:
		return appendLine(s.tags(dst, f.Time), s.prefix(f.Name), "NICK", f.To)
	}
	return s.serverNotice(dst, f.Text)
}

// appendMessage appends a Message or Private frame sent to target, in the
// batch ("" for none): PRIVMSG, NOTICE, or TAGMSG for tags alone (which
// only a client with message-tags is sent).
func (s *Session) appendMessage(dst []byte, batch string, f *wire.Frame, target string) []byte {
	tags := s.frameTags(batch, f)
	if f.Text == "" {
		if s.caps&capMessageTags == 0 {
			return dst
		}
		return appendLine(append(dst, tags...), s.prefix(f.From), "TAGMSG", target)
	}
	command := "PRIVMSG"
	if f.Code == wire.AsNotice {
		command = "NOTICE"
	}
	return s.appendText(dst, tags, s.prefix(f.From), command, target, f.Text)
}

// appendText appends text as one or more lines "tags prefix COMMAND
// target :piece", each within MaxLine (the tags aside). Text that starts
// with "/me " is a CTCP ACTION.
func (s *Session) appendText(dst []byte, tags, prefix, command, target, text string) []byte {
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
		dst = appendLine(append(dst, tags...), prefix, command, target, piece)
	}
	return dst
}
