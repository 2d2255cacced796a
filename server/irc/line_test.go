package irc

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want message
		ok   bool
	}{
		{"NICK alice", message{Command: "NICK", Params: []string{"alice"}}, true},
		{"nick alice\r", message{Command: "NICK", Params: []string{"alice"}}, true},
		{"PRIVMSG #lounge :hello there ", message{Command: "PRIVMSG", Params: []string{"#lounge", "hello there "}}, true},
		{":alice!a@h PRIVMSG bob :hi", message{Prefix: "alice!a@h", Command: "PRIVMSG", Params: []string{"bob", "hi"}}, true},
		{"USER a 0 * :Alice Liddell", message{Command: "USER", Params: []string{"a", "0", "*", "Alice Liddell"}}, true},
		{"PART #x :", message{Command: "PART", Params: []string{"#x", ""}}, true},
		{"JOIN   #a    key", message{Command: "JOIN", Params: []string{"#a", "key"}}, true},
		{"@time=1;a=b PING x", message{Command: "PING", Params: []string{"x"}}, true},
		{"CAP LS 302", message{Command: "CAP", Params: []string{"LS", "302"}}, true},
		{"A 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", message{Command: "A",
			Params: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 16"}}, true},
		{"", message{}, false},
		{"   ", message{}, false},
		{":prefix-only", message{}, false},
		{":prefix ", message{}, false},
		{"@tags-only", message{}, false},
	}
	for _, tt := range tests {
		got, ok := parseLine([]byte(tt.line))
		if ok != tt.ok || ok && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseLine(%q) = %#v, %v; want %#v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLineReader(t *testing.T) {
	var r lineReader
	var got []string
	drain := func() {
		for {
			line, tooLong, ok := r.next()
			if !ok {
				return
			}
			if tooLong {
				got = append(got, "<too long>")
				continue
			}
			got = append(got, string(line))
		}
	}
	r.feed([]byte("NICK a\r\nUSER a 0 * :A\nPI"))
	drain()
	r.feed([]byte("NG x\r\n"))
	drain()
	// An overlong line is reported once, the rest of it dropped, and the
	// next line read as usual, whether the long one arrives whole or in
	// pieces.
	r.feed([]byte(strings.Repeat("x", 600) + "\r\nAFTER 1\r\n"))
	drain()
	r.feed([]byte(strings.Repeat("y", 400)))
	drain()
	r.feed([]byte(strings.Repeat("y", 400)))
	drain()
	r.feed([]byte(strings.Repeat("y", 400) + "\nAFTER 2\n"))
	drain()
	// Exactly at the limit is allowed: 510 bytes and CR LF.
	r.feed([]byte(strings.Repeat("z", 510) + "\r\n"))
	drain()
	want := []string{"NICK a\r", "USER a 0 * :A", "PING x\r", "<too long>", "AFTER 1\r", "<too long>", "AFTER 2", strings.Repeat("z", 510) + "\r"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines:\n got %q\nwant %q", got, want)
	}
	if r.buffered() != 0 {
		t.Errorf("buffered %d after whole lines", r.buffered())
	}
}

func TestAppendLine(t *testing.T) {
	got := string(appendLine(nil, "srv", "PRIVMSG", "#x", "a\r\nb\x00c"))
	if want := ":srv PRIVMSG #x :a  b c\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := string(appendLine(nil, "", "PING", "srv")); got != "PING :srv\r\n" {
		t.Errorf("got %q", got)
	}
}

// TestAppendLineBoundsTheLine: an echoed middle parameter is shortened and a
// long trailing one is cut, never inside a character, so no line we send
// passes MaxLine bytes: a 432 echoing a 480-byte nick would otherwise.
func TestAppendLineBoundsTheLine(t *testing.T) {
	nick := strings.Repeat("/", 480)
	got := string(appendLine(nil, "srv", "432", "*", nick, "Erroneous nickname"))
	if want := ":srv 432 * " + nick[:maxEchoParam] + " :Erroneous nickname\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	long := strings.Repeat("é", 400) // 800 bytes
	got = string(appendLine(nil, "srv", "NOTICE", "#x", long))
	if len(got) != MaxLine || !strings.HasSuffix(got, "é\r\n") || !utf8.ValidString(got) {
		t.Errorf("long trailing: %d bytes, ends %q, valid UTF-8 %v", len(got), got[len(got)-6:], utf8.ValidString(got))
	}
}

func TestSplitText(t *testing.T) {
	long := strings.Repeat("word ", 300) + strings.Repeat("é", 300)
	pieces := splitText(long, 100)
	if strings.Join(pieces, "") != long {
		t.Errorf("pieces do not add up to the text")
	}
	for _, p := range pieces {
		if len(p) > 100 || !utf8.ValidString(p) {
			t.Errorf("piece of %d bytes, valid %v: %q", len(p), utf8.ValidString(p), p)
		}
	}
	if got := splitText("one\ntwo\r\n\nthree", 100); !reflect.DeepEqual(got, []string{"one", "two", "three"}) {
		t.Errorf("lines: %q", got)
	}
}

func TestDecodeText(t *testing.T) {
	if got := decodeText("caf\xe9"); got != "café" {
		t.Errorf("Latin-1 fallback: %q", got)
	}
	if got := decodeText("café"); got != "café" {
		t.Errorf("UTF-8 kept: %q", got)
	}
}

// FuzzIRCLine feeds arbitrary bytes through the line reader and the parser
// and renders what they parse: nothing panics, no line over the limit is
// returned, and rendered lines are single lines.
func FuzzIRCLine(f *testing.F) {
	for _, s := range []string{"NICK a\r\n", ":p PRIVMSG #x :hi\n", "@a=b PING :x\r\n", strings.Repeat("x", 700) + "\n", "\n\n\r\n", ": :\n"} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		var r lineReader
		step := int(cut)%64 + 1
		for i := 0; i < len(data); i += step {
			r.feed(data[i:min(i+step, len(data))])
			for {
				line, tooLong, ok := r.next()
				if !ok {
					break
				}
				if tooLong {
					continue
				}
				if len(line)+1 > MaxLine {
					t.Fatalf("line of %d bytes passed the limit", len(line))
				}
				m, ok := parseLine(line)
				if !ok {
					continue
				}
				out := appendLine(nil, "srv", m.Command, m.Params...)
				if bytes.Count(out, []byte("\n")) != 1 || bytes.IndexByte(out, 0) >= 0 {
					t.Fatalf("rendered %q", out)
				}
			}
		}
	})
}
