package hub

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"chat/internal/wire"
)

// FuzzHub drives the hub with a fuzzed sequence of steps from a few
// sessions and checks its invariants after every step, with the checker of
// the seeded simulation (sim_test.go: consistent room membership, every request
// answered once with its id and in order, no message back to its sender,
// every departure announced to those who stay) plus the uniqueness of
// logged-in names. The hub must never panic.
//
// The input is read two bytes a step: the first picks a session slot (high
// bits) and an action (low bits), the second an argument (a name, a room, a
// verdict, a text). Names and rooms come from small sets so that collisions
// (takeovers, taken names, a full room list) happen often.
func FuzzHub(f *testing.F) {
	for _, seed := range hubFuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		runHubFuzz(t, in)
	})
}

// Actions of FuzzHub, the low nibble of a step's first byte.
const (
	fzConnect = iota
	fzDisconnect
	fzHello
	fzLogin
	fzVerdict
	fzClaim
	fzLogout
	fzCreate
	fzEnter
	fzLeave
	fzSay
	fzTell
	fzWho
	fzRoomsHistory
	fzOdd      // ping, id 0, unknown and server types, pong, broadcast, fetch, refuse
	fzBadFrame // a frame whose body did not parse; with an odd argument, Tick
)

const fzSlots = 5

var (
	// alice and bob are registered: claimed, they are refused.
	fzNames = []string{"alice", "bob", "carol", "dave", "eve", "*", "", "a b", "averyveryverylongname1"}
	fzRooms = []string{"lounge", "den", "attic", "cellar", "", "x\x00y"}
	fzTexts = []string{"hi", "", "ça va", "\xff\xfe", "\x1b[2J", "\u202e"}
)

// hubFuzzSeeds are a few meaningful sequences: a conversation, a takeover,
// out-of-order password results, disconnects mid-check.
func hubFuzzSeeds() [][]byte {
	step := func(slot, action int, arg byte) []byte { return []byte{byte(slot<<4 | action), arg} }
	cat := func(steps ...[]byte) []byte {
		var b []byte
		for _, s := range steps {
			b = append(b, s...)
		}
		return b
	}
	hello := func(slot int) []byte { return cat(step(slot, fzConnect, 0), step(slot, fzHello, 0)) }
	// A pair of guests in a room talking; one leaves, one is lost.
	conversation := cat(hello(0), hello(1), hello(2),
		step(0, fzClaim, 2), step(1, fzClaim, 3), step(2, fzClaim, 4),
		step(0, fzCreate, 0), step(0, fzEnter, 0), step(1, fzEnter, 0), step(2, fzEnter, 0),
		step(0, fzSay, 0), step(1, fzSay, 2), step(2, fzTell, 0),
		step(1, fzLeave, 0), step(0, fzSay, 0), step(2, fzDisconnect, 0), step(0, fzWho, 0),
		step(0, fzLogout, 0), step(1, fzRoomsHistory, 0))
	// The same account logged in twice: the second takes the first's room.
	takeover := cat(hello(0), hello(1), hello(2),
		step(0, fzLogin, 0), step(0, fzVerdict, 1), step(0, fzCreate, 1), step(0, fzEnter, 1),
		step(2, fzClaim, 1), step(2, fzClaim, 2), step(2, fzEnter, 1),
		step(1, fzLogin, 0), step(1, fzVerdict, 1), step(1, fzSay, 0), step(0, fzSay, 0),
		step(0, fzDisconnect, 1), step(2, fzSay, 0))
	// Wrong passwords until the limit, a check still out when its session
	// goes, a check that cannot run.
	failures := cat(hello(0), hello(1),
		step(0, fzLogin, 1), step(0, fzVerdict, 0), step(0, fzLogin, 1), step(0, fzVerdict, 0),
		step(0, fzLogin, 1), step(0, fzVerdict, 0), step(0, fzLogin, 1), step(0, fzVerdict, 0),
		step(0, fzLogin, 1), step(0, fzVerdict, 0), step(0, fzSay, 0),
		step(1, fzLogin, 2), step(1, fzDisconnect, 0), step(1, fzVerdict, 1),
		step(1, fzConnect, 0), step(1, fzHello, 0), step(1, fzLogin, 2), step(1, fzVerdict, 2))
	// Garbage: requests before Hello, a bad version, odd types, bad names.
	garbage := cat(step(0, fzConnect, 0), step(0, fzWho, 0), step(0, fzOdd, 3), step(0, fzBadFrame, 0),
		step(0, fzHello, 0), step(0, fzHello, 0), step(0, fzClaim, 5), step(0, fzClaim, 6),
		step(0, fzClaim, 7), step(0, fzClaim, 8), step(0, fzCreate, 5), step(0, fzOdd, 0), step(0, fzOdd, 1), step(0, fzOdd, 2),
		step(1, fzConnect, 0), step(1, fzHello, 1))
	// Rooms run out (MaxRooms is 3).
	rooms := cat(hello(0), step(0, fzClaim, 2), step(0, fzCreate, 0), step(0, fzCreate, 1),
		step(0, fzCreate, 2), step(0, fzCreate, 3), step(0, fzEnter, 3), step(0, fzEnter, 2))
	// A file asked for, the owner never answers, time runs out.
	transfer := cat(hello(0), hello(1), step(0, fzClaim, 2), step(1, fzClaim, 3),
		step(0, fzOdd, 6+8*3), step(1, fzOdd, 7), step(0, fzBadFrame, 255), step(0, fzOdd, 6),
		step(1, fzDisconnect, 0), step(0, fzBadFrame, 255))
	// An odd length runs the hub without guests: only logins.
	closed := append(cat(hello(0), step(0, fzClaim, 2), step(0, fzLogin, 0), step(0, fzVerdict, 1), step(0, fzWho, 0)), 0)
	return [][]byte{conversation, takeover, failures, garbage, rooms, transfer, closed, nil}
}

