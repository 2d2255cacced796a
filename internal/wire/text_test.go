package wire

import (
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "alice", "Ünïcødé", strings.Repeat("z", 20), "a:b", "日本語"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "*", "a b", "a\tb", "a\nb", strings.Repeat("z", 21), "\xff", "a\u00a0b", "a\x7f",
		"alice\u200b", "\u202eecila", "a\u2066b", "\ufeffbob", "a\u00adb"} {
		if ValidName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCutAtRune(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"héllo", 2, "h"}, // é is two bytes: not cut in half
		{"héllo", 3, "hé"},
		{"日本", 4, "日"},
		{"日本", 0, ""},
	} {
		if got := CutAtRune(c.in, c.n); got != c.want {
			t.Errorf("CutAtRune(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if got := string(CutAtRune([]byte(c.in), c.n)); got != c.want {
			t.Errorf("CutAtRune([]byte(%q), %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestPluralAndQuoteName(t *testing.T) {
	if got := Plural(1, "room", "rooms"); got != "1 room" {
		t.Errorf("Plural(1) = %q", got)
	}
	if got := Plural(0, "room", "rooms"); got != "0 rooms" {
		t.Errorf("Plural(0) = %q", got)
	}
	if got := QuoteName(strings.Repeat("x", 100)); got != `"`+strings.Repeat("x", 2*MaxNameRunes)+`"…` {
		t.Errorf("QuoteName of a long name = %q", got)
	}
}
