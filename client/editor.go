package client

import (
	"unicode"

	"chat/internal/term"
)

// maxHistory bounds the lines Up/Down can recall.
const maxHistory = 200

// Editor is the line being typed: its characters, the cursor, and the
// history of sent lines. It is pure: keys in, state out; the renderer draws
// it.
type Editor struct {
	line    []rune
	cursor  int      // 0..len(line)
	history [][]rune // oldest first
	hpos    int      // index into history while walking it; len(history) = the live line
	live    []rune   // the line being typed before Up started walking the history
}

// Line returns the text typed so far.
func (e *Editor) Line() string { return string(e.line) }

// Runes returns the text typed so far; the caller must not modify it.
func (e *Editor) Runes() []rune { return e.line }

// Cursor returns the cursor position in characters.
func (e *Editor) Cursor() int { return e.cursor }

// Empty reports whether nothing is typed.
func (e *Editor) Empty() bool { return len(e.line) == 0 }

// Edit applies an editing key and reports whether it was one. Enter, Ctrl-C,
// Ctrl-D and Ctrl-L are not editing keys: the caller handles them.
func (e *Editor) Edit(k term.Key) bool {
	switch k.Kind {
	case term.KeyRune:
		e.Insert(k.Rune)
	case term.KeyBackspace:
		if e.cursor > 0 {
			e.line = append(e.line[:e.cursor-1], e.line[e.cursor:]...)
			e.cursor--
		}
	case term.KeyDelete:
		if e.cursor < len(e.line) {
			e.line = append(e.line[:e.cursor], e.line[e.cursor+1:]...)
		}
	case term.KeyCtrlU:
		// Delete to the start of the line, as in readline and the tty driver.
		e.line = append(e.line[:0], e.line[e.cursor:]...)
		e.cursor = 0
	case term.KeyCtrlW:
		// Delete the word before the cursor and the spaces after it.
		i := e.cursor
		for i > 0 && unicode.IsSpace(e.line[i-1]) {
			i--
		}
		for i > 0 && !unicode.IsSpace(e.line[i-1]) {
			i--
		}
		e.line = append(e.line[:i], e.line[e.cursor:]...)
		e.cursor = i
	case term.KeyLeft:
		if e.cursor > 0 {
			e.cursor--
		}
	case term.KeyRight:
		if e.cursor < len(e.line) {
			e.cursor++
		}
	case term.KeyHome, term.KeyCtrlA:
		e.cursor = 0
	case term.KeyEnd, term.KeyCtrlE:
		e.cursor = len(e.line)
	case term.KeyUp:
		e.up()
	case term.KeyDown:
		e.down()
	case term.KeyIgnored:
	default:
		return false
	}
	return true
}

// Insert inserts r at the cursor.
func (e *Editor) Insert(r rune) {
	e.line = append(e.line, 0)
	copy(e.line[e.cursor+1:], e.line[e.cursor:])
	e.line[e.cursor] = r
	e.cursor++
}

// Submit returns the line, records it in the history (unless it is empty or
// repeats the previous entry) and starts a new empty line.
func (e *Editor) Submit() string {
	s := string(e.line)
	if len(e.line) > 0 && (len(e.history) == 0 || string(e.history[len(e.history)-1]) != s) {
		e.history = append(e.history, append([]rune(nil), e.line...))
		if len(e.history) > maxHistory {
			e.history = e.history[1:]
		}
	}
	e.Reset()
	return s
}

// Reset starts a new empty line without recording anything.
func (e *Editor) Reset() {
	e.line, e.cursor, e.live = nil, 0, nil
	e.hpos = len(e.history)
}

// up recalls the previous history entry, keeping the line in progress so
// that Down can bring it back.
func (e *Editor) up() {
	if e.hpos == 0 || len(e.history) == 0 {
		return
	}
	if e.hpos >= len(e.history) {
		e.hpos = len(e.history)
		e.live = append([]rune(nil), e.line...)
	}
	e.hpos--
	e.set(e.history[e.hpos])
}

func (e *Editor) down() {
	if e.hpos >= len(e.history) {
		return
	}
	e.hpos++
	if e.hpos == len(e.history) {
		e.set(e.live)
		return
	}
	e.set(e.history[e.hpos])
}

// set replaces the line with a copy of r (history entries stay unchanged
// when the recalled line is edited) and puts the cursor at its end.
func (e *Editor) set(r []rune) {
	e.line = append(e.line[:0:0], r...)
	e.cursor = len(e.line)
}