type hubFuzz struct {
	*sim
	slots [fzSlots]SessionID // 0: empty
}

func runHubFuzz(t *testing.T, in []byte) {
	guests := len(in)%2 == 0 // the last odd byte is not a step
	fz := &hubFuzz{sim: &sim{
		t:   t,
		rng: rand.New(rand.NewPCG(1, 2)), // unused by the steps below
		h: New(Config{MaxRooms: 3, Guests: guests, MaxLoginFailures: 3, HistoryLen: 3,
			IsRegistered: func(n string) bool { return n == "alice" || n == "bob" }}),
		now:      t0,
		sessions: map[SessionID]*simSession{},
		stats:    map[string]int{},
	}}
	for len(in) >= 2 {
		fz.now = fz.now.Add(time.Duration(in[1]) * time.Millisecond)
		fz.step(int(in[0]>>4)%fzSlots, int(in[0]&0x0f), in[1])
		fz.checkNames()
		in = in[2:]
	}
	// Every password check completes (accepted), then every request must
	// have been answered.
	for len(fz.checks) > 0 {
		v := fz.checks[0]
		fz.checks = fz.checks[1:]
		fz.observe(v.Session, 0, func() []Output { return fz.h.LoginResult(v.Session, v.ReqID, v.Name, VerdictOK, fz.now) })
		fz.sessions[v.Session].verifying = nil
		fz.checkNames()
	}
	for _, ss := range fz.sessions {
		if !ss.closed && len(ss.pending) > 0 {
			t.Fatalf("session %d: requests %v never answered", ss.id, ss.pending)
		}
	}
	outs := fz.h.Shutdown(fz.now)
	for _, sid := range fz.slots {
		if ss := fz.sessions[sid]; sid != 0 && !ss.closed && !closes(outs, sid) {
			t.Fatalf("session %d not closed by shutdown", sid)
		}
	}
}

func (fz *hubFuzz) step(slot, action int, arg byte) {
	sid := fz.slots[slot]
	if sid == 0 {
		// A connection must exist before it does anything.
		fz.next++
		sid = fz.next
		fz.slots[slot] = sid
		fz.sessions[sid] = &simSession{id: sid}
		fz.h.Connect(sid, fmt.Sprintf("10.0.0.%d:4000", slot), fz.now)
		if action == fzConnect {
			return
		}
	}
	ss := fz.sessions[sid]
	if action == fzConnect || action == fzDisconnect || ss.closed {
		// A new connection in the slot: the old one ends first, as lost or
		// closed (after the hub's Close it is always ReasonClosed).
		reason := ReasonLost
		if ss.closed || arg&1 == 1 {
			reason = ReasonClosed
		}
		fz.observe(sid, 0, func() []Output { return fz.h.Disconnect(sid, reason, fz.now) })
		ss.closed, ss.pending = true, nil
		fz.slots[slot] = 0
		return
	}
	if action == fzVerdict {
		// The password check of this slot completes (if one is out).
		for i, v := range fz.checks {
			if v.Session != sid {
				continue
			}
			fz.checks = append(fz.checks[:i], fz.checks[i+1:]...)
			verdict := Verdict(arg % 3)
			fz.observe(sid, 0, func() []Output { return fz.h.LoginResult(sid, v.ReqID, v.Name, verdict, fz.now) })
			ss.verifying = nil
			return
		}
		return
	}
	if ss.verifying != nil {
		return // the loop holds a verifying session's frames back
	}
	if action == fzBadFrame && arg&1 == 1 {
		// Time passes: transfers past their deadline end.
		fz.now = fz.now.Add(time.Duration(arg) * time.Second)
		fz.observe(sid, 0, func() []Output { return fz.h.Tick(fz.now) })
		return
	}
	if action == fzBadFrame {
		outs := fz.h.BadFrame(sid, fz.now)
		if len(outs) != 1 || outs[0].To != sid || outs[0].Frame.ID != 0 || outs[0].Frame.Code != wire.ErrBadRequest {
			fz.t.Fatalf("bad frame answered with %+v", outs)
		}
		return
	}
	f := fz.request(ss, action, arg)
	answerable := f.Type.IsRequest() && f.ID != 0
	if answerable {
		ss.pending = append(ss.pending, f.ID)
	}
	fz.observe(sid, f.Type, func() []Output { return fz.h.Handle(sid, f, fz.now) })
	if answerable && ss.verifying == nil && !ss.closed && len(ss.pending) > 0 {
		fz.t.Fatalf("session %d: %v request %d not answered at once (pending %v)", sid, f.Type, f.ID, ss.pending)
	}
}

