package loadgen

import (
	"bytes"
	"errors"
)

// The IRC side of loadgen (-proto irc) speaks RFC 1459/2812 to any IRC
// server: this file reads lines and parses them, irc_client.go is one
// session's protocol state (registration, the join, the run) and
// irc_conn.go the connection that feeds it. The load messages' text is the
// same stamp as the chat protocol's (stamp.go), so the checker, the
// histograms and the report are the chat protocol's, unchanged.

// maxIRCParams is the most parameters a line may have (RFC 2812 2.3.1).
const maxIRCParams = 15

// errIRCLineTooLong is a line from the server that does not fit the read
// buffer (readBufSize, 4096 bytes): RFC 2812 bounds a line at 512, so no
// IRC server sends one, and the connection is given up.
var errIRCLineTooLong = errors.New("a line from the server is longer than the read buffer")

// ircMessage is one parsed line. Its slices point into the line, which the
// caller keeps until it is done with the message; parsing allocates
// nothing, as it runs once per delivery.
type ircMessage struct {
	prefix  []byte // without its ':'; empty when the line has none
	command []byte // a word, or a three-digit numeric
	params  [][]byte
	store   [maxIRCParams][]byte // params' backing array
}

// parseIRCLine parses line (without its line ending) into m. Message tags
// (IRCv3 "@..."), which a server sends only to clients that asked for
// them, are skipped. It reports false for a line with no command.
func parseIRCLine(line []byte, m *ircMessage) bool {
	m.prefix, m.command, m.params = nil, nil, m.store[:0]
	rest := line
	if len(rest) > 0 && rest[0] == '@' {
		_, rest = ircWord(rest)
	}
	rest = skipSpaces(rest)
	if len(rest) > 0 && rest[0] == ':' {
		m.prefix, rest = ircWord(rest[1:])
	}
	m.command, rest = ircWord(skipSpaces(rest))
	if len(m.command) == 0 {
		return false
	}
	for {
		rest = skipSpaces(rest)
		if len(rest) == 0 {
			return true
		}
		if rest[0] == ':' || len(m.params) == maxIRCParams-1 {
			m.params = append(m.params, bytes.TrimPrefix(rest, []byte{':'}))
			return true
		}
		var p []byte
		p, rest = ircWord(rest)
		m.params = append(m.params, p)
	}
}

// ircWord splits b at its first space.
func ircWord(b []byte) (word, rest []byte) {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

func skipSpaces(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// is reports whether the message's command is cmd (commands are not case
// sensitive).
func (m *ircMessage) is(cmd string) bool { return bytes.EqualFold(m.command, []byte(cmd)) }

// param returns parameter i, or nil when the line has fewer.
func (m *ircMessage) param(i int) []byte {
	if i < len(m.params) {
		return m.params[i]
	}
	return nil
}

// last returns the last parameter: the text of PRIVMSG, NOTICE, ERROR and
// of most numerics.
func (m *ircMessage) last() []byte { return m.param(len(m.params) - 1) }

// numeric returns the three-digit reply code of the message, or 0 when its
// command is a word.
func (m *ircMessage) numeric() int {
	c := m.command
	if len(c) != 3 {
		return 0
	}
	n := 0
	for _, d := range c {
		if d < '0' || d > '9' {
			return 0
		}
		n = n*10 + int(d-'0')
	}
	return n
}

// lineBuffer holds what was read from the server and hands it out line by
// line: read into space, say how much with filled, then take lines with
// next until it has none. A partial line stays for the next read. One
// goroutine, the session's reader, owns it.
type lineBuffer struct {
	buf        []byte
	start, end int // unread bytes are buf[start:end]
}

// next returns the next complete line, without its CR LF (or bare LF),
// or false when none is complete. The line is valid until the next call
// to space.
func (b *lineBuffer) next() ([]byte, bool) {
	i := bytes.IndexByte(b.buf[b.start:b.end], '\n')
	if i < 0 {
		return nil, false
	}
	line := b.buf[b.start : b.start+i]
	b.start += i + 1
	return bytes.TrimSuffix(line, []byte{'\r'}), true
}

// space returns the free part of the buffer to read into, moving a
// partial line to the front first; errIRCLineTooLong when a partial line
// fills the whole buffer.
func (b *lineBuffer) space() ([]byte, error) {
	if b.start > 0 {
		b.end = copy(b.buf, b.buf[b.start:b.end])
		b.start = 0
	}
	if b.end == len(b.buf) {
		return nil, errIRCLineTooLong
	}
	return b.buf[b.end:], nil
}

// filled records that n bytes were read into the space.
func (b *lineBuffer) filled(n int) { b.end += n }
