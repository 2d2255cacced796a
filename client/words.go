package client

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"chat/internal/wire"
)

// cutWord splits a typed line into its first word and the rest. White space
// before the word and between it and the rest is dropped; the rest is kept
// as typed, so that a message keeps its own spacing (and its trailing
// blanks: they are part of what the user typed).
func cutWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeftFunc(s[i:], unicode.IsSpace)
}

// runeCount is a length as the limits count it: in characters,
// not bytes.
func runeCount(s string) int { return utf8.RuneCountInString(s) }

// joinNames makes the one-line list of names the names and course modes
// show for a Who reply: the names, sorted as the server sent them, separated
// by one space ("A B").
func joinNames(users []wire.User) string {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Name
	}
	return strings.Join(names, " ")
}

// trimRightSpace drops the white space at the end of s.
func trimRightSpace(s string) string { return strings.TrimRightFunc(s, unicode.IsSpace) }
