package irc

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"chat/internal/wire"
)

// IRCv3 message tags (https://ircv3.net/specs/extensions/message-tags):
// the server's own (msgid, time, batch) and the client-only tags ("+name")
// a client with message-tags sends on PRIVMSG, NOTICE and TAGMSG, which
// the hub carries (wire.Frame.Tags) to the recipients that asked for them.

// maxTaggedLine bounds a line with tags from a client with message-tags:
// 4096 bytes of tags ('@' and the space included) before the 512.
const maxTaggedLine = MaxLine + 4096

// tagsWithin reports whether a tagged line keeps to the two bounds: 4096
// bytes of tags with their '@' and space, 512 for the rest with its CR LF.
func tagsWithin(line []byte) bool {
	rest := len(line) + 1 // the LF
	if len(line) > 0 && line[0] == '@' {
		i := bytes.IndexByte(line, ' ')
		if i < 0 || i+1 > maxTaggedLine-MaxLine {
			return false
		}
		rest -= i + 1
	}
	if bytes.HasSuffix(line, []byte("\r")) {
		rest-- // the bound counts CR LF as two bytes, as the client sent them
	}
	return rest+1 <= MaxLine
}

// clientTags returns the client-only tags of a line's tag part (without
// its '@'), as "+a=b;+c" with their values as the client escaped them;
// the server's own tags a client sends are dropped.
func clientTags(raw string) string {
	var keep []string
	for _, t := range strings.Split(raw, ";") {
		key, _, _ := strings.Cut(t, "=")
		if len(key) > 1 && key[0] == '+' && tagKeyOK(key[1:]) {
			keep = append(keep, strings.TrimSuffix(t, "="))
		}
	}
	return strings.Join(keep, ";")
}

// tagKeyOK reports whether a tag key (after its '+') is a vendor/name of
// the characters the specification allows.
func tagKeyOK(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '/' || c == '.') {
			return false
		}
	}
	return key != ""
}

// escapeTag escapes a tag value: ; space \ CR LF.
func escapeTag(v string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\:`, " ", `\s`, "\r", `\r`, "\n", `\n`).Replace(v)
}

// msgID is a message's IRC msgid: "ROOM/SEQ" for a room message (its
// place in the room's history, never reused), "~SERIAL.TIME" for the
// rest (a private message, tags alone).
func msgID(f *wire.Frame) string {
	if f.Seq != 0 && f.Room != "" {
		return wire.FoldName(f.Room) + "/" + strconv.FormatUint(f.Seq, 10)
	}
	return "~" + strconv.FormatUint(f.Count, 10) + "." + strconv.FormatInt(f.Time, 10)
}

// parseMsgID reads a room message's msgid back: its room and Seq.
func parseMsgID(id string) (room string, seq uint64, ok bool) {
	i := strings.LastIndexByte(id, '/')
	if i <= 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	return id[:i], seq, err == nil && seq > 0
}

// messageTags writes the tags of a message line for this session: its
// batch, msgid, time and the sender's client-only tags, each as the
// session's capabilities ask; "" for none.
func (s *Session) messageTags(batch, msgid string, ms int64, client string) string {
	var parts []string
	if batch != "" {
		parts = append(parts, "batch="+batch)
	}
	if s.caps&capMessageTags != 0 && msgid != "" {
		parts = append(parts, "msgid="+escapeTag(msgid))
	}
	if s.caps&capServerTime != 0 && ms != 0 {
		parts = append(parts, "time="+time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if s.caps&capMessageTags != 0 && client != "" {
		parts = append(parts, client)
	}
	if len(parts) == 0 {
		return ""
	}
	return "@" + strings.Join(parts, ";") + " "
}

// frameTags are the tags of a Message or Private frame for this session.
func (s *Session) frameTags(batch string, f *wire.Frame) string {
	return s.messageTags(batch, msgID(f), f.Time, f.Tags)
}

// TAGMSG <msgtarget>
//
// Client-only tags without text (a reaction, a typing notice), for
// clients with message-tags; the others are not sent it.
func tagmsgHandler(s *Session, dst []byte, m *message) []byte {
	if s.caps&capMessageTags == 0 || m.Tags == "" {
		return dst
	}
	for i, t := range strings.Split(m.Params[0], ",") {
		if i == maxTargets {
			break
		}
		switch {
		case t == "":
		case strings.HasPrefix(t, "#"):
			p := s.request(kindSay, t, true, wire.Frame{Type: wire.TypeSay, Room: t[1:], Tags: m.Tags})
			p.tags = m.Tags
		default:
			p := s.request(kindTell, t, true, wire.Frame{Type: wire.TypeTell, To: t, Tags: m.Tags})
			p.tags = m.Tags
		}
	}
	return dst
}
