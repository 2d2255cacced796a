package term

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPasswordEditor(t *testing.T) {
	tests := []struct {
		name  string
		input string
		echo  string
		res   PasswordResult
		value string
		rest  string
		stars int
	}{
		{"plain then Enter", "abc\r", "***", PasswordDone, "abc", "", 3},
		{"newline also ends", "abc\nmore", "***", PasswordDone, "abc", "more", 3},
		{"unfinished", "ab", "**", PasswordTyping, "ab", "", 2},
		{"multi-byte runes are one star each", "é€😀\r", "***", PasswordDone, "é€😀", "", 3},
		{"DEL erases one star", "ab\x7f\r", "**\b \b", PasswordDone, "a", "", 1},
		{"^H erases one star", "ab\x08\r", "**\b \b", PasswordDone, "a", "", 1},
		{"backspace erases a whole multi-byte rune", "a€\x7f\r", "**\b \b", PasswordDone, "a", "", 1},
		{"backspace on empty does nothing", "\x7f\x7fa\r", "*", PasswordDone, "a", "", 1},
		{"Ctrl-U erases all", "abc\x15d\r", "***\b \b\b \b\b \b*", PasswordDone, "d", "", 1},
		{"Ctrl-D on empty cancels", "\x04rest", "", PasswordCancel, "", "rest", 0},
		{"Ctrl-D with text cancels too", "ab\x04b\r", "**", PasswordCancel, "", "b\r", 0},
		{"Ctrl-C interrupts and wipes", "ab\x03x", "**", PasswordInterrupt, "", "x", 0},
		{"arrow keys are swallowed", "a\x1b[Db\x1bOC\r", "**", PasswordDone, "ab", "", 2},
		{"Delete key sequence is swallowed", "a\x1b[3~\r", "*", PasswordDone, "a", "", 1},
		// The escape sequences are DecodeKey's: the same rules as the
		// line editor's.
		{"ESC ESC [ A: lone Escape then Up, both swallowed", "a\x1b\x1b[Ab\r", "**", PasswordDone, "ab", "", 2},
		{"Alt-é ESC é swallowed whole", "a\x1bé\r", "*", PasswordDone, "a", "", 1},
		{"CSI broken by Enter ends the password", "a\x1b[1\rz", "*", PasswordDone, "a", "z", 1},
		{"C1 control is not a character", "a\u0085\r", "*", PasswordDone, "a", "", 1},
		{"incomplete CSI kept for the next read", "a\x1b[1;5", "*", PasswordTyping, "a", "", 1},
		{"other control bytes are ignored", "a\x01\x05\x0cb\r", "**", PasswordDone, "ab", "", 2},
		{"invalid UTF-8 byte is dropped", "a\xffb\r", "**", PasswordDone, "ab", "", 2},
		{"space is a character", "a b\r", "***", PasswordDone, "a b", "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, split := range []bool{false, true} {
				var ed PasswordEditor
				var echo []byte
				var res PasswordResult
				var rest []byte
				if split {
					// Feed one byte at a time: a terminal may deliver a
					// multi-byte character or escape sequence in pieces.
					in := []byte(tt.input)
					for i := 0; i < len(in); i++ {
						echo, res, rest = ed.Feed(in[i:i+1], echo)
						if res != PasswordTyping {
							rest = append(rest, in[i+1:]...)
							break
						}
					}
				} else {
					echo, res, rest = ed.Feed([]byte(tt.input), nil)
				}
				if string(echo) != tt.echo {
					t.Errorf("split=%v echo = %q, want %q", split, echo, tt.echo)
				}
				if res != tt.res {
					t.Errorf("split=%v result = %v, want %v", split, res, tt.res)
				}
				if res == PasswordDone || res == PasswordTyping {
					if ed.Value() != tt.value {
						t.Errorf("split=%v value = %q, want %q", split, ed.Value(), tt.value)
					}
				} else if ed.Value() != "" {
					t.Errorf("split=%v value %q not wiped", split, ed.Value())
				}
				if string(rest) != tt.rest {
					t.Errorf("split=%v rest = %q, want %q", split, rest, tt.rest)
				}
				if ed.Len() != tt.stars {
					t.Errorf("split=%v Len = %d, want %d", split, ed.Len(), tt.stars)
				}
			}
		})
	}
}

func TestPasswordEditorWipe(t *testing.T) {
	var ed PasswordEditor
	ed.Feed([]byte("secret"), nil)
	backing := ed.secret[:cap(ed.secret)]
	ed.Wipe()
	if ed.Value() != "" || ed.Len() != 0 {
		t.Fatalf("after Wipe value %q len %d", ed.Value(), ed.Len())
	}
	if bytes.Contains(backing, []byte("secret")) {
		t.Fatalf("Wipe left the password in memory: %q", backing)
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		in, want, rest string
		err            error
	}{
		{"pw\nnext\n", "pw", "next\n", nil},
		{"pw\r\n", "pw", "", nil},
		{"last", "last", "", nil},
		{"\n", "", "", nil},
		{"", "", "", io.EOF},
	}
	for _, tt := range tests {
		r := strings.NewReader(tt.in)
		got, err := readLine(r)
		if got != tt.want || err != tt.err {
			t.Errorf("readLine(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
		rest, _ := io.ReadAll(r)
		if string(rest) != tt.rest {
			t.Errorf("readLine(%q) consumed too much: rest %q, want %q", tt.in, rest, tt.rest)
		}
	}
}

func FuzzPasswordEditor(f *testing.F) {
	for _, s := range []string{"abc\r", "é€\x7f\r", "\x1b[A\x15x\n", "\x04", "ab\x03", "\xe2\x82"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var whole PasswordEditor
		echo1, res1, rest1 := whole.Feed(in, nil)
		var split PasswordEditor
		var echo2, rest2 []byte
		res2 := PasswordTyping
		for i := range in {
			echo2, res2, rest2 = split.Feed(in[i:i+1], echo2)
			if res2 != PasswordTyping {
				rest2 = append(rest2, in[i+1:]...)
				break
			}
		}
		if res1 != res2 || string(echo1) != string(echo2) || string(rest1) != string(rest2) || whole.Value() != split.Value() {
			t.Fatalf("split feeding differs: %v %q %q %q vs %v %q %q %q", res1, echo1, rest1, whole.Value(), res2, echo2, rest2, split.Value())
		}
		if n := utf8.RuneCountInString(whole.Value()); n != whole.Len() || !utf8.ValidString(whole.Value()) {
			t.Fatalf("Len %d for %q", whole.Len(), whole.Value())
		}
		// The echo is only stars and erasures: never a typed character.
		if strings.Trim(strings.ReplaceAll(string(echo1), "\b \b", ""), "*") != "" {
			t.Fatalf("echo %q shows more than stars", echo1)
		}
	})
}
