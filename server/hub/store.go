package hub

import (
	"fmt"
	"slices"
	"time"

	"chat/internal/wire"
)

// The hub's side of a durable message store (Config.Durable). The hub
// stays pure: it asks for store work with an Output carrying a StoreOp,
// the loop does it off its goroutine, and hands the op back, its outcome
// filled in, to StoreDone. Results come back in the order the ops were
// asked for within a room and within a recipient's messages (a session
// waits for its own, so its replies keep its order).
//
// A message is shown to nobody, and its sender gets no OK, until the
// store has it; if the store refuses it the sender is told why and the
// message goes nowhere. Without Follows the hub numbers it (room.next)
// and shows it when the store answers; with Follows (the server's way)
// the store numbers it and the hub shows what the store's stream
// delivers (Delivered), so that a room's members, on every server, see
// its messages in the store's one order, each once.

// StoreKind says what a StoreOp asks of the store.
type StoreKind uint8

const (
	// StoreMessage stores Frame: a room Message (with its Seq) or a
	// Private one (To); Away keeps a private message for an account that
	// is not connected, to be delivered when it logs in.
	StoreMessage StoreKind = iota + 1
	// StoreReadBefore reads Room's last Count messages with Seq < Before
	// (Before 0: the latest).
	StoreReadBefore
	// StoreReadAfter reads Room's first Count messages with Seq > After.
	StoreReadAfter
	// StoreInbox reads the private messages kept for Name while it was
	// away; the loop sets Through to the store's mark of the last one.
	StoreInbox
	// StoreClearInbox forgets Name's kept messages up to Through, once
	// delivered. It has no outcome: the loop does not call StoreDone.
	StoreClearInbox
	// StoreRoom saves a room just made (State), before whoever made it is
	// told: a room acknowledged is a room a restart keeps.
	StoreRoom
	// StoreCatchUp reads Room's last stored message (the loop puts it in
	// Msgs) before an Enter (Frame) is answered, and the loop hands the op
	// back once the stream has shown that message here (CatchUpSeq).
	StoreCatchUp
)

// StoreFailure is why the store did not do what was asked.
type StoreFailure uint8

const (
	StoreOK StoreFailure = iota
	// StoreFull: no room for the message (the store's size limit, a full
	// disk). It was not stored.
	StoreFull
	// StoreInboxFull: the recipient's kept private messages are at their
	// bound. It was not stored.
	StoreInboxFull
	// StoreUnavailable: the store could not be reached or was too busy.
	// Nothing was stored.
	StoreUnavailable
	// StoreUnknown: the store did not answer in time; the message may or
	// may not have been stored.
	StoreUnknown
)

// StoreOp is one piece of work for the message store.
type StoreOp struct {
	Kind    StoreKind
	Session SessionID // who asked (it may be gone by the outcome)
	ReqID   uint32
	Frame   *wire.Frame // StoreMessage
	Away    bool        // StoreMessage of a Private frame
	Room    string      // the reads
	Name    string      // the inbox's owner
	Before  uint64      // StoreReadBefore
	After   uint64      // StoreReadAfter
	Count   int         // the reads: how many at most
	Through uint64      // StoreInbox's outcome, StoreClearInbox's bound
	State   *RoomState  // StoreRoom

	// The outcome, set by the loop before StoreDone: the messages read,
	// oldest first, or why it failed (Detail in the store's own words,
	// for the log).
	Msgs    []*wire.Frame
	Failure StoreFailure
	Detail  string

	// What the reads answer: a History request replaying what a member
	// missed after `after` up to `upto`, or a page (its code).
	page        wire.Code
	after, upto uint64
	// The outputs of the request that made a room (StoreRoom), held back
	// until it is saved.
	held []Output
	// kept is the account's mark in Hub.kept when its inbox read was asked.
	kept uint64
}

// Holds reports whether the session's further frames wait for the
// outcome: they do for its messages and history reads, so its replies
// keep the order of its requests.
func (op *StoreOp) Holds() bool {
	return op.Kind == StoreMessage || op.Kind == StoreReadBefore || op.Kind == StoreReadAfter || op.Kind == StoreRoom ||
		op.Kind == StoreCatchUp
}

// CatchUpSeq is the Seq of the room message op's outcome waits for the
// stream to show here before the hub takes it: a stored room message's
// own, or, for StoreCatchUp, the room's last stored one. Zero: none.
func (op *StoreOp) CatchUpSeq() (room string, seq uint64) {
	switch {
	case op.Failure != StoreOK:
		return "", 0
	case op.Kind == StoreMessage && op.Frame.Type == wire.TypeMessage:
		return op.Frame.Room, op.Frame.Seq
	case op.Kind == StoreCatchUp && len(op.Msgs) > 0:
		return op.Room, op.Msgs[len(op.Msgs)-1].Seq
	}
	return "", 0
}

