package server

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"

	"chat/internal/poller"
	"chat/internal/wire"
	"chat/server/hub"
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
		var sids []hub.SessionID
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
		c := s.bySid[hub.SessionID(i+1)]
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

// A pass takes at most maxEventsPerPass events, and the next pass goes on
// from there, wrapping around, so every ready descriptor is served.
func TestPassEventsTakesTurns(t *testing.T) {
	var s Server
	few := make([]poller.Event, maxEventsPerPass)
	if got := s.passEvents(few); len(got) != len(few) || &got[0] != &few[0] {
		t.Fatal("a pass within the bound does not take every event as it is")
	}
	evs := make([]poller.Event, maxEventsPerPass+maxEventsPerPass/2)
	for i := range evs {
		evs[i].Fd = i
	}
	seen := map[int]int{}
	for pass := range 3 {
		got := s.passEvents(evs)
		if len(got) != maxEventsPerPass {
			t.Fatalf("pass %d took %d events, want %d", pass, len(got), maxEventsPerPass)
		}
		for _, ev := range got {
			seen[ev.Fd]++
		}
	}
	// Three passes of 64 over 96 ready events: each taken twice.
	for fd := range evs {
		if seen[fd] != 2 {
			t.Errorf("descriptor %d taken %d times in three passes, want 2", fd, seen[fd])
		}
	}
}

// Hundreds of connections whose requests all arrive at once, more than one
// pass handles, are all answered.
func TestServerBurstOfRequests(t *testing.T) {
	s := start(t, Config{})
	clients := make([]*client, 3*maxEventsPerPass)
	for i := range clients {
		clients[i] = dial(t, s.Addr())
		clients[i].call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	}
	for _, c := range clients {
		c.send(&wire.Frame{Type: wire.TypePing})
	}
	for i, c := range clients {
		if r := c.must(); r.Type != wire.TypeReply || r.Code != wire.OK || r.Text != "pong" {
			t.Fatalf("client %d: %+v", i, r)
		}
	}
}
