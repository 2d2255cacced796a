package server

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"chat/internal/wire"
)

// ValidName checks a user or room name against the protocol's rules: 1 to
// wire.MaxNameRunes characters of valid UTF-8, no white space, control or
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
	case s == wire.ServerName:
		return fmt.Errorf("the name %q is reserved for the server", s)
	}
	n := 0
	for _, r := range s {
		n++
		if n > wire.MaxNameRunes {
			return fmt.Errorf("a name has at most %d characters", wire.MaxNameRunes)
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return errors.New("a name cannot hold spaces, control or invisible formatting characters")
		}
	}
	return nil
}

// quoteName quotes a name for an error text, shortened so that a huge bogus
// name cannot blow up the reply.
func quoteName(s string) string {
	const max = 2 * wire.MaxNameRunes
	if len(s) > max {
		return fmt.Sprintf("%q…", cutAtRune(s, max))
	}
	return fmt.Sprintf("%q", s)
}

// cutAtRune returns s cut to at most n bytes, never inside a UTF-8
// character.
func cutAtRune[T ~string | ~[]byte](s T, n int) T {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
