package term

import (
	"slices"
	"strings"
	"testing"
)

func TestDecodeKey(t *testing.T) {
	r := func(c rune) Key { return Key{Kind: KeyRune, Rune: c} }
	k := func(kind KeyKind) Key { return Key{Kind: kind} }
	tests := []struct {
		name string
		in   string
		want []Key
		rest string // bytes left for the next read
	}{
		{"plain ASCII", "ab", []Key{r('a'), r('b')}, ""},
		{"carriage return is Enter (raw mode)", "\r", []Key{k(KeyEnter)}, ""},
		{"line feed is Enter (pasted text)", "\n", []Key{k(KeyEnter)}, ""},
		{"DEL is Backspace", "\x7f", []Key{k(KeyBackspace)}, ""},
		{"^H is Backspace", "\x08", []Key{k(KeyBackspace)}, ""},
		{"Ctrl-A", "\x01", []Key{k(KeyCtrlA)}, ""},
		{"Ctrl-C", "\x03", []Key{k(KeyCtrlC)}, ""},
		{"Ctrl-D", "\x04", []Key{k(KeyCtrlD)}, ""},
		{"Ctrl-E", "\x05", []Key{k(KeyCtrlE)}, ""},
		{"Ctrl-L", "\x0c", []Key{k(KeyCtrlL)}, ""},
		{"Ctrl-U", "\x15", []Key{k(KeyCtrlU)}, ""},
		{"Ctrl-W", "\x17", []Key{k(KeyCtrlW)}, ""},
		{"other control byte (Ctrl-B) ignored", "\x02", []Key{k(KeyIgnored)}, ""},
		{"two-byte UTF-8", "é", []Key{r('é')}, ""},
		{"three-byte UTF-8", "€", []Key{r('€')}, ""},
		{"four-byte UTF-8", "😀", []Key{r('😀')}, ""},
		{"incomplete UTF-8 kept", "a\xe2\x82", []Key{r('a')}, "\xe2\x82"},
		{"invalid byte dropped", "\xffa", []Key{k(KeyIgnored), r('a')}, ""},
		{"C1 control ignored", "\u0085", []Key{k(KeyIgnored)}, ""},
		{"CSI up ESC [ A", "\x1b[A", []Key{k(KeyUp)}, ""},
		{"CSI down ESC [ B", "\x1b[B", []Key{k(KeyDown)}, ""},
		{"CSI right ESC [ C", "\x1b[C", []Key{k(KeyRight)}, ""},
		{"CSI left ESC [ D", "\x1b[D", []Key{k(KeyLeft)}, ""},
		{"CSI home ESC [ H", "\x1b[H", []Key{k(KeyHome)}, ""},
		{"CSI end ESC [ F", "\x1b[F", []Key{k(KeyEnd)}, ""},
		{"SS3 up ESC O A", "\x1bOA", []Key{k(KeyUp)}, ""},
		{"SS3 left ESC O D", "\x1bOD", []Key{k(KeyLeft)}, ""},
		{"SS3 home ESC O H", "\x1bOH", []Key{k(KeyHome)}, ""},
		{"SS3 end ESC O F", "\x1bOF", []Key{k(KeyEnd)}, ""},
		{"VT home ESC [ 1 ~", "\x1b[1~", []Key{k(KeyHome)}, ""},
		{"VT home ESC [ 7 ~ (rxvt)", "\x1b[7~", []Key{k(KeyHome)}, ""},
		{"VT end ESC [ 4 ~", "\x1b[4~", []Key{k(KeyEnd)}, ""},
		{"VT end ESC [ 8 ~ (rxvt)", "\x1b[8~", []Key{k(KeyEnd)}, ""},
		{"VT delete ESC [ 3 ~", "\x1b[3~", []Key{k(KeyDelete)}, ""},
		{"Ctrl-Delete ESC [ 3 ; 5 ~", "\x1b[3;5~", []Key{k(KeyDelete)}, ""},
		{"Ctrl-Right ESC [ 1 ; 5 C", "\x1b[1;5C", []Key{k(KeyRight)}, ""},
		{"PageUp ESC [ 5 ~ swallowed", "\x1b[5~x", []Key{k(KeyIgnored), r('x')}, ""},
		{"F5 ESC [ 1 5 ~ swallowed", "\x1b[15~", []Key{k(KeyIgnored)}, ""},
		{"F1 ESC O P swallowed", "\x1bOP", []Key{k(KeyIgnored)}, ""},
		{"unknown CSI final swallowed", "\x1b[?25hz", []Key{k(KeyIgnored), r('z')}, ""},
		{"focus event ESC [ I swallowed", "\x1b[I", []Key{k(KeyIgnored)}, ""},
		{"Alt-x ESC x swallowed", "\x1bxy", []Key{k(KeyIgnored), r('y')}, ""},
		{"Alt-é swallowed whole", "\x1bé!", []Key{k(KeyIgnored), r('!')}, ""},
		{"ESC ESC [ A: lone Escape then Up", "\x1b\x1b[A", []Key{k(KeyIgnored), k(KeyUp)}, ""},
		{"CSI broken by control byte", "\x1b[1\r", []Key{k(KeyIgnored), k(KeyEnter)}, ""},
		{"incomplete ESC kept", "a\x1b", []Key{r('a')}, "\x1b"},
		{"incomplete CSI kept", "\x1b[", nil, "\x1b["},
		{"incomplete CSI params kept", "\x1b[1;5", nil, "\x1b[1;5"},
		{"incomplete SS3 kept", "\x1bO", nil, "\x1bO"},
		{"overlong CSI swallowed", "\x1b[1111111111111111111111A", []Key{k(KeyIgnored), r('1'), r('1'), r('1'), r('1'), r('1'), r('1'), r('1'), r('A')}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rest := decodeAll([]byte(tt.in))
			if !slices.Equal(got, tt.want) || string(rest) != tt.rest {
				t.Errorf("decode %q = %v rest %q; want %v rest %q", tt.in, got, rest, tt.want, tt.rest)
			}
			// The same input one byte at a time must give the same keys:
			// a terminal may deliver any sequence split across reads.
			got, rest = decodeBytewise([]byte(tt.in))
			if !slices.Equal(got, tt.want) || string(rest) != tt.rest {
				t.Errorf("bytewise %q = %v rest %q; want %v rest %q", tt.in, got, rest, tt.want, tt.rest)
			}
		})
	}
}

