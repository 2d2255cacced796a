package loadgen

import (
	"strings"
	"testing"
)

func TestStampRoundTrip(t *testing.T) {
	cases := []stamp{
		{Sender: 0, Seq: 1, Intended: 0},
		{Sender: 17, Seq: 42, Intended: 1763760000123456789},
		{Sender: 1<<32 - 1, Seq: 1<<32 - 1, Intended: 1<<63 - 1},
	}
	for _, want := range cases {
		for _, size := range []int{0, 10, 64, 200} {
			text := string(appendStamp(nil, want, size))
			if len(text) < size {
				t.Errorf("appendStamp(%+v, %d) is %d bytes, want at least %d", want, size, len(text), size)
			}
			got, ok := parseStamp(text)
			if !ok || got != want {
				t.Errorf("parseStamp(%q) = %+v, %v; want %+v", text, got, ok, want)
			}
			if got, ok := parseStamp([]byte(text)); !ok || got != want {
				t.Errorf("parseStamp of the bytes %q = %+v, %v; want %+v", text, got, ok, want)
			}
		}
	}
}

func TestStampAppendsToExistingBuffer(t *testing.T) {
	buf := appendStamp([]byte("junk"), stamp{Sender: 1, Seq: 2, Intended: 3}, 0)
	if string(buf) != "junklg 1 2 3" {
		t.Fatalf("got %q", buf)
	}
}

func TestParseStampRefusesForeignText(t *testing.T) {
	for _, text := range []string{
		"", "hello", "lg", "lg ", "lg 1", "lg 1 2", "lg 1 2 ", "LG 1 2 3",
		"lg 1 0 3",              // sequence numbers start at 1
		"lg x 2 3", "lg 1 2 3x", // not numbers
		"lg 4294967296 2 3",          // sender over 32 bits
		"lg 1 4294967296 3",          // seq over 32 bits
		"lg 1 2 9223372036854775808", // time over int64
		"lg  1 2 3",                  // double space
	} {
		if s, ok := parseStamp(text); ok {
			t.Errorf("parseStamp(%q) = %+v, want refused", text, s)
		}
		if s, ok := parseStamp([]byte(text)); ok {
			t.Errorf("parseStamp of the bytes %q = %+v, want refused", text, s)
		}
	}
}

func TestParseStampDoesNotAllocate(t *testing.T) {
	text := string(appendStamp(nil, stamp{Sender: 123, Seq: 456, Intended: 1763760000123456789}, 64))
	var sink stamp
	if n := testing.AllocsPerRun(100, func() { sink, _ = parseStamp(text) }); n != 0 {
		t.Fatalf("parseStamp allocates %v times per call", n)
	}
	if sink.Seq != 456 || !strings.HasPrefix(text, "lg 123 456 1763760000123456789 x") {
		t.Fatalf("unexpected layout %q", text)
	}
}
