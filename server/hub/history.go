package hub

import (
	"fmt"
	"time"

	"chat/internal/wire"
)

// history is a room's recent messages, bounded by count and by text bytes
// so a chatty room cannot grow the server's memory without limit.
type history struct {
	msgs  []*wire.Frame // oldest first; msgs[head:] are live
	head  int
	bytes int
	// from is the Seq of the last message no longer kept: those after it
	// are all here. With a durable store the older ones are read from it.
	from uint64
}

// covers reports whether every message with Seq > after that the room
// has shown is kept here.
func (h *history) covers(after uint64) bool { return after >= h.from }

func (h *history) add(m *wire.Frame, maxLen, maxBytes int) {
	if maxLen < 0 {
		return
	}
	h.msgs = append(h.msgs, m)
	h.bytes += len(m.Text)
	for len(h.msgs)-h.head > maxLen || (h.bytes > maxBytes && len(h.msgs)-h.head > 1) {
		h.bytes -= len(h.msgs[h.head].Text)
		h.from = h.msgs[h.head].Seq
		h.msgs[h.head] = nil
		h.head++
	}
	// Compact once the dead prefix is as long as the live part, so the
	// slice stays within twice the bound.
	if h.head > 0 && h.head >= len(h.msgs)-h.head {
		n := copy(h.msgs, h.msgs[h.head:])
		clear(h.msgs[n:])
		h.msgs, h.head = h.msgs[:n], 0
	}
}

// since returns the kept messages with Seq > after.
func (h *history) since(after uint64) []*wire.Frame {
	live := h.msgs[h.head:]
	for i, m := range live {
		if m.Seq > after {
			return live[i:]
		}
	}
	return nil
}

// historyRequest replays a room's kept messages after the given Seq as
// Message frames, then replies with how many were replayed (Count), the
// room's last Seq, and whether older ones are gone.
func (h *Hub) historyRequest(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) *wire.Frame {
		r := h.reply(now, f.ID, code, text)
		out.send(s.id, r)
		return r
	}
	if h.cfg.HistoryLen < 0 {
		reply(wire.ErrUnavailable, "history is not available on this server")
		return
	}
	r := h.room(f.Room)
	if r == nil {
		reply(wire.ErrNoSuchRoom, "no room named "+f.Room+"; create it with: create "+f.Room)
		return
	}
	if s.in(r) < 0 && r.modes&modeSecret != 0 {
		reply(wire.ErrNoSuchRoom, "no room named "+f.Room)
		return
	}
	if s.in(r) < 0 && (r.modes&modeInviteOnly != 0 || r.key != "") {
		reply(wire.ErrNotInRoom, r.name+" is private: enter it to read its history")
		return
	}
	if f.Code == wire.HistoryBefore || f.Code == wire.HistoryAfter {
		h.historyPage(out, s, r, f, now)
		return
	}
	after := min(f.Seq, r.seq)
	upto := r.seq
	if i := s.in(r); i >= 0 {
		// What came after the session joined was sent to it as it came:
		// replaying it would show it twice.
		upto = max(s.joined[i].joinSeq, after)
	}
	if h.cfg.Durable && upto > after && !r.history.covers(after) {
		// The latest of what was missed, read from the store: a long
		// absence is paged back with HistoryBefore.
		n := int(min(upto-after, MaxReplay))
		out.store(&StoreOp{Kind: StoreReadBefore, Session: s.id, ReqID: f.ID, Room: r.name, Before: upto + 1, Count: n,
			after: after, upto: upto})
		return
	}
	var msgs []*wire.Frame
	for _, m := range r.history.since(after) {
		if m.Seq > upto {
			break
		}
		msgs = append(msgs, m)
	}
	h.replayed(out, s, f.ID, r, after, upto, msgs, false, now)
}

// MaxReplay bounds the messages one History request replays to a member
// who missed them; the older ones are read a page at a time.
const MaxReplay = wire.MaxHistoryPage

