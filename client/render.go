package client

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Renderer turns what the client wants to show into terminal output. On a
// terminal the input line (prompt and what is being typed) is always the
// last line of the screen: a line arriving from the server is printed over
// it (carriage return, erase line), and the input line is drawn again below
// it, so arriving text never garbles typing. Output accumulates in a
// buffer that the loop writes once per batch of events.
//
// Without a terminal there is no input line: text lines are printed as they
// are, one per line, and no escape sequence is ever written.
type Renderer struct {
	tty   bool
	buf   []byte
	state drawState
	cols  int // terminal width; 0 when unknown
	start int // first rune of the line shown when it is wider than the terminal
	// shownW is the columns prompt and line take on the screen when the
	// whole line is shown (not scrolled sideways); scrolled says it is not.
	// They let a character typed at the end be echoed without measuring
	// the whole line again (EchoAtEnd).
	shownW   int
	scrolled bool
}

type drawState int

const (
	lineHidden drawState = iota // the input line is not on the screen
	lineShown                   // the input line on the screen is up to date
	lineStale                   // the input line is on the screen but out of date
)

// eraseLine returns the cursor to column 0 and clears the line.
const eraseLine = "\r\x1b[K"

// NewRenderer returns a renderer for a terminal (tty true) or for plain
// output.
func NewRenderer(tty bool) *Renderer { return &Renderer{tty: tty} }

// Print adds one line of text above the input line. Control characters in
// text (which comes from other users) are made visible rather than sent to
// the terminal, so nobody can move the cursor or change colours remotely.
func (r *Renderer) Print(text string) {
	if !r.tty {
		r.buf = appendClean(r.buf, text)
		r.buf = append(r.buf, '\n')
		return
	}
	if r.state != lineHidden {
		r.buf = append(r.buf, eraseLine...)
		r.state = lineHidden
	}
	r.buf = appendClean(r.buf, text)
	r.buf = append(r.buf, "\r\n"...)
}

// Echo adds bytes that update the input line in place (a character typed at
// the end of the line, a star, "\b \b"). If the line on the screen is not
// current, it is marked for a full redraw instead.
func (r *Renderer) Echo(b []byte) {
	if !r.tty {
		return
	}
	if r.state == lineShown {
		r.buf = append(r.buf, b...)
	}
}

// EchoAtEnd echoes c, a character just typed at the end of the input line,
// and reports whether it could: the line on the screen must be up to date,
// shown whole (not scrolled sideways) and have a column to spare after c.
// Otherwise the caller redraws the line. It costs the same however long the
// line is.
func (r *Renderer) EchoAtEnd(c rune) bool {
	if !r.tty || r.state != lineShown || r.scrolled {
		return false
	}
	w := runeWidth(c)
	if r.cols > 0 && r.shownW+w+1 >= r.cols {
		return false
	}
	r.buf = utf8.AppendRune(r.buf, c)
	r.shownW += w
	return true
}

// Invalidate marks the input line for a full redraw at the end of the batch.
func (r *Renderer) Invalidate() {
	if r.state == lineShown {
		r.state = lineStale
	}
}

// Visible reports whether the input line is on the screen and up to date.
func (r *Renderer) Visible() bool { return r.state == lineShown }

// SetWidth tells the renderer how many columns the terminal has (0:
// unknown). The input line never wraps: a line wider than the terminal
// scrolls sideways to keep the cursor in view.
func (r *Renderer) SetWidth(cols int) {
	if cols != r.cols {
		r.cols = cols
		r.Invalidate()
	}
}

// Fits reports whether prompt and line fit on one terminal row with a
// column to spare, so that a character typed at the end can be echoed as it
// is.
func (r *Renderer) Fits(prompt string, line []rune) bool {
	return r.cols <= 0 || width([]rune(prompt))+width(line)+1 < r.cols
}

// Draw redraws the input line unless it is on the screen and up to date:
// prompt, then line, with the cursor placed back at cursor (in runes).
func (r *Renderer) Draw(prompt string, line []rune, cursor int) {
	if !r.tty || r.state == lineShown {
		return
	}
	whole := len(line)
	line, cursor = r.window(prompt, line, cursor)
	r.scrolled = len(line) != whole
	if !r.scrolled {
		r.shownW = width([]rune(prompt)) + width(line)
	}
	r.buf = append(r.buf, eraseLine...)
	r.buf = append(r.buf, prompt...)
	for _, c := range line {
		r.buf = utf8.AppendRune(r.buf, c)
	}
	if w := width(line[cursor:]); w > 0 {
		r.buf = append(r.buf, "\x1b["...)
		r.buf = strconv.AppendInt(r.buf, int64(w), 10)
		r.buf = append(r.buf, 'D')
	}
	r.state = lineShown
}