func (fz *hubFuzz) request(ss *simSession, action int, arg byte) *wire.Frame {
	ss.nextID++
	f := &wire.Frame{ID: ss.nextID}
	pick := func(xs []string) string { return xs[int(arg)%len(xs)] }
	switch action {
	case fzHello:
		f.Type, f.Version = wire.TypeHello, wire.Version
		if arg%16 == 1 {
			f.Version = 2
		}
	case fzLogin:
		f.Type, f.Name, f.Secret = wire.TypeLogin, pick(fzNames), "secret"
		if arg&0x80 != 0 {
			f.Secret = ""
		}
	case fzClaim:
		f.Type, f.Name = wire.TypeClaim, pick(fzNames)
	case fzLogout:
		f.Type = wire.TypeLogout
	case fzCreate:
		f.Type, f.Room = wire.TypeCreate, pick(fzRooms)
	case fzEnter:
		f.Type, f.Room = wire.TypeEnter, pick(fzRooms)
	case fzLeave:
		f.Type = wire.TypeLeave
	case fzSay:
		f.Type, f.Text = wire.TypeSay, pick(fzTexts)
	case fzTell:
		f.Type, f.To, f.Text = wire.TypeTell, pick(fzNames), pick(fzTexts[:4])
	case fzWho:
		f.Type = wire.TypeWho
	case fzRoomsHistory:
		f.Type = wire.TypeRooms
		if arg&1 == 1 {
			f.Type, f.Room, f.Seq = wire.TypeHistory, pick(fzRooms), uint64(arg>>1)
		}
	default: // fzOdd
		switch arg % 8 {
		case 0:
			f.Type = wire.TypePing
		case 1:
			f.Type = wire.TypePing
			f.ID = 0
		case 2:
			f.Type = wire.TypePong
		case 3:
			f.Type = wire.Type(42 + arg%20) // unknown request types
		case 4:
			f.Type = wire.Type(64 + arg%8) // server frame types from a client
		case 5:
			f.Type, f.Text = wire.TypeBroadcast, "to all"
		case 6:
			f.Type, f.To, f.Name = wire.TypeFetch, fzNames[int(arg>>3)%len(fzNames)], "notes.txt"
		case 7:
			f.Type, f.Token, f.Code, f.Text = wire.TypeRefuse, "no-such-token", wire.ErrNoSuchFile, "no"
		}
	}
	if !f.Type.IsRequest() {
		f.ID = 0
	}
	return f
}

// checkNames: a name belongs to at most one live session, and the hub's
// name index holds exactly the logged-in sessions.
func (fz *hubFuzz) checkNames() {
	t := fz.t
	t.Helper()
	owner := map[string]SessionID{}
	for id, s := range fz.h.sessions {
		if s.name == "" || s.closing {
			continue
		}
		if prev, ok := owner[s.name]; ok {
			t.Fatalf("name %s held by sessions %d and %d", s.name, prev, id)
		}
		owner[s.name] = id
		if fz.h.names[s.name] != s {
			t.Fatalf("session %d logged in as %s is not in the name index", id, s.name)
		}
	}
	if len(owner) != len(fz.h.names) {
		t.Fatalf("name index %d entries, %d logged-in sessions", len(fz.h.names), len(owner))
	}
}
