package tlspipe

import (
	"bytes"
	"testing"
	"time"
)

// FuzzPipeRecords sends messages through an established pair, the
// ciphertext cut at the places the input gives: whatever the cuts, the
// server reads exactly what the client wrote, in order.
func FuzzPipeRecords(f *testing.F) {
	f.Add([]byte("hello"), []byte{1, 2, 3})
	f.Add(bytes.Repeat([]byte("x"), 20000), []byte{0, 255, 5})
	f.Add([]byte{}, []byte{})
	var pr *pair
	f.Fuzz(func(t *testing.T, msg, cuts []byte) {
		if pr == nil {
			// One handshake for every input: the pair outlives the
			// t of the input that made it.
			pr = newPair(&testing.T{}, nil)
			pr.t = t
			pr.shake(0)
		}
		pr.t = t
		if err := pr.client.Write(msg, nil); err != nil {
			t.Fatal(err)
		}
		var rec []byte
		pr.client.Flush(func(b []byte) (int, error) { rec = append(rec, b...); return len(b), nil })
		var got []byte
		for i := 0; len(rec) > 0; i++ {
			n := len(rec)
			if len(cuts) > 0 {
				n = min(n, int(cuts[i%len(cuts)])+1)
			}
			if err := pr.server.Feed(rec[:n]); err != nil {
				t.Fatal(err)
			}
			rec = rec[n:]
			part, err := readAll(t, pr.server)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			got = append(got, part...)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("server read %d bytes, client wrote %d", len(got), len(msg))
		}
	})
}

// FuzzPipeHandshake feeds a server Pipe what a hostile peer might send in
// place of a handshake, then its end of stream: the handshake ends with an
// error (never a panic, never a goroutine left waiting), or ErrNotTLS says
// at once that the bytes are not TLS.
func FuzzPipeHandshake(f *testing.F) {
	f.Add([]byte{0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0})
	f.Add([]byte("\x16\x03\x03\xff\xff"))
	f.Add([]byte("NICK alice\r\n"))
	server, _ := testTLS()
	f.Fuzz(func(t *testing.T, b []byte) {
		ended := make(chan uint64, 4)
		p := NewServer(&Config{TLS: server, Notify: func(tag uint64) {
			select {
			case ended <- tag:
			default:
			}
		}}, 1)
		defer p.Close()
		if err := p.Feed(b); err != nil || len(b) == 0 {
			return
		}
		p.FeedEOF()
		deadline := time.After(10 * time.Second)
		for {
			if done, err := p.Handshake(); done {
				if err == nil {
					t.Fatal("a handshake succeeded on bytes no client sent")
				}
				return
			}
			select {
			case <-ended:
			case <-deadline:
				t.Fatal("the handshake did not end at the end of stream")
			}
		}
	})
}