func (o *outputs) store(op *StoreOp) {
	*o = append(*o, Output{To: op.Session, Store: op})
}

// StoreDone takes the outcome of a StoreOp and returns its effects.
func (h *Hub) StoreDone(op *StoreOp, now time.Time) []Output {
	var out outputs
	switch op.Kind {
	case StoreMessage:
		if op.Frame.Type == wire.TypePrivate {
			h.privateStored(&out, op, now)
		} else {
			h.messageStored(&out, op, now)
		}
	case StoreReadBefore, StoreReadAfter:
		h.historyRead(&out, op, now)
	case StoreInbox:
		h.inboxRead(&out, op, now)
	case StoreRoom:
		// Saved or not, the room is made: a failure is logged, and the
		// next change of the room saves it again.
		out = append(out, op.held...)
	case StoreCatchUp:
		// Read or not (the store away: the Enter is answered as without
		// one), the stream here has shown what was read.
		if s := h.asker(op); s != nil {
			h.enterCaughtUp(&out, s, op.Frame, now)
		}
	}
	return out
}

// catchUp asks, in a cluster, that an Enter of room r be answered only
// once this server's stream has shown every message the store held when
// it was asked, and reports whether it asked. The reply's Seq is where a
// client that comes back from another server resumes: it asks History
// after the last Seq it saw only if the reply's is higher, and is sent
// live whatever comes after the reply's. So a reply from a stream that
// lags behind the one the client was on would have it shown again what
// it saw there, and one ahead of what it saw must cover every message in
// between, which only the store's last message bounds.
func (h *Hub) catchUp(out *outputs, s *session, r *room, f *wire.Frame) bool {
	if !h.cfg.Follows || !h.clustered() || r == nil {
		return false
	}
	enter := *f
	out.store(&StoreOp{Kind: StoreCatchUp, Session: s.id, ReqID: f.ID, Room: r.name, Frame: &enter})
	return true
}

// saveRoomFirst holds back the outputs a request made since mark (its
// reply among them) until the room r it made is saved, when the hub is
// durable.
func (h *Hub) saveRoomFirst(out *outputs, mark int, s *session, id uint32, r *room) {
	if !h.cfg.Durable {
		return
	}
	op := &StoreOp{Kind: StoreRoom, Session: s.id, ReqID: id, Room: r.name, held: slices.Clone((*out)[mark:])}
	st := h.roomStateOf(r, false)
	op.State = &st
	*out = (*out)[:mark]
	out.store(op)
}

// asker is the session that asked for op, if it is still there to be
// answered.
func (h *Hub) asker(op *StoreOp) *session {
	if s := h.sessions[op.Session]; s != nil && !s.closing {
		return s
	}
	return nil
}

// messageStored shows a stored room message to the room and tells its
// sender; a message the store refused is shown to nobody.
func (h *Hub) messageStored(out *outputs, op *StoreOp, now time.Time) {
	m := op.Frame
	r := h.room(m.Room)
	if r == nil {
		return
	}
	s := h.asker(op)
	if !h.cfg.Follows {
		r.seq = max(r.seq, m.Seq)
	}
	if op.Failure != StoreOK {
		if s != nil {
			out.send(s.id, h.reply(now, op.ReqID, wire.ErrUnavailable, storeFailureText(op.Failure, "your message")))
		}
		return
	}
	if !h.cfg.Follows {
		r.history.add(m, h.cfg.HistoryLen, h.cfg.HistoryBytes)
		out.toRoom(r, s, m)
	}
	if s != nil {
		rep := h.reply(now, op.ReqID, wire.OK, "")
		rep.Room, rep.Seq = r.name, m.Seq
		out.send(s.id, rep)
	}
}

// Delivered shows a room message the store's stream delivered (Follows):
// to every member here but its sender, once, in the stream's order. A
// message already shown (the stream read again from before a restart) is
// dropped.
func (h *Hub) Delivered(m *wire.Frame, now time.Time) []Output {
	r := h.room(m.Room)
	if r == nil || m.Seq <= r.seq {
		return nil
	}
	r.seq, r.next = m.Seq, max(r.next, m.Seq)
	if m.Seq+seqBlock/2 > r.reserved {
		// The room's mark in the state moves on now and then, so that its
		// numbers never go back even if every message ages out.
		r.reserved = m.Seq + seqBlock
		h.stateVer++
	}
	r.history.add(m, h.cfg.HistoryLen, h.cfg.HistoryBytes)
	var out outputs
	out.toRoom(r, h.names[m.From], m)
	return out
}

