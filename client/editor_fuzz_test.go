package client

import (
	"slices"
	"testing"
	"unicode"

	"chat/internal/term"
)

// FuzzEditor types arbitrary bytes: the key decoder turns them into keys
// (the rest of an incomplete key waits, as in the client's loop) and the
// line editor applies them. After every key the cursor must lie within the
// line and the line must be what a plain model of a line editor predicts
// (insert at the cursor, backspace and delete around it, the cursor moves,
// Ctrl-U and Ctrl-W, the history walked by Up and Down, Enter submitting);
// nothing may panic, and no control character may get into the line.
func FuzzEditor(f *testing.F) {
	for _, s := range []string{
		"hello\x7f\x7fp me\r",                        // type, backspace, Enter
		"abc\x1b[D\x1b[DX\x1b[3~\x1b[H\x08Y\x1b[F!",  // edit in the middle
		"one\rtwo\r\x1b[A\x1b[A\x1b[Bx\x1b[B\x1b[A",  // history
		"foo bar  \x17\x17baz\x1b[D\x15",             // Ctrl-W, Ctrl-U
		"é😀中\x1b[D\x7f\x01Z\x05\x1bOD",               // multi-byte, Ctrl-A/E, SS3
		"\x1b[1;5C\x1b[99~\x1bx\x1b\x1b\xc2\x85\xff", // odd sequences
		"\x03\x04\x0c\x1b[",                          // keys the editor leaves to the caller
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var e Editor
		var m lineModel
		rest := in
		for len(rest) > 0 {
			k, r := term.DecodeKey(rest)
			if k.Kind == term.KeyNone {
				break // the start of a key: the loop would wait for more
			}
			if len(r) >= len(rest) {
				t.Fatalf("DecodeKey(%q) consumed nothing", rest)
			}
			rest = r
			if k.Kind == term.KeyEnter {
				got, want := e.Submit(), m.submit()
				if got != want {
					t.Fatalf("Enter submitted %q, model %q", got, want)
				}
			} else {
				handled := e.Edit(k)
				if want := m.edit(k); handled != want {
					t.Fatalf("Edit(%v) returned %v, model %v", k.Kind, handled, want)
				}
			}
			if c := e.Cursor(); c < 0 || c > len(e.Runes()) {
				t.Fatalf("after %v: cursor %d outside the line %q", k.Kind, c, e.Line())
			}
			if e.Line() != string(m.line) || e.Cursor() != m.cursor {
				t.Fatalf("after %v: line %q cursor %d, model %q cursor %d", k.Kind, e.Line(), e.Cursor(), string(m.line), m.cursor)
			}
			if e.Empty() != (len(m.line) == 0) {
				t.Fatalf("Empty %v for %q", e.Empty(), e.Line())
			}
			for _, c := range e.Runes() {
				if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
					t.Fatalf("control character %U in the line %q", c, e.Line())
				}
			}
		}
	})
}

// lineModel is the editor as a person would describe it, written without
// looking at how Editor does it: the line, the cursor, the submitted lines
// (no empty ones, no repeat of the last one, at most maxHistory) and where
// Up/Down stand in them.
type lineModel struct {
	line    []rune
	cursor  int
	history []string
	pos     int    // index into history while walking it; len(history): the typed line
	saved   string // the typed line, kept while walking the history
}

func (m *lineModel) set(s string) {
	m.line = []rune(s)
	m.cursor = len(m.line)
}

func (m *lineModel) edit(k term.Key) bool {
	before, after := slices.Clone(m.line[:m.cursor]), slices.Clone(m.line[m.cursor:])
	switch k.Kind {
	case term.KeyRune:
		m.line = slices.Concat(before, []rune{k.Rune}, after)
		m.cursor++
	case term.KeyBackspace:
		if len(before) > 0 {
			m.line = slices.Concat(before[:len(before)-1], after)
			m.cursor--
		}
	case term.KeyDelete:
		if len(after) > 0 {
			m.line = slices.Concat(before, after[1:])
		}
	case term.KeyLeft:
		m.cursor = max(0, m.cursor-1)
	case term.KeyRight:
		m.cursor = min(len(m.line), m.cursor+1)
	case term.KeyHome, term.KeyCtrlA:
		m.cursor = 0
	case term.KeyEnd, term.KeyCtrlE:
		m.cursor = len(m.line)
	case term.KeyCtrlU:
		m.line, m.cursor = after, 0
	case term.KeyCtrlW:
		// The word before the cursor goes, with the blanks between it and
		// the cursor.
		i := len(before)
		for i > 0 && unicode.IsSpace(before[i-1]) {
			i--
		}
		for i > 0 && !unicode.IsSpace(before[i-1]) {
			i--
		}
		m.line, m.cursor = slices.Concat(before[:i], after), i
	case term.KeyUp:
		if m.pos > 0 {
			if m.pos == len(m.history) {
				m.saved = string(m.line)
			}
			m.pos--
			m.set(m.history[m.pos])
		}
	case term.KeyDown:
		if m.pos < len(m.history) {
			m.pos++
			if m.pos == len(m.history) {
				m.set(m.saved)
			} else {
				m.set(m.history[m.pos])
			}
		}
	case term.KeyIgnored:
	default:
		return false // Ctrl-C, Ctrl-D, Ctrl-L: the caller's business
	}
	return true
}

func (m *lineModel) submit() string {
	s := string(m.line)
	if s != "" && (len(m.history) == 0 || m.history[len(m.history)-1] != s) {
		m.history = append(m.history, s)
		if len(m.history) > maxHistory {
			m.history = m.history[1:]
		}
	}
	m.line, m.cursor, m.saved, m.pos = nil, 0, "", len(m.history)
	return s
}
