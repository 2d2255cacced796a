package client

import (
	"testing"

	"chat/internal/term"
)

func TestEditor(t *testing.T) {
	r := func(s string) []term.Key {
		var ks []term.Key
		for _, c := range s {
			ks = append(ks, term.Key{Kind: term.KeyRune, Rune: c})
		}
		return ks
	}
	k := func(kinds ...term.KeyKind) []term.Key {
		var ks []term.Key
		for _, kind := range kinds {
			ks = append(ks, term.Key{Kind: kind})
		}
		return ks
	}
	cat := func(parts ...[]term.Key) []term.Key {
		var ks []term.Key
		for _, p := range parts {
			ks = append(ks, p...)
		}
		return ks
	}
	tests := []struct {
		name    string
		history []string // lines submitted first
		keys    []term.Key
		line    string
		cursor  int
	}{
		{"typing", nil, r("hello"), "hello", 5},
		{"multi-byte characters count as one", nil, r("héllo€"), "héllo€", 6},
		{"backspace", nil, cat(r("abc"), k(term.KeyBackspace)), "ab", 2},
		{"backspace on empty", nil, k(term.KeyBackspace, term.KeyBackspace), "", 0},
		{"backspace at start does nothing", nil, cat(r("ab"), k(term.KeyHome, term.KeyBackspace)), "ab", 0},
		{"insert in the middle", nil, cat(r("ac"), k(term.KeyLeft), r("b")), "abc", 2},
		{"delete under cursor", nil, cat(r("abc"), k(term.KeyHome, term.KeyDelete)), "bc", 0},
		{"delete at end does nothing", nil, cat(r("abc"), k(term.KeyDelete)), "abc", 3},
		{"left and right stop at the ends", nil, cat(r("ab"), k(term.KeyLeft, term.KeyLeft, term.KeyLeft, term.KeyRight, term.KeyRight, term.KeyRight, term.KeyRight)), "ab", 2},
		{"home end", nil, cat(r("abc"), k(term.KeyHome)), "abc", 0},
		{"ctrl-a ctrl-e", nil, cat(r("abc"), k(term.KeyCtrlA, term.KeyRight, term.KeyCtrlE)), "abc", 3},
		{"ctrl-u deletes to start", nil, cat(r("hello world"), k(term.KeyLeft, term.KeyLeft, term.KeyCtrlU)), "ld", 0},
		{"ctrl-u at end deletes all", nil, cat(r("hello"), k(term.KeyCtrlU)), "", 0},
		{"ctrl-w deletes a word", nil, cat(r("hello big world"), k(term.KeyCtrlW)), "hello big ", 10},
		{"ctrl-w deletes trailing spaces and the word", nil, cat(r("hello world  "), k(term.KeyCtrlW)), "hello ", 6},
		{"ctrl-w in the middle", nil, cat(r("one two three"), k(term.KeyLeft, term.KeyLeft, term.KeyLeft, term.KeyLeft, term.KeyLeft, term.KeyLeft, term.KeyCtrlW)), "one  three", 4},
		{"ctrl-w on empty", nil, k(term.KeyCtrlW), "", 0},
		{"ignored keys change nothing", nil, cat(r("a"), k(term.KeyIgnored)), "a", 1},
		{"up recalls last line", []string{"first", "second"}, k(term.KeyUp), "second", 6},
		{"up up recalls older", []string{"first", "second"}, k(term.KeyUp, term.KeyUp), "first", 5},
		{"up stops at oldest", []string{"first", "second"}, k(term.KeyUp, term.KeyUp, term.KeyUp), "first", 5},
		{"down returns to the line in progress", []string{"first"}, cat(r("draft"), k(term.KeyUp, term.KeyDown)), "draft", 5},
		{"down past live does nothing", []string{"first"}, cat(r("x"), k(term.KeyDown)), "x", 1},
		{"up on empty history", nil, cat(r("x"), k(term.KeyUp)), "x", 1},
		{"editing a recalled line", []string{"first", "second"}, cat(k(term.KeyUp), r("!"), k(term.KeyUp, term.KeyDown)), "second", 6},
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
	e.Edit(term.Key{Kind: term.KeyUp})
	e.Edit(term.Key{Kind: term.KeyRune, Rune: 'x'})
	if got := e.Submit(); got != "bx" {
		t.Fatalf("Submit = %q", got)
	}
	if string(e.history[1]) != "b" || string(e.history[2]) != "bx" {
		t.Errorf("history = %q", e.history)
	}
	for _, kind := range []term.KeyKind{term.KeyEnter, term.KeyCtrlC, term.KeyCtrlD, term.KeyCtrlL} {
		if e.Edit(term.Key{Kind: kind}) {
			t.Errorf("%v treated as an editing key", kind)
		}
	}
}
