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
