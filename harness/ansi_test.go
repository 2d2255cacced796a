package harness

import (
	"strings"
	"testing"
)

func TestStripANSI(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello\r\n", "hello\n"},
		{"erase line and redraw", "\r\x1b[K> half a li", "> half a li"},
		{"colour", "\x1b[1;31mred\x1b[0m", "red"},
		{"private mode", "\x1b[?25lx\x1b[?25h", "x"},
		{"osc title with BEL", "\x1b]0;title\x07text", "text"},
		{"osc title with ST", "\x1b]0;title\x1b\\text", "text"},
		{"charset", "\x1b(Bok", "ok"},
		{"save and restore cursor", "\x1b7a\x1b8", "a"},
		{"backspace dropped", "ab\b \b", "ab "},
		{"utf-8 kept", "日本\r\n", "日本\n"},
	}
	for _, tt := range tests {
		if got := StripANSI(tt.in); got != tt.want {
			t.Errorf("%s: StripANSI(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// The parser must not care where reads split the output: a sequence or a
// character cut in two is kept until its end arrives.
func TestStripANSISplitAtEveryByte(t *testing.T) {
	in := "\x1b[1;31m日本\x1b[0m\r\n\x1b]0;t\x07> ok\x1b[K"
	want := StripANSI(in)
	for i := range len(in) + 1 {
		var p vtParser
		var s streamText
		p.feed([]byte(in[:i]), &s)
		p.feed([]byte(in[i:]), &s)
		if string(s.b) != want {
			t.Errorf("split at %d: %q, want %q", i, s.b, want)
		}
	}
}

func TestScreen(t *testing.T) {
	tests := []struct {
		name, out, line, before string
	}{
		{"stars", "Password: ***", "Password: ***", "Password: ***"},
		{"backspace space backspace", "Password: **\b \b", "Password: *", "Password: *"},
		{"cursor left and erase", "Password: **\x1b[D\x1b[K", "Password: *", "Password: *"},
		{"redraw whole line", "Password: **\r\x1b[KPassword: ", "Password:", "Password: "},
		{"message above the input line", "> half\r\x1b[Kbob 10:00:00 hi\r\n> half", "> half", "> half"},
		{"cursor in the middle", "> abcd\x1b[2D", "> abcd", "> ab"},
		{"delete character", "> abcd\x1b[2D\x1b[P", "> abd", "> ab"},
		{"column", "> abcd\x1b[3G", "> abcd", "> "},
	}
	for _, tt := range tests {
		s := newScreen(TermCols, TermRows)
		var p vtParser
		p.feed([]byte(tt.out), s)
		if got := s.line(); got != tt.line {
			t.Errorf("%s: line %q, want %q", tt.name, got, tt.line)
		}
		if got := s.beforeCursor(); got != tt.before {
			t.Errorf("%s: before cursor %q, want %q", tt.name, got, tt.before)
		}
	}
}

func TestScreenWrapsAtTheLastColumn(t *testing.T) {
	s := newScreen(10, 5)
	var p vtParser
	p.feed([]byte(strings.Repeat("x", 10)+"y"), s)
	if got, want := s.text(), "xxxxxxxxxx\ny"; got != want {
		t.Errorf("screen %q, want %q", got, want)
	}
}

func TestScreenWideCharacters(t *testing.T) {
	s := newScreen(TermCols, TermRows)
	var p vtParser
	// The client moves the cursor back by columns, not characters: two
	// columns per ideograph.
	p.feed([]byte("> 日本x\x1b[3D"), s)
	if got, want := s.beforeCursor(), "> 日"; got != want {
		t.Errorf("before cursor %q, want %q", got, want)
	}
	if got, want := s.line(), "> 日本x"; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
}
