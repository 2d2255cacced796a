package server

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
	"chat/server/irc"
)

func TestWireProtocolSteps(t *testing.T) {
	p := &wireProtocol{enc: &encoder{}}
	hello := wire.Encode(&wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version})
	say := wire.Encode(&wire.Frame{Type: wire.TypeSay, ID: 2, Text: "hi"})
	malformed := []byte{0, 0, 0, 2, byte(wire.TypeSay), 0xff} // a body that does not parse
	in := bytes.Join([][]byte{hello, malformed, say, say[:3]}, nil)
	p.feed(in)
	var f wire.Frame
	for i, want := range []step{stepRequest, stepMalformed, stepRequest, stepNone} {
		_, req, st, err := p.next(nil, &f)
		if st != want || err != nil || (st == stepRequest) != (req != nil) {
			t.Fatalf("step %d: %v, %v, request %v; want %v", i, st, err, req, want)
		}
	}
	p.settle()
	if p.buffered() != 3 {
		t.Fatalf("buffered %d bytes, want the 3 of a partial frame", p.buffered())
	}
	if rest := p.leftover(); !bytes.Equal(rest, say[:3]) || p.buffered() != 0 {
		t.Fatalf("leftover %q, then %d buffered", rest, p.buffered())
	}
	p.feed([]byte{0xff, 0xff, 0xff, 0xff, 1}) // a length no frame may have
	if _, _, st, err := p.next(nil, &f); st != stepBroken || err == nil {
		t.Fatalf("bad length: %v, %v", st, err)
	}
}

func TestWireProtocolEncodesASharedFrameOnce(t *testing.T) {
	enc := &encoder{}
	a, b := &wireProtocol{enc: enc}, &wireProtocol{enc: enc}
	m := &wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "hi", Seq: 1}
	first := a.encode(m)
	if second := b.encode(m); &second[0] != &first[0] {
		t.Fatal("the same frame was encoded twice")
	}
	enc.reset()
	m.Text = "changed"
	if got, _ := wire.MessageText(b.encode(m)[4:]); !strings.Contains(string(got), "changed") {
		t.Fatalf("after reset the old encoding was kept: %q", got)
	}
}

func TestIRCProtocolStartsWithHelloAndWordsTimeouts(t *testing.T) {
	p := newIRCProtocol(&irc.Config{Server: "srv", Software: "chat-server-1", Created: "today"}, &[irc.Variants]encoder{})
	_, req, st, _ := p.next(nil, nil)
	if st != stepRequest || req.Type != wire.TypeHello {
		t.Fatalf("first step: %v, %+v", st, req)
	}
	if _, _, st, _ := p.next(nil, nil); st != stepNone {
		t.Fatalf("then %v, want nothing", st)
	}
	p.feed([]byte("PING :x\r\n"))
	out, _, st, _ := p.next(nil, nil)
	if st != stepAnswered || !strings.Contains(string(out), "PONG") {
		t.Fatalf("PING: %v, %q", st, out)
	}
	if p.greeted() || p.ended() || !p.watched() {
		t.Fatal("an unregistered IRC connection: greeted, ended or not watched")
	}
	if got := p.timeoutText(timeoutSilent, 90*time.Second); got != "Ping timeout: 1m30s" {
		t.Fatalf("silent: %q", got)
	}
	p.feed([]byte("QUIT\r\n"))
	p.next(nil, nil)
	if !p.ended() {
		t.Fatal("QUIT before registration did not end the conversation")
	}
}

func TestDataConnIsNotWatchedNorDecoded(t *testing.T) {
	d := &dataConn{role: wire.RoleOwner}
	c := &conn{proto: d}
	d.feed([]byte("file bytes"))
	if _, _, st, _ := d.next(nil, nil); st != stepNone || d.watched() || c.link() != d {
		t.Fatalf("a data connection: step %v, watched %v, link %v", st, d.watched(), c.link())
	}
	if (&conn{proto: &wireProtocol{}}).link() != nil {
		t.Fatal("a chat connection has a link")
	}
}
