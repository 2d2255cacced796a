package client

import "testing"

func TestRenderer(t *testing.T) {
	type step func(r *Renderer)
	draw := func(prompt, line string, cursor int) step {
		return func(r *Renderer) { r.Draw(prompt, []rune(line), cursor) }
	}
	print := func(s string) step { return func(r *Renderer) { r.Print(s) } }
	echo := func(s string) step { return func(r *Renderer) { r.Echo([]byte(s)) } }
	inval := func(r *Renderer) { r.Invalidate() }
	newline := func(r *Renderer) { r.Newline() }
	hide := func(r *Renderer) { r.Hide() }
	width := func(n int) step { return func(r *Renderer) { r.SetWidth(n) } }
	tests := []struct {
		name  string
		tty   bool
		steps []step
		want  string
	}{
		{"first prompt", true, []step{draw("> ", "", 0)}, "\r\x1b[K> "},
		{"message above a half-typed line", true,
			[]step{draw("> ", "hel", 3), print("bob 14:03:07 hi"), draw("> ", "hel", 3)},
			"\r\x1b[K> hel" + "\r\x1b[Kbob 14:03:07 hi\r\n" + "\r\x1b[K> hel"},
		{"several messages, one redraw", true,
			[]step{draw("> ", "x", 1), print("a"), print("b"), draw("> ", "x", 1)},
			"\r\x1b[K> x" + "\r\x1b[Ka\r\nb\r\n" + "\r\x1b[K> x"},
		{"cursor placed back in the middle", true,
			[]step{draw("> ", "hello", 2)}, "\r\x1b[K> hello\x1b[3D"},
		{"wide characters move two columns", true,
			[]step{draw("> ", "a漢字", 1)}, "\r\x1b[K> a漢字\x1b[4D"},
		{"echo at end when shown", true,
			[]step{draw("> ", "", 0), echo("a")}, "\r\x1b[K> a"},
		{"echo skipped when stale, redraw instead", true,
			[]step{draw("> ", "", 0), inval, echo("a"), draw("> ", "a", 1)}, "\r\x1b[K> \r\x1b[K> a"},
		{"draw is a no-op when current", true,
			[]step{draw("> ", "a", 1), draw("> ", "a", 1)}, "\r\x1b[K> a"},
		{"enter keeps the typed line", true,
			[]step{draw("> ", "hi", 2), newline, draw("> ", "", 0)}, "\r\x1b[K> hi\r\n\r\x1b[K> "},
		{"password prompt redrawn with stars", true,
			[]step{draw("Password: ", "***", 3), print("* 14:03:07 bob entered lounge"), draw("Password: ", "***", 3)},
			"\r\x1b[KPassword: ***\r\x1b[K* 14:03:07 bob entered lounge\r\n\r\x1b[KPassword: ***"},
		{"hide erases", true, []step{draw("> ", "a", 1), hide}, "\r\x1b[K> a\r\x1b[K"},
		{"control characters made harmless", true, []step{print("evil\x1b[2J\r\ttext")}, "evil?[2J? text\r\n"},
		{"long line scrolls to keep the cursor in view", true,
			[]step{width(20), draw("> ", "abcdefghijklmnopqrstuvwxyz", 26)}, "\r\x1b[K> jklmnopqrstuvwxyz"},
		{"scrolled line keeps its window when the cursor moves inside it", true,
			[]step{width(20), draw("> ", "abcdefghijklmnopqrstuvwxyz", 26), inval, draw("> ", "abcdefghijklmnopqrstuvwxyz", 20)},
			"\r\x1b[K> jklmnopqrstuvwxyz" + "\r\x1b[K> jklmnopqrstuvwxyz\x1b[6D"},
		{"cursor left of the window scrolls back", true,
			[]step{width(20), draw("> ", "abcdefghijklmnopqrstuvwxyz", 26), inval, draw("> ", "abcdefghijklmnopqrstuvwxyz", 0)},
			"\r\x1b[K> jklmnopqrstuvwxyz" + "\r\x1b[K> abcdefghijklmnopq\x1b[17D"},
		{"plain output has no escapes", false,
			[]step{draw("> ", "a", 1), print("bob 14:03:07 hi"), echo("x"), newline, print("two")},
			"bob 14:03:07 hi\ntwo\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRenderer(tt.tty)
			for _, s := range tt.steps {
				s(r)
			}
			if got := string(r.Take()); got != tt.want {
				t.Errorf("output %q\nwant   %q", got, tt.want)
			}
			if len(r.Take()) != 0 {
				t.Errorf("Take did not empty the buffer")
			}
		})
	}
}

func TestAppendClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, é and 日本", "plain text, é and 日本"},
		{"tab\there", "tab here"},
		{"\x1b[2J\x1b[Hwiped", "?[2J?[Hwiped"},       // clear screen, cursor home
		{"\x1b]0;pwned\x07title", "?]0;pwned?title"}, // OSC window title
		{"\r* 12:00:00 fake", "?* 12:00:00 fake"},    // a fake server line
		{"abc\b\b\bXYZ", "abc???XYZ"},                // backspaces
		{"\u009b31m", "?31m"},                        // C1 CSI
		{"evil\u202etxt.exe\u202c", "evil?txt.exe?"}, // right-to-left override
		{"\u2066iso\u2069 \u200e\u200f\u061c", "?iso? ???"},
		{"bad \xff byte", "bad \ufffd byte"},
	}
	for _, tt := range tests {
		if got := string(appendClean(nil, tt.in)); got != tt.want {
			t.Errorf("appendClean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
