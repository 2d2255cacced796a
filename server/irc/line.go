package irc

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"chat/internal/wire"
)

// The IRC line format (RFC 1459 section 2.3, RFC 2812 section 2.3.1): an
// optional ":prefix", a command word or three-digit numeric, up to 15
// parameters separated by spaces, the last of which may start with ':'
// and then hold spaces. A line is at most MaxLine bytes with its CR LF.

// MaxLine bounds one IRC line, CR LF included, in both directions.
const MaxLine = 512

// maxParams is the protocol's bound on parameters.
const maxParams = 15

// maxEchoParam bounds a middle parameter of a line we send. Ours are short
// (nicks, channels, counts); only an echo of a peer's bad input can be
// longer.
const maxEchoParam = 64

// message is one parsed line. Its strings are copies, so a message
// outlives the buffer it came from.
type message struct {
	Prefix  string
	Command string // upper-cased
	Params  []string
	Tags    string // the client-only tags (tags.go), "" if none
}

// parseLine parses one line without its LF. ok is false for a line that
// holds no command (empty, spaces only, a prefix alone): such lines are
// ignored, as servers do. Of the message tags ("@a=b "), the client-only
// ones are kept in Tags.
//
// Only the last parameter can be empty (a trailing ":"): middle ones are
// runs of non-space bytes.
func parseLine(line []byte) (m message, ok bool) {
	line = bytes.TrimRight(line, "\r")
	if len(line) > 0 && line[0] == '@' {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return m, false
		}
		m.Tags = clientTags(string(line[1:i]))
		line = line[i+1:]
	}
	line = bytes.TrimLeft(line, " ")
	if len(line) > 0 && line[0] == ':' {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return m, false
		}
		m.Prefix = string(line[1:i])
		line = bytes.TrimLeft(line[i+1:], " ")
	}
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		i = len(line)
	}
	if i == 0 {
		return m, false
	}
	m.Command = strings.ToUpper(string(line[:i]))
	line = line[i:]
	for len(line) > 0 {
		line = bytes.TrimLeft(line, " ")
		if len(line) == 0 {
			break
		}
		if line[0] == ':' || len(m.Params) == maxParams-1 {
			if line[0] == ':' {
				line = line[1:]
			}
			m.Params = append(m.Params, string(line))
			break
		}
		j := bytes.IndexByte(line, ' ')
		if j < 0 {
			j = len(line)
		}
		m.Params = append(m.Params, string(line[:j]))
		line = line[j:]
	}
	return m, true
}

// decodeText turns a parameter into message text for the hub: UTF-8 as it
// is, anything else decoded as Latin-1 (what IRC clients that predate
// UTF-8 send), so no byte is refused.
func decodeText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// lineReader splits a byte stream into lines ending in LF (CR LF or a bare
// LF). A line longer than MaxLine is reported once as too long and the
// rest of it, up to its LF, is dropped, so the connection goes on.
type lineReader struct {
	buf      []byte
	off      int
	skipping bool // dropping the rest of an overlong line
	tagged   bool // the client sends message tags: lines may be maxTaggedLine
}

// limit is the longest line the reader takes.
func (r *lineReader) limit() int {
	if r.tagged {
		return maxTaggedLine
	}
	return MaxLine
}

// feed appends a copy of what was read.
func (r *lineReader) feed(b []byte) {
	if r.off > 0 && r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
	}
	r.buf = append(r.buf, b...)
}

// next returns the next whole line without its LF (valid until the next
// feed), or tooLong for a line over the limit, or ok false when no whole
// line is buffered.
func (r *lineReader) next() (line []byte, tooLong, ok bool) {
	for {
		rest := r.buf[r.off:]
		i := bytes.IndexByte(rest, '\n')
		if r.skipping {
			if i < 0 {
				r.off = len(r.buf) // drop what came so far
				return nil, false, false
			}
			r.off += i + 1
			r.skipping = false
			continue
		}
		if i < 0 {
			if len(rest) > r.limit() {
				r.skipping = true
				r.off = len(r.buf)
				return nil, true, true
			}
			r.compact()
			return nil, false, false
		}
		r.off += i + 1
		if i+1 > r.limit() || (r.tagged && !tagsWithin(rest[:i])) {
			return nil, true, true
		}
		return rest[:i], false, true
	}
}

// compact moves a partial line to the front of the buffer, and lets a
// buffer grown by a big read go.
func (r *lineReader) compact() {
	n := copy(r.buf, r.buf[r.off:])
	r.buf, r.off = r.buf[:n], 0
	if n == 0 && cap(r.buf) > 4*MaxLine {
		r.buf = nil
	}
}

// buffered returns the bytes of a partial line held.
func (r *lineReader) buffered() int { return len(r.buf) - r.off }

// appendLine appends one line: ":prefix command params... :trailing\r\n".
// The last parameter is always written as a trailing one (":"), which every
// client accepts and which keeps spaces and empty values intact. Control
// characters that would end or corrupt the line (NUL, CR, LF) are replaced,
// wherever they are. The line never passes MaxLine: a middle parameter
// echoed from a peer (a 400-byte nick in a 432) is shortened to
// maxEchoParam bytes, and whatever still does not fit is cut from the end
// at a character boundary, because a client may drop or misparse a longer
// line.
func appendLine(dst []byte, prefix, command string, params ...string) []byte {
	start := len(dst)
	if prefix != "" {
		dst = append(dst, ':')
		dst = appendSafe(dst, prefix)
		dst = append(dst, ' ')
	}
	dst = appendSafe(dst, command)
	for i, p := range params {
		dst = append(dst, ' ')
		if i == len(params)-1 {
			dst = append(dst, ':')
		} else {
			p = wire.CutAtRune(p, maxEchoParam)
		}
		dst = appendSafe(dst, p)
	}
	if body := MaxLine - 2; len(dst)-start > body {
		dst = dst[:start+len(wire.CutAtRune(dst[start:], body))]
	}
	return append(dst, '\r', '\n')
}

// appendSafe appends s with NUL, CR and LF turned into spaces.
func appendSafe(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 || c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// splitText cuts text into pieces that each fit in limit bytes, at line
// breaks and otherwise at character boundaries (preferring a space), so a
// long message from a rooms user reaches IRC as several lines, none lost.
func splitText(text string, limit int) []string {
	limit = max(limit, 16)
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		para = strings.ReplaceAll(para, "\r", " ")
		if para == "" {
			continue
		}
		for len(para) > limit {
			cut := len(wire.CutAtRune(para, limit))
			if sp := strings.LastIndexByte(para[:cut], ' '); sp > limit/2 {
				cut = sp + 1
			}
			out = append(out, para[:cut])
			para = para[cut:]
		}
		if para != "" {
			out = append(out, para)
		}
	}
	if len(out) == 0 {
		out = append(out, " ")
	}
	return out
}
