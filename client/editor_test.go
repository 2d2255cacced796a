package client

import "testing"

func TestEditor(t *testing.T) {
	r := func(s string) []Key {
		var ks []Key
		for _, c := range s {
			ks = append(ks, Key{Kind: KeyRune, Rune: c})
		}
		return ks
	}
	k := func(kinds ...KeyKind) []Key {
		var ks []Key
		for _, kind := range kinds {
			ks = append(ks, Key{Kind: kind})
		}
		return ks
	}
	cat := func(parts ...[]Key) []Key {
		var ks []Key
		for _, p := range parts {
			ks = append(ks, p...)
		}
		return ks
	}
	tests := []struct {
		name    string
		history []string // lines submitted first
		keys    []Key
		line    string
		cursor  int
	}{
		{"typing", nil, r("hello"), "hello", 5},
		{"multi-byte characters count as one", nil, r("héllo€"), "héllo€", 6},
		{"backspace", nil, cat(r("abc"), k(KeyBackspace)), "ab", 2},
		{"backspace on empty", nil, k(KeyBackspace, KeyBackspace), "", 0},
		{"backspace at start does nothing", nil, cat(r("ab"), k(KeyHome, KeyBackspace)), "ab", 0},
		{"insert in the middle", nil, cat(r("ac"), k(KeyLeft), r("b")), "abc", 2},
		{"delete under cursor", nil, cat(r("abc"), k(KeyHome, KeyDelete)), "bc", 0},
		{"delete at end does nothing", nil, cat(r("abc"), k(KeyDelete)), "abc", 3},
		{"left and right stop at the ends", nil, cat(r("ab"), k(KeyLeft, KeyLeft, KeyLeft, KeyRight, KeyRight, KeyRight, KeyRight)), "ab", 2},
		{"home end", nil, cat(r("abc"), k(KeyHome)), "abc", 0},
		{"ctrl-a ctrl-e", nil, cat(r("abc"), k(KeyCtrlA, KeyRight, KeyCtrlE)), "abc", 3},
		{"ctrl-u deletes to start", nil, cat(r("hello world"), k(KeyLeft, KeyLeft, KeyCtrlU)), "ld", 0},
		{"ctrl-u at end deletes all", nil, cat(r("hello"), k(KeyCtrlU)), "", 0},
		{"ctrl-w deletes a word", nil, cat(r("hello big world"), k(KeyCtrlW)), "hello big ", 10},
		{"ctrl-w deletes trailing spaces and the word", nil, cat(r("hello world  "), k(KeyCtrlW)), "hello ", 6},
		{"ctrl-w in the middle", nil, cat(r("one two three"), k(KeyLeft, KeyLeft, KeyLeft, KeyLeft, KeyLeft, KeyLeft, KeyCtrlW)), "one  three", 4},
		{"ctrl-w on empty", nil, k(KeyCtrlW), "", 0},
		{"ignored keys change nothing", nil, cat(r("a"), k(KeyIgnored)), "a", 1},
		{"up recalls last line", []string{"first", "second"}, k(KeyUp), "second", 6},
		{"up up recalls older", []string{"first", "second"}, k(KeyUp, KeyUp), "first", 5},
		{"up stops at oldest", []string{"first", "second"}, k(KeyUp, KeyUp, KeyUp), "first", 5},
		{"down returns to the line in progress", []string{"first"}, cat(r("draft"), k(KeyUp, KeyDown)), "draft", 5},
		{"down past live does nothing", []string{"first"}, cat(r("x"), k(KeyDown)), "x", 1},
		{"up on empty history", nil, cat(r("x"), k(KeyUp)), "x", 1},
		{"editing a recalled line", []string{"first", "second"}, cat(k(KeyUp), r("!"), k(KeyUp, KeyDown)), "second", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Editor
			for _, h := range tt.history {
				for _, c := range h {
					e.Insert(c)
				}
				e.Submit()
			}
			for _, key := range tt.keys {
				if !e.Edit(key) {
					t.Fatalf("key %v not an editing key", key)
				}
			}
			if e.Line() != tt.line || e.Cursor() != tt.cursor {
				t.Errorf("line %q cursor %d; want %q cursor %d", e.Line(), e.Cursor(), tt.line, tt.cursor)
			}
		})
	}
}

func TestEditorSubmitHistory(t *testing.T) {
	var e Editor
	for _, s := range []string{"a", "a", "", "b"} {
		for _, c := range s {
			e.Insert(c)
		}
		if got := e.Submit(); got != s {
			t.Fatalf("Submit = %q, want %q", got, s)
		}
	}
	if len(e.history) != 2 {
		t.Errorf("history %d entries, want 2 (no repeats, no empty lines)", len(e.history))
	}
	// A recalled, edited and submitted line does not change the entry.
	e.Edit(Key{Kind: KeyUp})
	e.Edit(Key{Kind: KeyRune, Rune: 'x'})
	if got := e.Submit(); got != "bx" {
		t.Fatalf("Submit = %q", got)
	}
	if string(e.history[1]) != "b" || string(e.history[2]) != "bx" {
		t.Errorf("history = %q", e.history)
	}
	for _, kind := range []KeyKind{KeyEnter, KeyCtrlC, KeyCtrlD, KeyCtrlL} {
		if e.Edit(Key{Kind: kind}) {
			t.Errorf("%v treated as an editing key", kind)
		}
	}
}