// Shown reports whether room's members here have been shown its message
// seq (or the room is gone).
func (h *Hub) Shown(room string, seq uint64) bool {
	r := h.room(room)
	return r == nil || r.seq >= seq
}

// storeFailureText tells a sender why what (a message) was not sent.
func storeFailureText(f StoreFailure, what string) string {
	switch f {
	case StoreFull:
		return what + " was not sent: the server's message store is full"
	case StoreUnknown:
		return "the server's message store did not answer in time: " + what + " may not have been kept, and nobody was shown it"
	}
	return what + " was not sent: the server cannot store messages right now; try again shortly"
}

// privateStored delivers a stored private message, or tells the sender it
// is kept for the recipient's next login.
func (h *Hub) privateStored(out *outputs, op *StoreOp, now time.Time) {
	p := op.Frame
	s := h.asker(op)
	reply := func(code wire.Code, text string) *wire.Frame {
		if s == nil {
			return &wire.Frame{}
		}
		rep := h.reply(now, op.ReqID, code, text)
		out.send(s.id, rep)
		return rep
	}
	switch {
	case op.Failure == StoreInboxFull:
		reply(wire.ErrUnavailable, fmt.Sprintf("%s is away and has too many messages waiting: the message was not kept", p.To))
		return
	case op.Failure != StoreOK:
		reply(wire.ErrUnavailable, storeFailureText(op.Failure, "the message"))
		return
	case op.Away:
		// Whether or not the recipient logged in meanwhile: its login
		// read the inbox after this message was stored (StoreInbox).
		rep := reply(wire.OK, p.To+" is not connected; the message is kept and delivered when they log in")
		// As an away message, IRC shows it (301) where it shows one.
		rep.Name, rep.Words, rep.Count = p.To, "not connected; the message is kept for their next login", p.Count
		return
	}
	to := h.user(p.To)
	if to == nil || to.closing {
		// Gone while it was being stored: kept for them instead.
		h.storePrivate(out, op.Session, op.ReqID, p, true)
		return
	}
	h.deliverPrivate(out, s, op.ReqID, to, p, now)
}

// storePrivate asks for a private message to be stored, away when it is
// kept for an account that is not connected.
func (h *Hub) storePrivate(out *outputs, sid SessionID, reqID uint32, p *wire.Frame, away bool) {
	if away {
		// Marked before it is stored: a login while it is on its way
		// must read the inbox (Store.Inbox waits for it).
		h.keptSerial++
		h.kept[p.To] = h.keptSerial
	}
	out.store(&StoreOp{Kind: StoreMessage, Session: sid, ReqID: reqID, Frame: p, Away: away})
}

// readInbox asks for the private messages kept for s while it was away,
// if any may be: a login storm reads no empty inboxes.
func (h *Hub) readInbox(out *outputs, s *session) {
	mark, ok := h.kept[s.name]
	// In a cluster another node may have kept some: every login reads.
	if (ok || h.clustered()) && h.cfg.Durable && !s.guest {
		out.store(&StoreOp{Kind: StoreInbox, Session: s.id, Name: s.name, kept: mark})
	}
}

// RestoreKept names the accounts that have private messages waiting,
// before any session connects.
func (h *Hub) RestoreKept(names []string) {
	for _, name := range names {
		h.keptSerial++
		h.kept[name] = h.keptSerial
	}
}

// inboxRead delivers the private messages kept for a user who logged in,
// in the order they were sent, and then has the store forget them.
func (h *Hub) inboxRead(out *outputs, op *StoreOp, now time.Time) {
	s := h.asker(op)
	if s == nil || s.name != op.Name {
		return // gone: the next login reads them again
	}
	if op.Failure != StoreOK {
		out.send(s.id, h.notice(now, wire.NoticeInfo, "", "",
			"the private messages kept for you while you were away cannot be read right now; they are delivered at your next login"))
		return
	}
	if h.kept[op.Name] == op.kept {
		delete(h.kept, op.Name) // none kept since the read was asked for
	}
	if len(op.Msgs) == 0 {
		return
	}
	out.send(s.id, h.notice(now, wire.NoticeInfo, "", "",
		wire.Plural(len(op.Msgs), "private message", "private messages")+" while you were away"))
	for _, p := range op.Msgs {
		out.send(s.id, p)
	}
	out.store(&StoreOp{Kind: StoreClearInbox, Session: s.id, Name: s.name, Through: op.Through})
}
