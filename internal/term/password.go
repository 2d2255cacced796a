package term

import (
	"unicode/utf8"
)

// PasswordResult says what a PasswordEditor's input amounted to.
type PasswordResult int

const (
	// PasswordTyping means the password is not finished yet.
	PasswordTyping PasswordResult = iota
	// PasswordDone means Enter was typed; Value holds the password.
	PasswordDone
	// PasswordCancel means Ctrl-D: no password.
	PasswordCancel
	// PasswordInterrupt means Ctrl-C.
	PasswordInterrupt
)

// Key bytes the password editor understands.
const (
	keyCtrlC     = 0x03
	keyCtrlD     = 0x04
	keyBackspace = 0x08 // ^H, what some terminals send for Backspace
	keyCtrlU     = 0x15
	keyEsc       = 0x1b
	keyDelete    = 0x7f // DEL, what most terminals send for Backspace
)

// PasswordEditor edits a password typed on a raw terminal, byte by byte, and
// says what to echo: one '*' per character (a whole UTF-8 character, however
// many bytes), "\b \b" per erased character. It is pure: no I/O, so it is
// shared by every reader of passwords and tested without a terminal.
//
// Escape sequences (arrow keys and the like) and other control bytes are
// ignored: a password has no cursor to move.
type PasswordEditor struct {
	secret  []byte // the password so far, valid UTF-8
	lens    []int  // byte length of each character in secret, for Backspace
	pending []byte // an incomplete UTF-8 character or escape sequence
}

// Len returns the number of characters typed (the number of stars shown).
func (e *PasswordEditor) Len() int { return len(e.lens) }

// Value returns the password typed so far.
func (e *PasswordEditor) Value() string { return string(e.secret) }

// Wipe forgets the password, overwriting its bytes.
func (e *PasswordEditor) Wipe() {
	clear(e.secret)
	clear(e.pending)
	e.secret, e.lens, e.pending = e.secret[:0], e.lens[:0], e.pending[:0]
}

// Feed processes input bytes. It appends what to echo to echo and returns it,
// the result, and the bytes after the one that ended the input (Enter,
// Ctrl-D, Ctrl-C), which belong to whatever reads the terminal next.
// On PasswordCancel and PasswordInterrupt the password is wiped.
func (e *PasswordEditor) Feed(p []byte, echo []byte) (out []byte, res PasswordResult, rest []byte) {
	buf := p
	if len(e.pending) > 0 {
		// Join the kept partial sequence with the new bytes.
		buf = append(e.pending, p...)
		e.pending = nil
	}
	for len(buf) > 0 {
		c := buf[0]
		switch {
		case c == '\r' || c == '\n':
			return echo, PasswordDone, buf[1:]
		case c == keyCtrlC:
			e.Wipe()
			return echo, PasswordInterrupt, buf[1:]
		case c == keyCtrlD:
			// Ctrl-D cancels, typed text or not (docs/DESIGN.md): a
			// person who has started a password and changes their mind
			// should not have to erase it first.
			e.Wipe()
			return echo, PasswordCancel, buf[1:]
		case c == keyDelete || c == keyBackspace:
			if n := len(e.lens); n > 0 {
				l := e.lens[n-1]
				clear(e.secret[len(e.secret)-l:])
				e.secret = e.secret[:len(e.secret)-l]
				e.lens = e.lens[:n-1]
				echo = append(echo, "\b \b"...)
			}
			buf = buf[1:]
		case c == keyCtrlU:
			for range e.lens {
				echo = append(echo, "\b \b"...)
			}
			clear(e.secret)
			e.secret, e.lens = e.secret[:0], e.lens[:0]
			buf = buf[1:]
		case c == keyEsc:
			n, complete := escapeLen(buf)
			if !complete {
				e.pending = append(e.pending[:0], buf...)
				return echo, PasswordTyping, nil
			}
			buf = buf[n:]
		case c < 0x20:
			buf = buf[1:] // other control keys mean nothing here
		case c < utf8.RuneSelf:
			e.add(buf[:1])
			echo = append(echo, '*')
			buf = buf[1:]
		default:
			if !utf8.FullRune(buf) {
				e.pending = append(e.pending[:0], buf...)
				return echo, PasswordTyping, nil
			}
			r, n := utf8.DecodeRune(buf)
			if r != utf8.RuneError || n > 1 {
				e.add(buf[:n])
				echo = append(echo, '*')
			}
			// An invalid byte is dropped: it cannot be part of a password
			// that the server accepts as UTF-8.
			buf = buf[n:]
		}
	}
	return echo, PasswordTyping, nil
}

func (e *PasswordEditor) add(b []byte) {
	e.secret = append(e.secret, b...)
	e.lens = append(e.lens, len(b))
}

// escapeLen returns the length of the escape sequence at the start of b
// (which starts with ESC), and whether it is complete. It knows CSI
// (ESC [ params final), SS3 (ESC O x) and two-byte ESC x sequences.
func escapeLen(b []byte) (n int, complete bool) {
	if len(b) < 2 {
		return 0, false
	}
	switch b[1] {
	case '[':
		for i := 2; i < len(b); i++ {
			if b[i] >= 0x40 && b[i] <= 0x7e {
				return i + 1, true
			}
			if b[i] < 0x20 || b[i] > 0x3f {
				// Not a parameter or intermediate byte: end the sequence
				// here rather than swallow typed text.
				return i, true
			}
		}
		return 0, false
	case 'O':
		if len(b) < 3 {
			return 0, false
		}
		return 3, true
	default:
		return 2, true
	}
}