// replayed sends s the messages it missed in r after `after` up to upto,
// then the reply: how many (Count), the room's last Seq, and what is not
// there. bounded says the read stopped at MaxReplay.
func (h *Hub) replayed(out *outputs, s *session, id uint32, r *room, after, upto uint64, msgs []*wire.Frame, bounded bool, now time.Time) {
	for _, m := range msgs {
		out.send(s.id, m)
	}
	text := fmt.Sprintf("%s from %s", wire.Plural(len(msgs), "message", "messages"), r.name)
	gone := upto - after - uint64(len(msgs))
	if h.cfg.Durable {
		// Numbers missing among the stored ones are messages the store
		// refused, which nobody was shown; only those before the first
		// one read are older messages no longer kept (or not replayed).
		gone = upto - after
		if len(msgs) > 0 {
			gone = msgs[0].Seq - after - 1
		}
	}
	switch {
	case after < r.restartSeq && !r.restartExact:
		// Restored from a crash: the room's numbers jumped past an unknown
		// number of messages, so no count is given rather than a wrong one.
		text += "; the server restarted and keeps no messages from before it"
	case gone > 0 && bounded:
		text += fmt.Sprintf("; %d earlier %s: read them with history", gone, map[bool]string{true: "one is kept", false: "ones are kept"}[gone == 1])
	case gone > 0:
		text += fmt.Sprintf("; %d older %s no longer kept", gone, map[bool]string{true: "message is", false: "messages are"}[gone == 1])
		if after < r.restartSeq {
			text += " (the server restarted)"
		}
	}
	rep := h.reply(now, id, wire.OK, text)
	rep.Room, rep.Seq, rep.Count = r.name, r.seq, uint64(len(msgs))
	out.send(s.id, rep)
}

// historyRead answers a History request from what the store read.
func (h *Hub) historyRead(out *outputs, op *StoreOp, now time.Time) {
	s := h.asker(op)
	r := h.room(op.Room)
	if s == nil || r == nil {
		return
	}
	if op.Failure != StoreOK {
		out.send(s.id, h.reply(now, op.ReqID, wire.ErrUnavailable, "the history of "+r.name+" cannot be read right now; try again shortly"))
		return
	}
	if op.page != 0 {
		h.paged(out, s, op.ReqID, r, op.Msgs, now)
		return
	}
	msgs := op.Msgs
	for len(msgs) > 0 && msgs[0].Seq <= op.after {
		msgs = msgs[1:]
	}
	h.replayed(out, s, op.ReqID, r, op.after, op.upto, msgs, len(op.Msgs) == op.Count, now)
}

// historyPage replays a page of a room's kept messages (IRC's
// CHATHISTORY): the Count before Seq or At, or after it, oldest first.
// Only a member may page through a room's history.
func (h *Hub) historyPage(out *outputs, s *session, r *room, f *wire.Frame, now time.Time) {
	if s.in(r) < 0 {
		out.send(s.id, h.reply(now, f.ID, wire.ErrNotInRoom, "you are not in "+r.name))
		return
	}
	limit := int(min(max(f.Count, 1), wire.MaxHistoryPage))
	kept := r.history.msgs[r.history.head:]
	var page []*wire.Frame
	// The bound is Seq when given (a message's place), else At (a time).
	before := func(m *wire.Frame) bool { return f.At != 0 && m.Time >= f.At }
	after := func(m *wire.Frame) bool { return m.Time <= f.At }
	if f.Seq != 0 {
		before = func(m *wire.Frame) bool { return m.Seq >= f.Seq }
		after = func(m *wire.Frame) bool { return m.Seq <= f.Seq }
	}
	if f.Code == wire.HistoryBefore {
		end := len(kept)
		for end > 0 && before(kept[end-1]) {
			end--
		}
		page = kept[max(0, end-limit):end]
	} else {
		start := 0
		for start < len(kept) && after(kept[start]) {
			start++
		}
		page = kept[start:min(len(kept), start+limit)]
	}
	if h.cfg.Durable && f.At == 0 {
		// The page reaches past the cache: the store has it all. (A page
		// bounded by a time is read from the cache alone.)
		op := &StoreOp{Session: s.id, ReqID: f.ID, Room: r.name, Count: limit, page: f.Code}
		switch {
		case f.Code == wire.HistoryBefore && len(page) < limit && r.history.from > 0:
			op.Kind, op.Before = StoreReadBefore, f.Seq
		case f.Code == wire.HistoryAfter && !r.history.covers(f.Seq):
			op.Kind, op.After = StoreReadAfter, f.Seq
		}
		if op.Kind != 0 {
			out.store(op)
			return
		}
	}
	h.paged(out, s, f.ID, r, page, now)
}

// paged sends s a page of r's history and the reply that ends it.
func (h *Hub) paged(out *outputs, s *session, id uint32, r *room, page []*wire.Frame, now time.Time) {
	for _, m := range page {
		out.send(s.id, m)
	}
	rep := h.reply(now, id, wire.OK, fmt.Sprintf("%s from %s", wire.Plural(len(page), "message", "messages"), r.name))
	rep.Room, rep.Seq, rep.Count = r.name, r.seq, uint64(len(page))
	out.send(s.id, rep)
}
