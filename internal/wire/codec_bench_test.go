package wire

import "testing"

var benchMessage = Frame{Type: TypeMessage, From: "alice", Room: "lounge",
	Text: "hello everyone, this is a message of a typical length", Time: 1763760000123, Seq: 42}

func BenchmarkAppendMessage(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], &benchMessage)
	}
}

func BenchmarkUnmarshalMessage(b *testing.B) {
	body := Encode(&benchMessage)[HeaderSize:]
	var f Frame
	b.ReportAllocs()
	for b.Loop() {
		if err := Unmarshal(body, &f); err != nil {
			b.Fatal(err)
		}
	}
}
