package hub

import (
	"fmt"
	"time"

	"chat/internal/wire"
)

// Flood control, in the hub (time passed in): a token bucket per session
// for the requests that make the server send something to others (Say,
// Tell, Broadcast). A session starts with Config.MsgBurst tokens and
// gains MsgRate a second up to that; each message costs one. A message
// without a token is refused with ErrSlowDown and relayed to nobody, and a
// session that goes on sending regardless (MaxRefused refused in a row) is
// told Bye ByeLimit and closed, its room told it was disconnected.

// slowDownText is the Reply text of a message refused by flood control.
const slowDownText = "you are sending too fast; wait a moment"

// allowMessage takes a token from s's bucket. Without one it answers the
// request with ErrSlowDown (and past MaxRefused in a row closes the
// session) and returns false.
func (h *Hub) allowMessage(out *outputs, s *session, f *wire.Frame, now time.Time) bool {
	if h.cfg.MsgRate <= 0 {
		return true
	}
	burst := float64(h.cfg.MsgBurst)
	if s.tokensAt.IsZero() {
		s.tokens = burst
	} else if d := now.Sub(s.tokensAt); d > 0 {
		s.tokens = min(burst, s.tokens+d.Seconds()*h.cfg.MsgRate)
	}
	s.tokensAt = now
	if s.tokens >= 1 {
		s.tokens--
		s.refused = 0
		return true
	}
	s.refused++
	out.send(s.id, h.reply(now, f.ID, wire.ErrSlowDown, slowDownText))
	if s.refused >= h.cfg.MaxRefused {
		h.cutFlooder(out, s, now)
	}
	return false
}

// cutFlooder ends a session that kept sending after being told to slow
// down: Bye ByeLimit, close; its room hears that it was disconnected.
func (h *Hub) cutFlooder(out *outputs, s *session, now time.Time) {
	h.tellShared(out, s, func(r *room) *wire.Frame {
		n := h.notice(now, wire.NoticeLost, s.name, r.name, s.name+" was disconnected from "+r.name+" for sending too fast")
		n.Words = "disconnected for sending too fast"
		return n
	})
	h.endTransfersOf(out, s, now)
	out.send(s.id, h.bye(now, wire.ByeLimit,
		fmt.Sprintf("you kept sending too fast: %d messages in a row were refused", s.refused)))
	*out = append(*out, Output{To: s.id, Close: true})
	h.detach(s)
}

// Greeted reports whether a session has said Hello (or is no session of
// the hub's: a data connection, or one the hub has forgotten). The loop
// closes a connection that has not within Config.HelloTimeout.
func (h *Hub) Greeted(sid SessionID) bool {
	s := h.sessions[sid]
	return s == nil || s.hello
}
