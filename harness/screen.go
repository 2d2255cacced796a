package harness

import (
	"strings"
	"unicode"
)

// screen is a small terminal emulator: enough of a VT100 to know what a
// person would see on the current line after a program has moved the cursor,
// erased and redrawn (the password stars, the input line redrawn below an
// arriving message). Lines are kept without a height limit; absolute cursor
// positions count from the last Rows lines, like a real screen.
type screen struct {
	cols, rows int
	lines      [][]rune
	row, col   int
	savedRow   int
	savedCol   int
}

func newScreen(cols, rows int) *screen {
	return &screen{cols: cols, rows: rows, lines: [][]rune{nil}}
}

func (s *screen) top() int { return max(0, len(s.lines)-s.rows) }

func (s *screen) moveTo(row, col int) {
	s.row = max(s.top(), row)
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, nil)
	}
	s.col = min(max(0, col), s.cols)
}

// wideFiller marks the second cell of a two-column character.
const wideFiller rune = -1

func (s *screen) print(r rune) {
	w := runeWidth(r)
	if w == 0 {
		return // combining marks do not move the cursor
	}
	if s.col+w > s.cols { // a terminal wraps on the character that does not fit
		s.moveTo(s.row+1, 0)
	}
	line := s.lines[s.row]
	for len(line) < s.col+w {
		line = append(line, ' ')
	}
	line[s.col] = r
	if w == 2 {
		line[s.col+1] = wideFiller
	}
	s.lines[s.row] = line
	s.col += w
}

// runeWidth returns the columns a character takes on a terminal: none for
// combining marks, two for East Asian wide characters and emoji.
func runeWidth(r rune) int {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	case r >= 0x1100 && r <= 0x115f,
		r >= 0x2e80 && r <= 0xa4cf && r != 0x303f,
		r >= 0xac00 && r <= 0xd7a3,
		r >= 0xf900 && r <= 0xfaff,
		r >= 0xfe30 && r <= 0xfe4f,
		r >= 0xff00 && r <= 0xff60,
		r >= 0xffe0 && r <= 0xffe6,
		r >= 0x1f300 && r <= 0x1f64f,
		r >= 0x1f900 && r <= 0x1f9ff,
		r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}

// cells turns screen cells into text, dropping the fillers of wide
// characters.
func cells(line []rune) string {
	var b strings.Builder
	for _, r := range line {
		if r != wideFiller {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (s *screen) control(c byte) {
	switch c {
	case '\r':
		s.col = 0
	case '\n':
		s.moveTo(s.row+1, s.col)
	case '\b':
		s.col = max(0, s.col-1)
	case '\t':
		s.col = min(s.cols, (s.col/8+1)*8)
	}
}

func (s *screen) escape(final byte) {
	switch final {
	case '7':
		s.savedRow, s.savedCol = s.row, s.col
	case '8':
		s.moveTo(s.savedRow, s.savedCol)
	}
}

func (s *screen) csi(params []int, private bool, final byte) {
	if private {
		return
	}
	arg := func(i, def int) int {
		if i < len(params) && params[i] != 0 {
			return params[i]
		}
		return def
	}
	line := s.lines[s.row]
	switch final {
	case 'A':
		s.moveTo(s.row-arg(0, 1), s.col)
	case 'B':
		s.moveTo(s.row+arg(0, 1), s.col)
	case 'C':
		s.col = min(s.cols, s.col+arg(0, 1))
	case 'D':
		s.col = max(0, s.col-arg(0, 1))
	case 'G':
		s.col = min(s.cols, arg(0, 1)-1)
	case 'H', 'f':
		s.moveTo(s.top()+arg(0, 1)-1, arg(1, 1)-1)
	case 'K':
		switch arg(0, 0) {
		case 0:
			s.lines[s.row] = line[:min(len(line), s.col)]
		case 1:
			for i := 0; i < min(len(line), s.col+1); i++ {
				line[i] = ' '
			}
		case 2:
			s.lines[s.row] = nil
		}
	case 'J':
		switch arg(0, 0) {
		case 0:
			s.lines[s.row] = line[:min(len(line), s.col)]
			s.lines = s.lines[:s.row+1]
		case 2, 3:
			for i := s.top(); i < len(s.lines); i++ {
				s.lines[i] = nil
			}
		}
	case 'P': // delete characters, shifting the rest left
		if s.col < len(line) {
			n := min(arg(0, 1), len(line)-s.col)
			s.lines[s.row] = append(line[:s.col], line[s.col+n:]...)
		}
	case '@': // insert blanks
		if s.col < len(line) {
			n := arg(0, 1)
			blanks := []rune(strings.Repeat(" ", n))
			s.lines[s.row] = append(line[:s.col], append(blanks, line[s.col:]...)...)
		}
	case 'X': // erase characters in place
		for i := s.col; i < min(len(line), s.col+arg(0, 1)); i++ {
			line[i] = ' '
		}
	}
}

// text returns the visible lines, trailing blanks trimmed.
func (s *screen) text() string {
	var b strings.Builder
	for i := s.top(); i < len(s.lines); i++ {
		b.WriteString(strings.TrimRight(cells(s.lines[i]), " "))
		if i < len(s.lines)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// line returns the cursor's line, trailing blanks trimmed.
func (s *screen) line() string { return strings.TrimRight(cells(s.lines[s.row]), " ") }

// beforeCursor returns the cursor's line up to the cursor: for a prompt this
// is exactly what the person has in front of them, trailing space included.
func (s *screen) beforeCursor() string {
	line := s.lines[s.row]
	if s.col <= len(line) {
		return cells(line[:s.col])
	}
	return cells(line) + strings.Repeat(" ", s.col-len(line))
}
