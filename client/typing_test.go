package client

import (
	"bytes"
	"io"
	"testing"
)

// typeLongLine types a line of n characters into a course client on an
// 80-column terminal, read chunk bytes at a time as the loop would read
// them from the terminal, drawing the input line after each read.
func typeLongLine(c *Client, n, chunk int) {
	data := bytes.Repeat([]byte{'x'}, n)
	for len(data) > 0 {
		k := min(chunk, len(data))
		c.keyboard(data[:k])
		data = data[k:]
		c.drawInput()
		c.r.Take()
	}
}

func newTypingClient() *Client {
	c := newClient(Config{Mode: courseMode{}, Stdout: io.Discard}, true)
	c.r.SetWidth(80)
	c.drawInput()
	return c
}

// BenchmarkTypeLongLine types the longest message (65535 characters) at
// the end of the input line, 64 bytes per read (a fast typist or a paste on
// a PTY comes in small reads).
func BenchmarkTypeLongLine(b *testing.B) {
	for b.Loop() {
		c := newTypingClient()
		typeLongLine(c, 65535, 64)
		if got := len(c.ed.Runes()); got != 65535 {
			b.Fatalf("typed %d characters", got)
		}
	}
}

// TestTypeLongLine checks what typing a line wider than the terminal shows:
// characters echoed as themselves while the line fits, then the line
// scrolled sideways so that its end, and the cursor, stay in view.
func TestTypeLongLine(t *testing.T) {
	c := newClient(Config{Mode: courseMode{}, Stdout: io.Discard}, true)
	c.r.SetWidth(10) // 9 columns for the line: the last one stays free
	c.drawInput()
	c.r.Take()
	c.keyboard([]byte("abcdefgh"))
	c.drawInput()
	if got := string(c.r.Take()); got != "abcdefgh" {
		t.Errorf("typing a line that fits shows %q, want the characters echoed", got)
	}
	c.keyboard([]byte("ijklmnopqrstuvwxyz"))
	c.drawInput()
	if got, want := string(c.r.Take()), eraseLine+"rstuvwxyz"; got != want {
		t.Errorf("typing past the edge shows %q, want %q", got, want)
	}
	// One more character at the end: still the end in view.
	c.keyboard([]byte("é"))
	c.drawInput()
	if got, want := string(c.r.Take()), eraseLine+"stuvwxyzé"; got != want {
		t.Errorf("typing past the edge shows %q, want %q", got, want)
	}
	if got := c.ed.Line(); got != "abcdefghijklmnopqrstuvwxyzé" {
		t.Errorf("line %q", got)
	}
	// Back to a short line: echoed again.
	c.keyboard([]byte{0x15}) // Ctrl-U
	c.drawInput()
	c.r.Take()
	c.keyboard([]byte("ab"))
	c.drawInput()
	if got := string(c.r.Take()); got != "ab" {
		t.Errorf("typing a short line again shows %q, want the characters echoed", got)
	}
}
