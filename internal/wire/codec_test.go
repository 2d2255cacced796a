package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sampleFrames covers every field, both repeated rows and the limits.
var sampleFrames = []Frame{
	{Type: TypeHello, ID: 1, Version: Version, Text: "chat 1"},
	{Type: TypeLogin, ID: 2, Name: "alice", Secret: "s3cret pass"},
	{Type: TypeSay, ID: 1<<32 - 1, Text: strings.Repeat("日", MaxTextRunes)},
	{Type: TypeReply, ID: 8, Code: OK, From: ServerName, Text: "2 users connected", Time: 1763760000123,
		Users: []User{{Name: "alice", Room: "lounge"}, {Name: "bob"}}},
	{Type: TypeReply, ID: 11, From: ServerName, Rooms: []Room{{Name: "lounge", Members: 3}, {Name: "empty"}}},
	{Type: TypeMessage, From: "alice", Room: "lounge", Text: "hello", Time: 1, Seq: 1<<64 - 1},
	{Type: TypePrivate, From: "bob", To: "alice", Text: "psst", Time: 1 << 62},
	{Type: TypeNotice, From: ServerName, Code: NoticeLost, Name: "bob", Room: "lounge", Text: "contact with bob was lost"},
	{Type: TypeBye, Code: ByeShutdown, Text: "the server is shutting down", Count: 7},
	{Type: TypePong},
	{Type: TypeFetch, ID: 12, To: "bob", Name: "report.pdf"},
	{Type: TypeFileOffer, From: "alice", Name: "report.pdf", Token: "3f9a0c", Time: 5},
	{Type: TypeAttach, ID: 1, Token: "3f9a0c", Code: RoleOwner},
	{Type: TypeFileHeader, Name: "report.pdf", Count: 1 << 40},
	{Type: TypeClaim, ID: 3, Name: "ann", Ident: "~ann", Real: "Ann Example"},
	{Type: TypeNotice, From: ServerName, Code: NoticeTopic, Room: "lounge", By: "ann", Words: "tea at 5", At: 1 << 41,
		Text: "ann set the topic of lounge to: tea at 5"},
	{Type: TypeNotice, From: ServerName, Code: NoticeMode, Room: "lounge", By: "ann", Mode: "+o-v bob cy"},
	{Type: TypeReply, ID: 42, From: ServerName, Users: []User{{Name: "bob", Room: "lounge", Prefix: "@", Away: "lunch", Ident: "~b", Real: "Bob B"}},
		Rooms: []Room{{Name: "lounge", Members: 2, Topic: "tea", Mode: "+nt", Prefix: "@"}}},
}

