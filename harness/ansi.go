package harness

import "unicode/utf8"

// vtSink receives what a vtParser decodes from terminal output.
type vtSink interface {
	print(r rune)
	control(c byte) // C0 controls: \r, \n, \b, \t, BEL …
	csi(params []int, private bool, final byte)
	escape(final byte) // two-byte escapes such as ESC 7 (save cursor)
}

const (
	vtGround = iota
	vtEscape
	vtCharset // ESC ( B and friends: one more byte to skip
	vtCSI
	vtOSC
	vtOSCEscape // ESC inside an OSC: the start of ST (ESC \)
)

// vtParser splits terminal output into printable runes, controls and escape
// sequences. It is incremental: a sequence or UTF-8 character cut between two
// reads is kept until the rest arrives, so what a sink sees never depends on
// how the kernel split the output.
type vtParser struct {
	state   int
	params  []byte // CSI parameter and intermediate bytes so far
	partial []byte // the start of a UTF-8 character
}

func (p *vtParser) feed(b []byte, s vtSink) {
	for _, c := range b {
		switch p.state {
		case vtGround:
			p.ground(c, s)
		case vtEscape:
			switch c {
			case '[':
				p.state, p.params = vtCSI, p.params[:0]
			case ']':
				p.state = vtOSC
			case '(', ')', '*', '+', '#':
				p.state = vtCharset
			default:
				p.state = vtGround
				s.escape(c)
			}
		case vtCharset:
			p.state = vtGround
		case vtCSI:
			if c >= 0x40 && c <= 0x7e {
				p.state = vtGround
				params, private := parseParams(p.params)
				s.csi(params, private, c)
			} else {
				p.params = append(p.params, c)
			}
		case vtOSC:
			switch c {
			case 0x07:
				p.state = vtGround
			case 0x1b:
				p.state = vtOSCEscape
			}
		case vtOSCEscape:
			p.state = vtGround // ESC \ ends the OSC; anything else ends it too
		}
	}
}

func (p *vtParser) ground(c byte, s vtSink) {
	if len(p.partial) > 0 || c >= 0x80 {
		p.partial = append(p.partial, c)
		if utf8.FullRune(p.partial) {
			r, _ := utf8.DecodeRune(p.partial)
			p.partial = p.partial[:0]
			s.print(r)
		}
		return
	}
	switch {
	case c == 0x1b:
		p.state = vtEscape
	case c < 0x20 || c == 0x7f:
		s.control(c)
	default:
		s.print(rune(c))
	}
}

// parseParams reads "1;5" into [1 5]; a leading '?' or '>' marks a private
// sequence, which sinks ignore.
func parseParams(b []byte) (params []int, private bool) {
	if len(b) > 0 && (b[0] == '?' || b[0] == '>' || b[0] == '=') {
		private, b = true, b[1:]
	}
	n, have := 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			n, have = n*10+int(c-'0'), true
		case c == ';':
			params = append(params, n)
			n, have = 0, false
		}
	}
	if have || len(params) > 0 {
		params = append(params, n)
	}
	return params, private
}

// streamText is the plain text of terminal output: escape sequences, \r and
// other controls removed, newlines and tabs kept. Expect matches against it,
// so a pattern never has to know how the program moved the cursor.
type streamText struct{ b []byte }

func (t *streamText) print(r rune) { t.b = utf8.AppendRune(t.b, r) }

func (t *streamText) control(c byte) {
	if c == '\n' || c == '\t' {
		t.b = append(t.b, c)
	}
}

func (t *streamText) csi([]int, bool, byte) {}
func (t *streamText) escape(byte)           {}

// StripANSI returns s without escape sequences, carriage returns and other
// control characters (newlines and tabs stay): the text Expect matches.
func StripANSI(s string) string {
	var p vtParser
	var t streamText
	p.feed([]byte(s), &t)
	return string(t.b)
}
