package server

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"chat/internal/store"
	"chat/internal/wire"
)

// heldStream replaces s's following of the store's stream with one that
// a test holds back: while held, what the stream delivers waits (on the
// store's goroutine) until release.
type heldStream struct {
	mu   sync.Mutex
	gate chan struct{} // nil: not held
}

func (h *heldStream) hold() {
	h.mu.Lock()
	h.gate = make(chan struct{})
	h.mu.Unlock()
}

func (h *heldStream) release() {
	h.mu.Lock()
	close(h.gate)
	h.gate = nil
	h.mu.Unlock()
}

func (h *heldStream) wait() {
	h.mu.Lock()
	g := h.gate
	h.mu.Unlock()
	if g != nil {
		<-g
	}
}

func startHeldStream(t *testing.T, cfg Config) (*startedServer, *heldStream) {
	h := &heldStream{}
	s := startTuned(t, cfg, func(s *Server) {
		d := s.durable
		d.follow()
		after, err := d.st.LastStreamSeq()
		if err != nil {
			t.Fatal(err)
		}
		d.follow, err = d.st.Follow(after, func(m store.Stored, err error) {
			h.wait()
			d.deliver(s, m, err)
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	return s, h
}

// holdFor holds h's stream until the test ends or it is released.
func (h *heldStream) holdFor(t *testing.T) (release func()) {
	h.hold()
	released := false
	t.Cleanup(func() {
		if !released {
			h.release() // the server's stop waits for the stream's last delivery
		}
	})
	return func() {
		released = true
		h.release()
	}
}

// expectNothing fails if c is sent anything but pings within d.
func (c *client) expectNothing(d time.Duration, why string) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(d))
	var f wire.Frame
	for {
		ok, err := c.dec.Next(&f)
		if err != nil {
			c.t.Fatal(err)
		}
		if ok && f.Type == wire.TypeServerPing {
			continue
		}
		if ok {
			c.t.Fatalf("sent %+v %s", f, why)
		}
		n, err := c.conn.Read(c.buf)
		if n > 0 {
			c.dec.Feed(c.buf[:n])
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return
		}
		c.t.Fatal(err)
	}
}

// A stored room message's sender is not answered while the stream here
// has not shown it, however long that takes (a consumer made again, a
// NATS server cut off): the answer's Seq is where its client resumes from
// after a lost connection, and answered sooner it would skip the
// messages before its own that this server had not shown it yet.
func TestSenderAnsweredOnlyOnceTheStreamShowsIt(t *testing.T) {
	s, h := startHeldStream(t, Config{StateDir: t.TempDir()})
	a, b := aliceAndBobInLounge(t, s)
	release := h.holdFor(t)
	id := a.send(&wire.Frame{Type: wire.TypeSay, Text: "while the stream lags"})
	// Longer than the two seconds a sender used to wait at most.
	a.expectNothing(3*time.Second, "while the stream had not shown her message")
	release()
	if m := b.must(); m.Type != wire.TypeMessage || m.Text != "while the stream lags" {
		t.Fatalf("bob: %+v", m)
	}
	if r := a.must(); r.Type != wire.TypeReply || r.ID != id || r.Code != wire.OK || r.Seq == 0 {
		t.Fatalf("alice's answer: %+v", r)
	}
}

// In a cluster an Enter is answered once the stream here has shown every
// message the store held when it came: its Seq is where a client back
// from another server resumes (History after the last Seq it saw, if the
// reply's is higher; then live), so a reply from a stream that lags
// behind the one it was on would have it shown those messages again.
func TestClusterEnterAnsweredOnceTheStreamCaughtUp(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder", "carol": "singer"})
	cfg := Config{NATS: []string{ns.ClientURL()}, UsersFile: users}
	cfg.ServerName = "one"
	s1 := start(t, cfg)
	cfg.ServerName = "two"
	s2, h := startHeldStream(t, cfg)

	a, b := dial(t, s1.Addr()), dial(t, s1.Addr())
	a.login("alice", "wonderland")
	b.login("bob", "builder")
	a.call(&wire.Frame{Type: wire.TypeCreate, Room: "lounge"})
	a.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	b.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	a.expect(wire.TypeNotice, wire.NoticeEntered, "bob entered lounge")
	c := dial(t, s2.Addr())
	c.login("carol", "singer")
	waitFor(t, "alice and bob in lounge, seen from server two", func() bool {
		r := c.call(&wire.Frame{Type: wire.TypeWho, Room: "lounge"})
		return r.Code == wire.OK && len(r.Users) == 2
	})

	release := h.holdFor(t)
	var last uint64
	for _, text := range []string{"one", "two"} {
		r := a.call(&wire.Frame{Type: wire.TypeSay, Text: text})
		if r.Code != wire.OK {
			t.Fatalf("say %s: %+v", text, r)
		}
		b.expect(wire.TypeMessage, 0, text)
		last = r.Seq
	}
	// Carol stands for a member who saw up to last on server one and
	// comes back on server two.
	id := c.send(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	c.expectNothing(time.Second, "before the stream on server two showed what the store holds")
	release()
	for {
		f := c.must()
		if f.Type == wire.TypeReply && f.ID == id {
			if f.Code != wire.OK || f.Seq < last {
				t.Fatalf("carol's Enter on server two: %+v; want Seq %d at least", f, last)
			}
			break
		}
		if f.Type == wire.TypeMessage {
			t.Fatalf("carol was shown %+v before her Enter was answered", f)
		}
	}
	a.expect(wire.TypeNotice, wire.NoticeEntered, "carol entered lounge")
	if r := a.call(&wire.Frame{Type: wire.TypeSay, Text: "three"}); r.Code != wire.OK {
		t.Fatalf("say three: %+v", r)
	}
	for {
		f := c.must()
		if f.Type == wire.TypeMessage {
			if f.Text != "three" {
				t.Fatalf("carol was shown %q live after entering at Seq %d or later", f.Text, last)
			}
			break
		}
	}
}
