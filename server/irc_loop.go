package server

import (
	"time"

	"chat/internal/wire"
)

// The loop's side of the IRC listener: an IRC connection is a conn whose
// bytes go through its ircSession instead of the wire decoder, and whose
// hub output is rendered as IRC lines instead of frames. Everything else
// (output queues, liveness, deadlines, limits, closing) is the same code.

// processIRC handles the whole lines buffered for an IRC connection until
// none is whole, a password check holds the session, or it closes.
func (s *Server) processIRC(c *conn, now time.Time) {
	defer s.notePartial(c, c.frames, now)
	for !c.verifying && !c.closing && !c.dead {
		line, tooLong, ok := c.irc.lines.next()
		if !ok {
			return
		}
		c.frames++
		if tooLong {
			s.ircBuf = c.irc.numeric(s.ircBuf[:0], "417", "Input line was too long")
		} else {
			s.ircBuf = c.irc.handleLine(s.ircBuf[:0], line)
		}
		if len(s.ircBuf) > 0 && !s.enqueue(c, s.ircBuf) {
			return
		}
		s.handToHub(c, c.irc.takeRequests(), now)
		if c.irc.closeNow && !c.dead {
			s.startClosing(c, "IRC link closed", now)
		}
	}
}

// handToHub hands an IRC session's requests to the hub in order.
func (s *Server) handToHub(c *conn, reqs []wire.Frame, now time.Time) {
	for i := range reqs {
		if c.closing || c.dead {
			return
		}
		s.apply(s.hub.Handle(c.sid, &reqs[i], now), now)
	}
}

// sendIRC queues a hub frame for an IRC connection as IRC lines. A room
// message reads the same for every IRC member, so it is rendered once per
// frame like the wire encoding.
func (s *Server) sendIRC(c *conn, f *wire.Frame, now time.Time) {
	shared := f.Type == wire.TypeMessage && f.Room != ""
	var enc []byte
	if shared && f == s.ircLast {
		enc = s.ircEnc
	} else {
		enc = c.irc.render(s.ircEnc[:0], f)
		s.ircEnc = enc
		s.ircLast = nil
		if shared {
			s.ircLast = f
		}
	}
	if len(enc) > 0 && !s.enqueue(c, enc) {
		return
	}
	if reqs := c.irc.takeRequests(); len(reqs) > 0 {
		// Asked of the hub once this output is applied (irc FollowUps).
		s.ircPending = append(s.ircPending, ircFollowUp{c: c, reqs: reqs})
	}
	if c.irc.closeNow {
		s.startClosing(c, "IRC link closed", now)
	}
}

// ircFollowUp is requests an IRC session made while its output was being
// rendered (the names after a takeover, refusing a file).
type ircFollowUp struct {
	c    *conn
	reqs []wire.Frame
}

// ircFollowUps hands the follow-up requests to the hub, after the output
// that caused them, so a hub call never runs inside another's outputs.
func (s *Server) ircFollowUps(now time.Time) {
	if s.inFollowUps {
		return
	}
	s.inFollowUps = true
	defer func() { s.inFollowUps = false }()
	for len(s.ircPending) > 0 {
		f := s.ircPending[0]
		s.ircPending[0] = ircFollowUp{}
		s.ircPending = s.ircPending[1:]
		s.handToHub(f.c, f.reqs, now)
	}
	s.ircPending = nil
	if cap(s.ircEnc) > 64<<10 {
		s.ircEnc = nil
	}
	s.ircLast = nil
}

// encodeFor encodes a frame the loop itself sends (a Bye, a Ping) in the
// connection's protocol.
func (s *Server) encodeFor(c *conn, f *wire.Frame) []byte {
	if c.irc != nil {
		return c.irc.render(nil, f)
	}
	return wire.Encode(f)
}