func TestRoundTrip(t *testing.T) {
	for _, want := range sampleFrames {
		t.Run(want.Type.String(), func(t *testing.T) {
			enc := Encode(&want)
			if got := binary.BigEndian.Uint32(enc); int(got) != len(enc)-HeaderSize {
				t.Fatalf("length field %d, body is %d bytes", got, len(enc)-HeaderSize)
			}
			body, rest, err := Split(enc)
			if err != nil || len(rest) != 0 {
				t.Fatalf("Split: body %d bytes, rest %d, err %v", len(body), len(rest), err)
			}
			var got Frame
			if err := Unmarshal(body, &got); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestDecoderSplitAtEveryByte feeds a stream of every sample frame cut into
// two pieces at every possible offset, then one byte at a time, and checks
// that exactly the original frames come out in order.
func TestDecoderSplitAtEveryByte(t *testing.T) {
	var stream []byte
	for i := range sampleFrames {
		if sampleFrames[i].Type == TypeSay {
			continue // keep the quadratic test fast; the big frame is covered below
		}
		stream = Append(stream, &sampleFrames[i])
	}
	want := decodeAll(t, [][]byte{stream})
	if len(want) != len(sampleFrames)-1 {
		t.Fatalf("whole stream gave %d frames, want %d", len(want), len(sampleFrames)-1)
	}
	for cut := 0; cut <= len(stream); cut++ {
		got := decodeAll(t, [][]byte{stream[:cut], stream[cut:]})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("cut at byte %d: got %d frames, differ from whole stream", cut, len(got))
		}
	}
	var bytewise [][]byte
	for i := range stream {
		bytewise = append(bytewise, stream[i:i+1])
	}
	if got := decodeAll(t, bytewise); !reflect.DeepEqual(got, want) {
		t.Fatalf("byte at a time: frames differ from whole stream")
	}
}

func TestDecoderLargeFrameInChunks(t *testing.T) {
	big := sampleFrames[2]
	stream := Append(Encode(&big), &sampleFrames[0])
	var pieces [][]byte
	for len(stream) > 0 {
		n := min(4093, len(stream)) // an odd size so cuts land everywhere
		pieces, stream = append(pieces, stream[:n]), stream[n:]
	}
	got := decodeAll(t, pieces)
	if len(got) != 2 || got[0].Text != big.Text || got[1].Type != TypeHello {
		t.Fatalf("got %d frames", len(got))
	}
}

// decodeAll decodes pieces with Feed, checks that FeedShared gives the same
// frames, and returns them.
func decodeAll(t *testing.T, pieces [][]byte) []Frame {
	t.Helper()
	out := decodePieces(t, pieces, false)
	if shared := decodePieces(t, pieces, true); !reflect.DeepEqual(shared, out) {
		t.Fatalf("FeedShared gave %d frames, Feed %d, or they differ", len(shared), len(out))
	}
	return out
}

// decodePieces decodes pieces with Feed or, shared, with FeedShared from
// one read buffer that is scribbled over after each Unshare, as a server's
// next read would.
func decodePieces(t *testing.T, pieces [][]byte, shared bool) []Frame {
	t.Helper()
	var d Decoder
	var out []Frame
	var rbuf []byte
	for _, p := range pieces {
		if shared {
			rbuf = append(rbuf[:0], p...)
			d.FeedShared(rbuf)
		} else {
			d.Feed(p)
		}
		for {
			var f Frame
			ok, err := d.Next(&f)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if !ok {
				break
			}
			out = append(out, f)
		}
		if shared {
			d.Unshare()
			for i := range rbuf {
				rbuf[i] = 0xff
			}
			if d.Buffered() == 0 && cap(d.buf) != 0 {
				t.Fatalf("an idle shared decoder holds a %d-byte buffer", cap(d.buf))
			}
		}
	}
	if d.Buffered() != 0 {
		t.Fatalf("%d bytes left undecoded", d.Buffered())
	}
	return out
}

func TestSplitRefusesBadLengths(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"zero length", []byte{0, 0, 0, 0, 1}, ErrEmptyFrame},
		{"one over the limit", binary.BigEndian.AppendUint32(nil, MaxFrameSize+1), ErrFrameSize},
		{"huge", []byte{0xff, 0xff, 0xff, 0xff}, ErrFrameSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Split(tt.input); !errors.Is(err, tt.want) {
				t.Fatalf("Split(% x) error %v, want %v", tt.input, err, tt.want)
			}
		})
	}
	// Exactly the limit is accepted once all of it has arrived.
	atLimit := binary.BigEndian.AppendUint32(nil, MaxFrameSize)
	if body, _, err := Split(atLimit); err != nil || body != nil {
		t.Fatalf("a partial frame at the limit: body %v err %v, want waiting", body != nil, err)
	}
}

func TestUnmarshalRefusesMalformedBodies(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"empty body", nil},
		{"truncated key", []byte{byte(TypeSay), 0x80}},
		{"truncated varint value", []byte{byte(TypeSay), fieldID << 1, 0x80}},
		{"string longer than the body", []byte{byte(TypeSay), fieldText<<1 | 1, 10, 'h', 'i'}},
		{"text sent as a varint", []byte{byte(TypeSay), fieldText << 1, 5}},
		{"id sent as bytes", []byte{byte(TypeSay), fieldID<<1 | 1, 1, 'x'}},
		{"id over 32 bits", append([]byte{byte(TypeSay), fieldID << 1}, binary.AppendUvarint(nil, 1<<32)...)},
		{"code over 16 bits", append([]byte{byte(TypeReply), fieldCode << 1}, binary.AppendUvarint(nil, 1<<16)...)},
		{"bad nested user", []byte{byte(TypeReply), fieldUser<<1 | 1, 2, fieldName<<1 | 1, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Frame
			if err := Unmarshal(tt.body, &f); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Unmarshal(% x) = %v, want ErrMalformed", tt.body, err)
			}
		})
	}
}

