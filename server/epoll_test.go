package server

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"chat/internal/wire"
)

// The server with the epoll poller: a chat, a slow reader cut off, a
// graceful shutdown, every descriptor (the epoll one too) released.
func TestServerEpoll(t *testing.T) {
	warmUp(t)
	fdsBefore := countFds(t)
	goBefore := runtime.NumGoroutine()
	s := start(t, Config{Poller: "epoll", MaxOutput: 64 << 10, MsgRate: -1})
	a := dial(t, s.Addr())
	a.login("alice", "wonderland")
	a.call(&wire.Frame{Type: wire.TypeCreate, Room: "r"})
	a.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"})
	b := dial(t, s.Addr())
	b.login("bob", "builder")
	if r := b.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"}); r.Text != "you entered r with alice" {
		t.Fatalf("enter: %+v", r)
	}
	a.expect(wire.TypeNotice, wire.NoticeEntered, "bob entered r")
	for i := range 50 {
		b.call(&wire.Frame{Type: wire.TypeSay, Text: "hello"})
		if m := a.must(); m.Type != wire.TypeMessage || m.Seq != uint64(i+1) {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
	// alice stops reading: her queue fills and she is cut off.
	text := strings.Repeat("x", 60000)
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("slow reader was never cut off")
		}
		id := b.send(&wire.Frame{Type: wire.TypeSay, Text: text})
		f := b.must()
		if f.Type == wire.TypeReply && f.ID == id {
			continue
		}
		if f.Type != wire.TypeNotice || f.Code != wire.NoticeLost || f.Name != "alice" {
			t.Fatalf("notice: %+v", f)
		}
		b.expectReply(id, wire.OK)
		break
	}
	a.conn.Close()
	s.Shutdown()
	b.expectSkipping(wire.TypeNotice, wire.NoticeShutdown)
	b.expect(wire.TypeBye, wire.ByeShutdown, "")
	if f, err := b.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after shutdown bye: %+v, %v", f, err)
	}
	b.conn.Close()
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "descriptors to be released", func() bool { return countFds(t) <= fdsBefore })
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goBefore })
}

func TestServerUnknownPoller(t *testing.T) {
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland"})
	if _, err := New(Config{Addr: "127.0.0.1:0", UsersFile: users, Poller: "select"}); err == nil ||
		!strings.Contains(err.Error(), "unknown poller") {
		t.Fatalf("New with poller select: %v", err)
	}
}