// decodeAll decodes every whole key in b.
func decodeAll(b []byte) ([]Key, []byte) {
	var keys []Key
	for {
		k, rest := DecodeKey(b)
		if k.Kind == KeyNone {
			return keys, rest
		}
		keys = append(keys, k)
		b = rest
	}
}

// decodeBytewise feeds b one byte at a time, keeping leftovers as the read
// loop does.
func decodeBytewise(b []byte) ([]Key, []byte) {
	var keys []Key
	var pending []byte
	for _, c := range b {
		pending = append(pending, c)
		var ks []Key
		ks, pending = decodeAll(pending)
		keys = append(keys, ks...)
	}
	return keys, pending
}

func FuzzDecodeKey(f *testing.F) {
	for _, s := range []string{"a", "é", "\x1b[A", "\x1b[3~", "\x1bOH", "\x1b[1;5C", "\xe2\x82", "\x1b", "\r\x7f\x08"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, rest := decodeAll(b)
		// Progress: KeyNone only when the rest is a true prefix of a key,
		// which is short.
		if len(rest) > MaxEscLen+4 {
			t.Fatalf("kept %d bytes undecoded: %q", len(rest), rest)
		}
		for _, k := range keys {
			if k.Kind == KeyRune && (k.Rune < 0x20 || k.Rune == 0x7f) {
				t.Fatalf("control byte %q decoded as text", k.Rune)
			}
		}
		// Splitting the input must not change the keys.
		keys2, rest2 := decodeBytewise(b)
		if !slices.Equal(keys, keys2) || string(rest) != string(rest2) {
			t.Fatalf("split decoding differs: %v %q vs %v %q", keys, rest, keys2, rest2)
		}
	})
}

// BenchmarkDecodeKey decodes what a fast typist and a paste send: text with
// accented letters, arrows and other escape sequences, Backspace and Enter,
// in one read.
func BenchmarkDecodeKey(b *testing.B) {
	in := []byte(strings.Repeat("hello, wörld \x1b[D\x1b[C\x7f\x1b[1;5Cé\x1bOH\x1b[3~\r", 16))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	keys := 0
	for b.Loop() {
		for rest := in; ; {
			k, r := DecodeKey(rest)
			if k.Kind == KeyNone {
				break
			}
			keys++
			rest = r
		}
	}
	b.ReportMetric(float64(keys)/b.Elapsed().Seconds(), "keys/s")
}
