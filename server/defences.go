package server

import (
	"time"

	"chat/internal/wire"
)

// The loop's side of the defences (docs/DESIGN.md, "Defences"): deadlines
// on Hello and on a frame in progress (slowloris), login throttling and the
// bound on password checks under way. Flood control is in the hub
// (hub/flood.go), login throttling in auth.Gate.

// guard closes the connections that have not said Hello within
// HelloTimeout of connecting, or that have held a partial frame for
// FrameTimeout, however many bytes trickled in meanwhile: Bye ByeTimeout
// with the reason, and the room is told contact was lost. Like the
// liveness sweep it runs a few times per timeout, not per connection.
func (s *Server) guard(now time.Time) {
	hello, frame := s.cfg.HelloTimeout, s.cfg.FrameTimeout
	if s.shutting || (hello <= 0 && frame <= 0) || now.Before(s.nextGuard) {
		return
	}
	step := max(hello, frame)
	for _, d := range []time.Duration{hello, frame} {
		if d > 0 {
			step = min(step, d)
		}
	}
	s.nextGuard = now.Add(max(step/4, 10*time.Millisecond))
	for _, c := range s.conns {
		if c.closing || c.dead || !c.proto.watched() || c.held {
			continue
		}
		if !c.greeted && s.hub.Greeted(c.sid) && c.proto.greeted() {
			// An IRC connection's Hello deadline is its registration's.
			c.greeted = true
		}
		var text string
		switch {
		case hello > 0 && !c.greeted && now.Sub(c.since) >= hello:
			text = c.proto.timeoutText(timeoutHello, hello)
		case frame > 0 && !c.partialSince.IsZero() && now.Sub(c.partialSince) >= frame:
			text = "a frame took longer than " + wire.RoundDuration(frame).String() + " to arrive"
		default:
			continue
		}
		s.cfg.Logf("session %d: %s: closing it", c.sid, text)
		if s.writeNow(c, byeFrame(wire.ByeTimeout, text, now)) {
			s.lose(c, text, now)
		}
	}
	s.reap(now)
}

// notePartial keeps c.partialSince: when the frame the decoder holds in
// part began (at the read that completed the frame before it), zero when
// it holds none. process calls it with the frame count it started with.
func (s *Server) notePartial(c *conn, before int, now time.Time) {
	switch {
	case c.held || c.closing || c.dead || !c.proto.watched() || c.proto.buffered() == 0:
		// While a check is out, whole frames wait in the decoder: the
		// peer is not being read, so it cannot be late.
		c.partialSince = time.Time{}
	case c.frames != before || c.partialSince.IsZero():
		c.partialSince = now
	}
}