func TestUnknownFieldsAreSkipped(t *testing.T) {
	body := []byte{byte(TypeSay)}
	body = binary.AppendUvarint(body, 99<<1) // unknown varint field
	body = binary.AppendUvarint(body, 12345)
	body = binary.AppendUvarint(body, 98<<1|1) // unknown bytes field
	body = append(body, 3, 'a', 'b', 'c')
	body = append(body, fieldText<<1|1, 2, 'h', 'i')
	var f Frame
	if err := Unmarshal(body, &f); err != nil || f.Text != "hi" {
		t.Fatalf("got %+v, %v; want Text hi", f, err)
	}
}

func TestDecoderGoesOnAfterMalformedBody(t *testing.T) {
	var stream []byte
	stream = append(stream, 0, 0, 0, 2, byte(TypeSay), 0x80) // truncated key
	stream = Append(stream, &Frame{Type: TypePing, ID: 5})
	var d Decoder
	d.Feed(stream)
	var f Frame
	if ok, err := d.Next(&f); ok || !errors.Is(err, ErrMalformed) {
		t.Fatalf("first Next = %v, %v; want ErrMalformed", ok, err)
	}
	if ok, err := d.Next(&f); !ok || err != nil || f.ID != 5 {
		t.Fatalf("second Next = %v, %v, %+v; want the ping", ok, err, f)
	}
}

func TestEncodingIsCompact(t *testing.T) {
	// A room message of 5 characters: header, type, and small fields.
	f := Frame{Type: TypeMessage, From: "alice", Room: "lounge", Text: "hello", Time: 1763760000123, Seq: 42}
	if n := len(Encode(&f)); n > 40 {
		t.Fatalf("encoded message is %d bytes, want at most 40", n)
	}
	if !bytes.Equal(Encode(&Frame{Type: TypePong}), []byte{0, 0, 0, 1, byte(TypePong)}) {
		t.Fatalf("an empty frame should be its header and type byte only")
	}
}

func TestTypeStrings(t *testing.T) {
	if TypeSay.String() != "say" || Type(200).String() != "type(200)" {
		t.Fatalf("got %q and %q", TypeSay.String(), Type(200).String())
	}
	if !TypePing.IsRequest() || TypePong.IsRequest() || TypeReply.IsRequest() ||
		!TypeFetch.IsRequest() || !TypeBroadcast.IsRequest() || TypeFileHeader.IsRequest() {
		t.Fatal("IsRequest disagrees with the protocol table")
	}
}

// NextBody hands over whole frames' bodies as Next decodes them, and
// MessageText finds a room message's text in one without copying it,
// refusing other types and malformed bodies.
func TestNextBodyAndMessageText(t *testing.T) {
	msg := Frame{Type: TypeMessage, From: "alice", Room: "lounge", Text: "hello there", Time: 1, Seq: 2}
	stream := Append(Append(nil, &msg), &Frame{Type: TypeReply, ID: 3, Text: "ok"})
	var d Decoder
	d.Feed(stream[:10])
	if _, ok, err := d.NextBody(); ok || err != nil {
		t.Fatalf("a partial frame: ok %v, err %v", ok, err)
	}
	d.Feed(stream[10:])
	body, ok, err := d.NextBody()
	if !ok || err != nil {
		t.Fatalf("NextBody: %v %v", ok, err)
	}
	if text, isMsg := MessageText(body); !isMsg || string(text) != msg.Text {
		t.Fatalf("MessageText = %q, %v", text, isMsg)
	}
	body, ok, err = d.NextBody()
	if !ok || err != nil {
		t.Fatalf("NextBody of the reply: %v %v", ok, err)
	}
	if _, isMsg := MessageText(body); isMsg {
		t.Fatal("a reply taken for a message")
	}
	var f Frame
	if err := Unmarshal(body, &f); err != nil || f.ID != 3 || f.Text != "ok" {
		t.Fatalf("the reply's body: %+v, %v", f, err)
	}
	for _, bad := range [][]byte{nil, {byte(TypeMessage), fieldText<<1 | 1, 10, 'h'}, {byte(TypeMessage), fieldText << 1, 5}} {
		if text, isMsg := MessageText(bad); isMsg {
			t.Errorf("MessageText(% x) = %q, want refused", bad, text)
		}
	}
	encoded := Encode(&msg)[HeaderSize:]
	if n := testing.AllocsPerRun(100, func() { MessageText(encoded) }); n != 0 {
		t.Errorf("MessageText allocates %v times", n)
	}
}
