package server

import (
	"time"
)

// aliveWhileHeld pings a connection whose password is being checked (or
// whose message is being stored). Its frames wait unread meanwhile, which
// on a loaded server (everyone logging in again after a restart) can take
// a while, so the session
// cannot be judged silent; but its client hears nothing either, and is
// shown every PingInterval that the server is alive, lest it give the
// connection up.
func (s *Server) aliveWhileHeld(c *conn, now time.Time) {
	last := c.lastHeard
	if c.lastAlive.After(last) {
		last = c.lastAlive
	}
	if c.parked || now.Sub(last) < s.cfg.PingInterval {
		return
	}
	c.lastAlive = now
	if s.writeNow(c, pingFrame(now)) {
		s.afterWrite(c)
	}
}
