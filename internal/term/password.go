package term

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

// PasswordEditor edits a password typed on a raw terminal, key by key (as
// DecodeKey reads them), and says what to echo: one '*' per character (a whole UTF-8 character, however
// many bytes), "\b \b" per erased character. It is pure: no I/O, so it is
// shared by every reader of passwords and tested without a terminal.
//
// Escape sequences (arrow keys and the like) and other control bytes are
// ignored: a password has no cursor to move.
type PasswordEditor struct {
	secret  []byte // the password so far, valid UTF-8
	lens    []int  // byte length of each character in secret, for Backspace
	pending []byte // an incomplete key (UTF-8 character or escape sequence), kept for the next Feed
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
		k, rest := DecodeKey(buf)
		switch k.Kind {
		case KeyNone:
			// The start of a key: keep it for the next Feed.
			e.pending = append(e.pending[:0], buf...)
			return echo, PasswordTyping, nil
		case KeyEnter:
			return echo, PasswordDone, rest
		case KeyCtrlC:
			e.Wipe()
			return echo, PasswordInterrupt, rest
		case KeyCtrlD:
			// Ctrl-D cancels, typed text or not (docs/DESIGN.md): a
			// person who has started a password and changes their mind
			// should not have to erase it first.
			e.Wipe()
			return echo, PasswordCancel, rest
		case KeyBackspace:
			if n := len(e.lens); n > 0 {
				l := e.lens[n-1]
				clear(e.secret[len(e.secret)-l:])
				e.secret = e.secret[:len(e.secret)-l]
				e.lens = e.lens[:n-1]
				echo = append(echo, "\b \b"...)
			}
		case KeyCtrlU:
			for range e.lens {
				echo = append(echo, "\b \b"...)
			}
			clear(e.secret)
			e.secret, e.lens = e.secret[:0], e.lens[:0]
		case KeyRune:
			e.add(buf[:len(buf)-len(rest)])
			echo = append(echo, '*')
		default:
			// Cursor and editing keys, other control keys, bytes that
			// start no character: a password has no cursor, and an
			// invalid byte cannot be part of a password the server
			// accepts as UTF-8.
		}
		buf = rest
	}
	return echo, PasswordTyping, nil
}

func (e *PasswordEditor) add(b []byte) {
	e.secret = append(e.secret, b...)
	e.lens = append(e.lens, len(b))
}
