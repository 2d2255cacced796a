package loadgen

import (
	"testing"
	"time"

	"chat/internal/wire"
)

// BenchmarkReceive measures loadgen's cost per delivery once the bytes are
// read: the text found in the frame read, stamp parse, latency record,
// order check. It bounds how
// many deliveries per second loadgen can take on one core.
func BenchmarkReceive(b *testing.B) {
	cfg := Config{Profile: ProfileBigroom, Sessions: 1000, Rooms: 1, Size: 64, Prefix: "lg"}
	w := newWorker(cfg, share{Index: 0, Of: 1}, nil)
	s := w.sessions[0]
	// A batch of 64 messages from 64 senders, as one read might return it.
	var batch []byte
	for i := range 64 {
		text := string(appendStamp(nil, stamp{Sender: uint32(i + 1), Seq: 1, Intended: time.Now().UnixNano()}, 64))
		batch = wire.Append(batch, &wire.Frame{Type: wire.TypeMessage, From: "lg0001", Room: "lgroom0", Text: text, Time: 1, Seq: 1})
	}
	var dec wire.Decoder
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += 64 {
		dec.Feed(batch)
		now := time.Now()
		for {
			// What the session's connection does with a room message.
			body, ok, err := dec.NextBody()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			if !s.intercept(body, now) {
				b.Fatal("not a message")
			}
		}
	}
}