// window returns the part of line that fits the terminal after prompt,
// keeping the cursor inside it, and the cursor's position in that part. Its
// cost grows with the terminal's width, not with the line's length, so that
// a long line costs no more to redraw than a short one.
func (r *Renderer) window(prompt string, line []rune, cursor int) ([]rune, int) {
	avail := r.cols - width([]rune(prompt)) - 1 // the last column stays free: no wrap
	if r.cols <= 0 || avail < 8 || widthUpTo(line, avail) <= avail {
		r.start = 0
		return line, cursor
	}
	start := min(r.start, cursor, len(line))
	if widthUpTo(line[start:cursor], avail) > avail {
		// The cursor went right of the window: the window ends at the
		// cursor and reaches as far left as fits.
		start = cursor
		for w := 0; start > 0 && w+runeWidth(line[start-1]) <= avail; start-- {
			w += runeWidth(line[start-1])
		}
	}
	end, w := start, 0
	for end < len(line) && w+runeWidth(line[end]) <= avail {
		w += runeWidth(line[end])
		end++
	}
	r.start = start
	return line[start:end], cursor - start
}

// widthUpTo returns width(rs), or some width over limit once it is clear
// that width(rs) is over limit: it looks at no more runes than it needs.
func widthUpTo(rs []rune, limit int) int {
	w := 0
	for _, c := range rs {
		w += runeWidth(c)
		if w > limit {
			break
		}
	}
	return w
}

// Newline ends the input line where it is (the user pressed Enter): it stays
// on the screen as typed and a new input line will be drawn below.
func (r *Renderer) Newline() {
	if !r.tty {
		return
	}
	r.buf = append(r.buf, "\r\n"...)
	r.state = lineHidden
	r.start = 0
}

// Hide erases the input line, for example before exiting.
func (r *Renderer) Hide() {
	if r.tty && r.state != lineHidden {
		r.buf = append(r.buf, eraseLine...)
		r.state = lineHidden
	}
}

// Forget marks the input line as not on the screen (after Ctrl-L cleared it).
func (r *Renderer) Forget() { r.state = lineHidden }

// Raw adds bytes as they are (terminal control such as clearing the screen).
func (r *Renderer) Raw(b string) {
	if r.tty {
		r.buf = append(r.buf, b...)
	}
}

// Take returns the output gathered so far and empties the buffer. The slice
// is valid until the next call that adds output.
func (r *Renderer) Take() []byte {
	b := r.buf
	r.buf = r.buf[:0]
	return b
}

// appendClean appends s with control characters replaced, so that a peer's
// text can neither drive the terminal (move the cursor, clear the screen,
// set the title) nor reorder what is shown: a tab becomes a space; escape,
// carriage return, newline, C1 controls and the Unicode bidirectional
// controls (which can make "txt.exe" read as "exe.txt") become '?'. Invalid
// UTF-8 becomes U+FFFD.
func appendClean(dst []byte, s string) []byte {
	for _, c := range s {
		switch {
		case c == '\t':
			dst = append(dst, ' ')
		case c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || isBidiControl(c):
			dst = append(dst, '?')
		default:
			dst = utf8.AppendRune(dst, c)
		}
	}
	return dst
}

// isBidiControl reports whether c is one of Unicode's explicit
// bidirectional formatting characters (UAX #9): the marks, embeddings,
// overrides and isolates.
func isBidiControl(c rune) bool {
	switch {
	case c == 0x061c, c == 0x200e, c == 0x200f:
		return true
	case c >= 0x202a && c <= 0x202e, c >= 0x2066 && c <= 0x2069:
		return true
	}
	return false
}

// width returns how many terminal columns the runes take: combining marks
// and format characters none, East Asian wide characters and emoji two,
// everything else one.
func width(rs []rune) int {
	w := 0
	for _, c := range rs {
		w += runeWidth(c)
	}
	return w
}

func runeWidth(c rune) int {
	switch {
	case c >= 0x20 && c < 0x7f:
		return 1 // printable ASCII, the common case
	case unicode.In(c, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	case c >= 0x1100 && c <= 0x115f, // Hangul Jamo
		c >= 0x2e80 && c <= 0xa4cf && c != 0x303f, // CJK .. Yi
		c >= 0xac00 && c <= 0xd7a3,                // Hangul syllables
		c >= 0xf900 && c <= 0xfaff,                // CJK compatibility ideographs
		c >= 0xfe30 && c <= 0xfe4f,                // CJK compatibility forms
		c >= 0xff00 && c <= 0xff60,                // fullwidth forms
		c >= 0xffe0 && c <= 0xffe6,
		c >= 0x1f300 && c <= 0x1f64f, // pictographs, emoticons
		c >= 0x1f900 && c <= 0x1f9ff,
		c >= 0x20000 && c <= 0x3fffd:
		return 2
	}
	return 1
}
