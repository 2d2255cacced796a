package server

import (
	"fmt"
	"io/fs"
	"time"

	"chat/internal/wire"
	"chat/server/hub"
)

// The loop's side of the defences (docs/DESIGN.md, "Defences"): deadlines
// on Hello and on a frame in progress (slowloris), login throttling and the
// bound on password checks under way. Flood control is in the hub
// (limits.go), the throttle's arithmetic in throttle.go.

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
		if c.closing || c.dead || c.data != nil || c.verifying {
			continue
		}
		if !c.greeted && (c.irc == nil && s.hub.Greeted(c.sid) || c.irc != nil && c.irc.welcomed()) {
			// An IRC connection's Hello deadline is its registration's.
			c.greeted = true
		}
		var text string
		switch {
		case hello > 0 && !c.greeted && now.Sub(c.since) >= hello:
			text = "no Hello within " + wire.RoundDuration(hello).String() + " of connecting"
			if c.irc != nil {
				text = "Registration timed out: not registered within " + wire.RoundDuration(hello).String()
			}
		case frame > 0 && !c.partialSince.IsZero() && now.Sub(c.partialSince) >= frame:
			text = "a frame took longer than " + wire.RoundDuration(frame).String() + " to arrive"
		default:
			continue
		}
		s.cfg.Logf("session %d: %s: closing it", c.sid, text)
		bye := &wire.Frame{Type: wire.TypeBye, Code: wire.ByeTimeout, From: wire.ServerName, Text: text, Time: now.UnixMilli()}
		if err := c.write(s.encodeFor(c, bye), s.cfg.MaxOutput+1024); err != nil {
			s.kill(c, "write: "+err.Error())
			continue
		}
		s.lose(c, text, now)
	}
	s.reap(now)
}

// notePartial keeps c.partialSince: when the frame the decoder holds in
// part began (at the read that completed the frame before it), zero when
// it holds none. process calls it with the frame count it started with.
func (s *Server) notePartial(c *conn, before int, now time.Time) {
	switch {
	case c.verifying || c.closing || c.dead || c.data != nil || c.buffered() == 0:
		// While a check is out, whole frames wait in the decoder: the
		// peer is not being read, so it cannot be late.
		c.partialSince = time.Time{}
	case c.frames != before || c.partialSince.IsZero():
		c.partialSince = now
	}
}

// heldCheck is a password check waiting out its throttle delay.
type heldCheck struct {
	at  time.Time
	req hub.VerifyRequest
}

// checkLogin starts the password check the hub asked for, after the delay
// the throttle gives it. The session's frames wait meanwhile (its read
// interest is off), and other sessions go on being served.
func (s *Server) checkLogin(c *conn, req hub.VerifyRequest, now time.Time) {
	if d := s.throttle.admit(req.Name, c.ip, now); d > 0 {
		s.cfg.Logf("session %d: login as %s held for %v: failed logins for that name or address", c.sid, req.Name, d)
		s.held = append(s.held, heldCheck{at: now.Add(d), req: req})
		return
	}
	s.submitCheck(req)
}

// submitCheck hands a check to the workers unless MaxPendingChecks are
// under way already: then it is answered at once, busy.
func (s *Server) submitCheck(req hub.VerifyRequest) {
	if s.checking >= s.cfg.MaxPendingChecks || !s.ver.Submit(req) {
		if !s.busyLogged {
			s.busyLogged = true
			s.cfg.Logf("login checks: %d under way; refusing more until some finish", s.checking)
		}
		s.results = append(s.results, VerifyResult{VerifyRequest: req, Verdict: hub.VerdictBusy})
		return
	}
	s.busyLogged = false
	s.checking++
}

// releaseHeld submits the held checks whose delay is over; those whose
// session ended or is closing are dropped (their attempt still counts).
func (s *Server) releaseHeld(now time.Time) {
	kept := s.held[:0]
	for _, h := range s.held {
		if now.Before(h.at) {
			kept = append(kept, h)
			continue
		}
		if c := s.bySid[h.req.Session]; c != nil && !c.dead && !c.closing && c.verifying {
			s.submitCheck(h.req)
		}
	}
	clear(s.held[len(kept):])
	s.held = kept
}

// nextHeld returns when the first held check is due, zero if none is.
func (s *Server) nextHeld() time.Time {
	var next time.Time
	for _, h := range s.held {
		if next.IsZero() || h.at.Before(next) {
			next = h.at
		}
	}
	return next
}

// usersModeWarning returns a warning when the users file's mode lets group
// or others read or write it, "" otherwise.
func usersModeWarning(path string, mode fs.FileMode) string {
	if mode.Perm()&0o066 == 0 {
		return ""
	}
	return fmt.Sprintf("warning: users file %s has mode %04o: others may read or change the password hashes; fix it with: chmod 600 %s",
		path, mode.Perm(), path)
}
