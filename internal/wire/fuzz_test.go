package wire

import (
	"reflect"
	"testing"
)

// FuzzDecoder feeds arbitrary bytes, split at an arbitrary point, to the
// decoder. It must never panic, and every frame it yields must survive a
// re-encode and decode unchanged.
func FuzzDecoder(f *testing.F) {
	for i := range sampleFrames {
		if sampleFrames[i].Type != TypeSay {
			f.Add(Encode(&sampleFrames[i]), uint16(3))
		}
	}
	f.Add([]byte{0, 0, 0, 2, byte(TypeSay), 0x80}, uint16(1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		c := int(cut) % (len(data) + 1)
		got := fuzzDecode(t, data, c, false)
		if shared := fuzzDecode(t, data, c, true); !reflect.DeepEqual(shared, got) {
			t.Fatalf("FeedShared gave other frames than Feed:\n%+v\n%+v", shared, got)
		}
		fuzzMessageText(t, data)
	})
}

// fuzzMessageText checks that MessageText, on the bodies NextBody yields,
// agrees with Unmarshal: a room message's text exactly when Unmarshal
// decodes one.
func fuzzMessageText(t *testing.T, data []byte) {
	var d Decoder
	d.Feed(data)
	for {
		body, ok, err := d.NextBody()
		if !ok || err != nil {
			return
		}
		text, isMsg := MessageText(body)
		var f Frame
		uerr := Unmarshal(body, &f)
		want := uerr == nil && f.Type == TypeMessage
		if isMsg != want || (isMsg && string(text) != f.Text) {
			t.Fatalf("MessageText(% x) = %q, %v; Unmarshal gave %+v, %v", body, text, isMsg, f, uerr)
		}
	}
}

// fuzzDecode decodes data cut in two with Feed or FeedShared (from one read
// buffer, scribbled over after each Unshare) and checks each frame.
func fuzzDecode(t *testing.T, data []byte, c int, shared bool) []Frame {
	var d Decoder
	var got []Frame
	var rbuf []byte
	for _, piece := range [][]byte{data[:c], data[c:]} {
		if shared {
			rbuf = append(rbuf[:0], piece...)
			d.FeedShared(rbuf)
		} else {
			d.Feed(piece)
		}
		for {
			var fr Frame
			ok, err := d.Next(&fr)
			if err != nil && err != ErrMalformed {
				return got // framing errors end the stream
			}
			if err == nil && !ok {
				break
			}
			if !ok {
				continue
			}
			got = append(got, fr)
			var again Frame
			if err := Unmarshal(Encode(&fr)[HeaderSize:], &again); err != nil {
				t.Fatalf("re-decoding %+v: %v", fr, err)
			}
			if !reflect.DeepEqual(normalize(fr), normalize(again)) {
				t.Fatalf("re-encode changed the frame:\n%+v\n%+v", fr, again)
			}
		}
		if shared {
			d.Unshare()
			for i := range rbuf {
				rbuf[i] = 0xff
			}
		}
	}
	return got
}

// normalize maps empty slices to nil: the encoding cannot tell them apart.
func normalize(f Frame) Frame {
	if len(f.Users) == 0 {
		f.Users = nil
	}
	if len(f.Rooms) == 0 {
		f.Rooms = nil
	}
	return f
}
