package wire

import (
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatchMask(t *testing.T) {
	for _, tc := range []struct {
		mask, s string
		want    bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "a/b!c@d", true},
		{"?", "", false},
		{"?", "é", true},
		{"??", "é", false},
		{"a*b", "ab", true},
		{"a*b", "axxb", true},
		{"a*b", "axxbx", false},
		{"a*b*c", "abxbc", true},
		{"*a*a", "aaaa", true},
		{"**a", "ba", true},
		{"a**", "a", true},
		{"*!*@chat", "bob!~b@chat", true},
		{"*!*@chat", "bob!~b@chatx", false},
		{"a?c", "a/c", true},
		{`a\*`, `a\bc`, true},
		{"[a]", "a", false},
		{"[a]", "[a]", true},
		{"x\xffy", "x\xffy", true},
	} {
		if got := MatchMask(tc.mask, tc.s); got != tc.want {
			t.Errorf("MatchMask(%q, %q) = %v, want %v", tc.mask, tc.s, got, tc.want)
		}
	}
}

// FuzzMatchMask: where path.Match reads a pattern as a mask does (no "/",
// "\\", "[" or "]", valid UTF-8), the two agree.
func FuzzMatchMask(f *testing.F) {
	for _, seed := range [][2]string{{"*", "bob!bob@chat"}, {"b?b*", "bobby"}, {"*a*a*", "banana"}, {"é?", "éé"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, mask, s string) {
		got := MatchMask(mask, s)
		if strings.ContainsAny(mask+s, "/\\[]") || !utf8.ValidString(mask) || !utf8.ValidString(s) {
			return
		}
		if want, err := path.Match(mask, s); err == nil && got != want {
			t.Fatalf("MatchMask(%q, %q) = %v, path.Match %v", mask, s, got, want)
		}
	})
}
