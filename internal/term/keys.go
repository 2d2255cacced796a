package term

import "unicode/utf8"

// The key decoder: the one place where bytes typed on a raw terminal become
// keys, for the client's line editor and for the password editor alike, so
// that an escape sequence means the same at either prompt.

// KeyKind says which key a Key is.
type KeyKind int

// Keys the editors act on. KeyNone means "no whole key yet"; KeyIgnored is a
// key (or byte) that was recognised and consumed but means nothing here.
const (
	KeyNone KeyKind = iota
	KeyRune
	KeyEnter
	KeyBackspace
	KeyDelete
	KeyLeft
	KeyRight
	KeyUp
	KeyDown
	KeyHome
	KeyEnd
	KeyCtrlA
	KeyCtrlC
	KeyCtrlD
	KeyCtrlE
	KeyCtrlL
	KeyCtrlU
	KeyCtrlW
	KeyIgnored
)

var keyNames = [...]string{
	KeyNone: "none", KeyRune: "rune", KeyEnter: "enter", KeyBackspace: "backspace",
	KeyDelete: "delete", KeyLeft: "left", KeyRight: "right", KeyUp: "up", KeyDown: "down",
	KeyHome: "home", KeyEnd: "end", KeyCtrlA: "ctrl-a", KeyCtrlC: "ctrl-c",
	KeyCtrlD: "ctrl-d", KeyCtrlE: "ctrl-e", KeyCtrlL: "ctrl-l", KeyCtrlU: "ctrl-u",
	KeyCtrlW: "ctrl-w", KeyIgnored: "ignored",
}

func (k KeyKind) String() string {
	if int(k) < len(keyNames) {
		return keyNames[k]
	}
	return "key?"
}

// Key is one decoded keypress. Rune is set for KeyRune.
type Key struct {
	Kind KeyKind
	Rune rune
}

// Control bytes.
const (
	ctrlA = 0x01
	ctrlC = 0x03
	ctrlD = 0x04
	ctrlE = 0x05
	ctrlH = 0x08 // Backspace on some terminals
	ctrlL = 0x0c
	ctrlU = 0x15
	ctrlW = 0x17
	// Esc is the byte that starts an escape sequence, and the one the
	// Escape key sends alone.
	Esc = 0x1b
	del = 0x7f // Backspace on most terminals
	// MaxEscLen bounds an escape sequence: a longer one is garbage and is
	// swallowed, so no partial sequence kept for the next read is longer.
	MaxEscLen = 16
)

// DecodeKey decodes the first key at the start of b and returns it with the
// bytes after it. When b holds only the beginning of a key (a partial UTF-8
// character or escape sequence, or nothing at all) it returns KeyNone and b
// unchanged: the caller keeps those bytes and adds the next read to them.
// Every other input consumes at least one byte, so a loop over DecodeKey
// always ends.
func DecodeKey(b []byte) (k Key, rest []byte) {
	if len(b) == 0 {
		return Key{}, b
	}
	c := b[0]
	switch c {
	case '\r', '\n':
		return Key{Kind: KeyEnter}, b[1:]
	case del, ctrlH:
		return Key{Kind: KeyBackspace}, b[1:]
	case ctrlA:
		return Key{Kind: KeyCtrlA}, b[1:]
	case ctrlC:
		return Key{Kind: KeyCtrlC}, b[1:]
	case ctrlD:
		return Key{Kind: KeyCtrlD}, b[1:]
	case ctrlE:
		return Key{Kind: KeyCtrlE}, b[1:]
	case ctrlL:
		return Key{Kind: KeyCtrlL}, b[1:]
	case ctrlU:
		return Key{Kind: KeyCtrlU}, b[1:]
	case ctrlW:
		return Key{Kind: KeyCtrlW}, b[1:]
	case Esc:
		return decodeEscape(b)
	}
	if c < 0x20 {
		return Key{Kind: KeyIgnored}, b[1:]
	}
	if c < utf8.RuneSelf {
		return Key{Kind: KeyRune, Rune: rune(c)}, b[1:]
	}
	if !utf8.FullRune(b) {
		return Key{}, b
	}
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError && n == 1 {
		// A byte that starts no character: drop it, it cannot be typed text.
		return Key{Kind: KeyIgnored}, b[1:]
	}
	if r >= 0x80 && r < 0xa0 {
		// C1 control characters are not text either.
		return Key{Kind: KeyIgnored}, b[n:]
	}
	return Key{Kind: KeyRune, Rune: r}, b[n:]
}

// decodeEscape decodes an escape sequence at the start of b (b[0] is ESC).
func decodeEscape(b []byte) (Key, []byte) {
	if len(b) < 2 {
		return Key{}, b
	}
	switch b[1] {
	case '[':
		return decodeCSI(b)
	case 'O':
		// SS3: ESC O x, sent by terminals in application cursor mode.
		if len(b) < 3 {
			return Key{}, b
		}
		return Key{Kind: finalKey(b[2])}, b[3:]
	case Esc:
		// ESC ESC: the first is a lone Escape; decode the second next.
		return Key{Kind: KeyIgnored}, b[1:]
	}
	// ESC x: Alt-x. Nothing uses it, swallow both bytes.
	n := 2
	if b[1] >= utf8.RuneSelf {
		if !utf8.FullRune(b[1:]) {
			return Key{}, b
		}
		_, size := utf8.DecodeRune(b[1:])
		n = 1 + size
	}
	return Key{Kind: KeyIgnored}, b[n:]
}

// decodeCSI decodes ESC [ parameters intermediates final.
func decodeCSI(b []byte) (Key, []byte) {
	for i := 2; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 0x30 && c <= 0x3f, c >= 0x20 && c <= 0x2f:
			// parameter or intermediate byte
			if i >= MaxEscLen {
				return Key{Kind: KeyIgnored}, b[i+1:]
			}
		case c >= 0x40 && c <= 0x7e:
			params := b[2:i]
			if c == '~' {
				return Key{Kind: tildeKey(params)}, b[i+1:]
			}
			return Key{Kind: finalKey(c)}, b[i+1:]
		default:
			// Not part of a CSI sequence: end the sequence before it, so
			// the byte is decoded as a key of its own.
			return Key{Kind: KeyIgnored}, b[i:]
		}
	}
	return Key{}, b
}

// finalKey maps the final byte of CSI or SS3 cursor sequences. Modifiers
// (ESC [ 1 ; 5 C for Ctrl-Right) are ignored: the key is still Right.
func finalKey(c byte) KeyKind {
	switch c {
	case 'A':
		return KeyUp
	case 'B':
		return KeyDown
	case 'C':
		return KeyRight
	case 'D':
		return KeyLeft
	case 'H':
		return KeyHome
	case 'F':
		return KeyEnd
	}
	return KeyIgnored
}

// tildeKey maps ESC [ n ~ sequences (VT220 editing keys).
func tildeKey(params []byte) KeyKind {
	// Only the first parameter names the key; "3;5" is Ctrl-Delete.
	n := 0
	for _, c := range params {
		if c == ';' {
			break
		}
		if c < '0' || c > '9' {
			return KeyIgnored
		}
		n = n*10 + int(c-'0')
		if n > 1000 {
			return KeyIgnored
		}
	}
	switch n {
	case 1, 7:
		return KeyHome
	case 4, 8:
		return KeyEnd
	case 3:
		return KeyDelete
	}
	return KeyIgnored
}
