package hub

import (
	"time"

	"chat/internal/wire"
)

// Who was here: the users who logged out, were disconnected or changed
// their name, newest last, for IRC's WHOWAS. Bounded: the oldest are
// forgotten first.

// departed is a name a user held, and what others saw of them.
type departed struct {
	name, ident, real string
}

// maxDeparted bounds the users WHOWAS remembers.
const maxDeparted = 256

// maxWhowas bounds the entries of one Whowas reply.
const maxWhowas = 20

// remember notes that s no longer holds its name.
func (h *Hub) remember(s *session) {
	if len(h.departed) == maxDeparted {
		h.departed = append(h.departed[:0], h.departed[1:]...)
	}
	h.departed = append(h.departed, departed{name: s.name, ident: s.ident, real: s.real})
}

// whowas answers who held a name before: newest first, up to Count (0:
// all kept, at most maxWhowas), as Users rows.
func (h *Hub) whowas(out *outputs, s *session, f *wire.Frame, now time.Time) {
	limit := maxWhowas
	if f.Count > 0 {
		limit = int(min(f.Count, maxWhowas))
	}

	var rows []wire.User
	for i := len(h.departed) - 1; i >= 0 && len(rows) < limit; i-- {
		if d := h.departed[i]; d.name == f.Name {
			rows = append(rows, wire.User{Name: d.name, Ident: d.ident, Real: d.real})
		}
	}
	if len(rows) == 0 {
		out.send(s.id, h.reply(now, f.ID, wire.ErrNoSuchUser, "nobody named "+wire.QuoteName(f.Name)+" was here lately"))
		return
	}
	rep := h.reply(now, f.ID, wire.OK, wire.Plural(len(rows), "user", "users")+" named "+f.Name+" were here")
	rep.Users = rows
	out.send(s.id, rep)
}
