package server

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// Replies queued in a pass are written before the room's messages: the
// connections that got one are put on the urgent list, in order, and the
// flush empties it, writing every connection's output once.
func TestServerWritesRepliesFirst(t *testing.T) {
	const n = 40
	s, peers := socketServer(t, n, 0)
	s.apply(s.hub.Handle(1, &wire.Frame{Type: wire.TypeSay, ID: 10, Text: "to the room"}, t0), t0)
	s.apply(s.hub.Handle(n, &wire.Frame{Type: wire.TypePing, ID: 11}, t0), t0)

	if len(s.urgent) != 2 || s.urgent[0].sid != 1 || s.urgent[1].sid != n {
		var sids []SessionID
		for _, c := range s.urgent {
			sids = append(sids, c.sid)
		}
		t.Fatalf("urgent connections %v, want [1 %d] (the Say's sender, then the Ping's)", sids, n)
	}
	if len(s.dirty) != n {
		t.Fatalf("%d connections with output, want %d", len(s.dirty), n)
	}

	s.flushPass(t0)
	if len(s.urgent) != 0 || len(s.dirty) != 0 {
		t.Fatalf("after the flush: %d urgent, %d dirty", len(s.urgent), len(s.dirty))
	}
	buf := make([]byte, 64<<10)
	for i, fd := range peers {
		c := s.bySid[SessionID(i+1)]
		if c.urgent || c.queued || c.pending() != 0 {
			t.Errorf("session %d: urgent %v queued %v pending %d", i+1, c.urgent, c.queued, c.pending())
		}
		m, err := unix.Read(fd, buf)
		if err != nil || m <= 0 {
			t.Fatalf("session %d got nothing: %v", i+1, err)
		}
		got := buf[:m]
		switch i + 1 {
		case 1:
			if bytes.Contains(got, []byte("to the room")) {
				t.Errorf("the sender got her own message")
			}
		case n:
			if !bytes.Contains(got, []byte("pong")) || !bytes.Contains(got, []byte("to the room")) {
				t.Errorf("session %d: want the message and the pong, got %q", n, got)
			}
		default:
			if !bytes.Contains(got, []byte("to the room")) {
				t.Errorf("session %d: no message in %q", i+1, got)
			}
		}
	}
}
