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

// BenchmarkDecoder is the incremental decoder on a stream: 64 frames of a
// mixed kind, read in 1,500-byte pieces (a loopback or Ethernet segment's
// worth) that split frames anywhere, fed and decoded as the server's loop
// does (FeedShared: decoded where they were read).
func BenchmarkDecoder(b *testing.B) {
	var stream []byte
	for i := range 64 {
		switch i % 4 {
		case 0, 1:
			stream = Append(stream, &Frame{Type: TypeSay, ID: uint32(i), Text: benchMessage.Text})
		case 2:
			stream = Append(stream, &benchMessage)
		case 3:
			stream = Append(stream, &Frame{Type: TypePong})
		}
	}
	var d Decoder
	var f Frame
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		frames := 0
		for off := 0; off < len(stream); off += 1500 {
			d.FeedShared(stream[off:min(off+1500, len(stream))])
			for {
				ok, err := d.Next(&f)
				if err != nil {
					b.Fatal(err)
				}
				if !ok {
					break
				}
				frames++
			}
			d.Unshare()
		}
		if frames != 64 {
			b.Fatalf("%d frames decoded, want 64", frames)
		}
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "frames/s")
}
