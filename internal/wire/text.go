package wire

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The protocol's text rules and the small text helpers that every side
// (the hub, the IRC codec, the users file, the client) needs alike.

// ValidName checks a user or room name against the protocol's rules: 1 to
// MaxNameRunes characters of valid UTF-8, no white space, control or
// format characters, and not the server's own name "*". Format characters
// (Unicode category Cf: bidirectional overrides, zero-width spaces and
// joiners) are refused because they let one name pass for another on the
// screen ("alice" and "alice\u200b") or reorder what follows it.
func ValidName(s string) error {
	switch {
	case s == "":
		return errors.New("a name cannot be empty")
	case !utf8.ValidString(s):
		return errors.New("a name must be valid UTF-8")
	case s == ServerName:
		return fmt.Errorf("the name %q is reserved for the server", s)
	}
	n := 0
	for _, r := range s {
		n++
		if n > MaxNameRunes {
			return fmt.Errorf("a name has at most %d characters", MaxNameRunes)
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return errors.New("a name cannot hold spaces, control or invisible formatting characters")
		}
	}
	return nil
}

// QuoteName quotes a name for an error text, shortened so that a huge bogus
// name cannot blow up the reply.
func QuoteName(s string) string {
	const max = 2 * MaxNameRunes
	if len(s) > max {
		return fmt.Sprintf("%q…", CutAtRune(s, max))
	}
	return fmt.Sprintf("%q", s)
}

// CutAtRune returns s cut to at most n bytes, never inside a UTF-8
// character.
func CutAtRune[T ~string | ~[]byte](s T, n int) T {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Plural counts n things for a sentence: "1 room", "3 rooms".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// RoundDuration rounds d for a sentence: whole seconds, or milliseconds
// below one second.
func RoundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// BadNameText is the reply text for a user or room name (kind) that breaks
// the rules of ValidName.
func BadNameText(kind, name string) string {
	return fmt.Sprintf("bad %s name %s: use 1 to %d characters without spaces", kind, QuoteName(name), MaxNameRunes)
}

// FoldName is the key user and room names are compared by: ASCII letters
// in lower case, every other character as it is (IRC's CASEMAPPING=ascii).
// Unicode case folding would need a normalisation policy the naming rules
// do not have.
func FoldName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return foldFrom(name, i)
		}
	}
	return name
}

func foldFrom(name string, i int) string {
	b := []byte(name)
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// MatchMask reports whether an IRC mask matches s: "*" stands for any
// run of characters, "/" included, "?" for any one character, and every
// other character for itself, case included (a caller that wants case
// ignored folds both).
func MatchMask(mask, s string) bool {
	i, j := 0, 0
	star, back := -1, 0 // after the last "*" seen, and where s resumes
	for j < len(s) {
		if i < len(mask) {
			c, n := utf8.DecodeRuneInString(mask[i:])
			switch {
			case c == '*':
				i += n
				star, back = i, j
				continue
			case c == '?':
				_, m := utf8.DecodeRuneInString(s[j:])
				i, j = i+n, j+m
				continue
			case strings.HasPrefix(s[j:], mask[i:i+n]):
				i, j = i+n, j+n
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last "*" take one more character and try again.
		_, m := utf8.DecodeRuneInString(s[back:])
		back += m
		i, j = star, back
	}
	for i < len(mask) && mask[i] == '*' {
		i++
	}
	return i == len(mask)
}
