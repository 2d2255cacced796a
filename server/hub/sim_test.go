package hub

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"chat/internal/wire"
)

// TestHubSimulation drives the hub with many sessions sending random
// requests (password checks completing out of order, as on the worker pool)
// and checks the invariants after every step:
//   - a user is in at most one room, and room membership is consistent;
//   - every request gets exactly one reply, with its id, in order;
//   - no room message goes back to its sender;
//   - every leave, logout and lost contact is announced to the members that
//     remain, and every entry to the members already there.
func TestHubSimulation(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { simulate(t, seed, 10000) })
	}
}

type simSession struct {
	id        SessionID
	nextID    uint32
	pending   []uint32 // request ids awaiting a reply, in order
	verifying *VerifyRequest
	closed    bool // the hub said Close
	hello     bool
}

type sim struct {
	t        *testing.T
	rng      *rand.Rand
	h        *Hub
	now      time.Time
	sessions map[SessionID]*simSession
	live     []SessionID
	next     SessionID
	checks   []*VerifyRequest // out on the "workers"
	stats    map[string]int
}

var (
	simNames = []string{"alice", "bob", "carol", "dave", "eve", "frank"}
	simRooms = []string{"lounge", "den", "attic", "cellar"}
)

func simulate(t *testing.T, seed uint64, steps int) {
	s := &sim{
		t:        t,
		rng:      rand.New(rand.NewPCG(seed, seed*7919)),
		h:        New(Config{MaxRooms: 3, Guests: true, IsRegistered: func(n string) bool { return n != "guest" }, HistoryLen: 5}),
		now:      t0,
		sessions: map[SessionID]*simSession{},
		stats:    map[string]int{},
	}
	for i := 0; i < steps; i++ {
		s.now = s.now.Add(time.Duration(s.rng.IntN(1000)) * time.Millisecond)
		s.step()
	}
	// Drain: every check completes; then shut down.
	for len(s.checks) > 0 {
		s.finishCheck(0)
	}
	for _, ss := range s.sessions {
		if !ss.closed && len(ss.pending) > 0 {
			t.Fatalf("session %d: requests %v never answered", ss.id, ss.pending)
		}
	}
	t.Logf("frames by type/code: %v", s.stats)
	outs := s.h.Shutdown(s.now)
	for _, sid := range s.live {
		if ss := s.sessions[sid]; !ss.closed && !closes(outs, sid) {
			t.Fatalf("session %d not closed by shutdown", sid)
		}
	}
}

func (s *sim) step() {
	r := s.rng.IntN(100)
	switch {
	case r < 5 || len(s.live) < 3:
		s.next++
		s.sessions[s.next] = &simSession{id: s.next}
		s.live = append(s.live, s.next)
		s.h.Connect(s.next, "sim", s.now)
	case r < 8:
		i := s.rng.IntN(len(s.live))
		sid := s.live[i]
		s.live = append(s.live[:i], s.live[i+1:]...)
		reason := ReasonLost
		if s.rng.IntN(2) == 0 {
			reason = ReasonClosed
		}
		s.observe(sid, 0, func() []Output { return s.h.Disconnect(sid, reason, s.now) })
		s.sessions[sid].closed = true
		s.sessions[sid].pending = nil
	case r < 20 && len(s.checks) > 0:
		s.finishCheck(s.rng.IntN(len(s.checks)))
	default:
		sid := s.live[s.rng.IntN(len(s.live))]
		ss := s.sessions[sid]
		if ss.closed || ss.verifying != nil {
			return // the loop holds a verifying session's frames back
		}
		f := s.randomRequest(ss)
		if f.Type.IsRequest() && f.ID != 0 {
			ss.pending = append(ss.pending, f.ID)
		}
		s.observe(sid, f.Type, func() []Output { return s.h.Handle(sid, f, s.now) })
		if f.Type.IsRequest() && f.ID != 0 && ss.verifying == nil && !ss.closed && len(ss.pending) > 0 {
			s.t.Fatalf("session %d: %v request %d not answered at once", sid, f.Type, f.ID)
		}
	}
}

func (s *sim) finishCheck(i int) {
	v := s.checks[i]
	s.checks = append(s.checks[:i], s.checks[i+1:]...)
	ss := s.sessions[v.Session]
	verdict := Verdict(s.rng.IntN(3))
	if v.Secret == "pw-"+v.Name && s.rng.IntN(4) != 0 {
		verdict = VerdictOK
	}
	s.observe(v.Session, 0, func() []Output { return s.h.LoginResult(v.Session, v.ReqID, v.Name, verdict, s.now) })
	ss.verifying = nil
}

func (s *sim) randomRequest(ss *simSession) *wire.Frame {
	ss.nextID++
	f := &wire.Frame{ID: ss.nextID}
	pick := func(xs []string) string { return xs[s.rng.IntN(len(xs))] }
	choice := s.rng.IntN(20)
	switch {
	case !ss.hello && s.rng.IntN(10) < 8:
		choice = 0
		ss.hello = true
	case s.h.Name(ss.id) == "" && s.rng.IntN(2) == 0:
		choice = 1
	}
	switch choice {
	case 0:
		f.Type, f.Version = wire.TypeHello, wire.Version
		if s.rng.IntN(20) == 0 {
			f.Version = 2
		}
	case 1, 2, 3:
		f.Type, f.Name, f.Secret = wire.TypeLogin, pick(simNames), "pw-"+pick(simNames)
		if s.rng.IntN(3) == 0 {
			f.Secret = "pw-" + f.Name
		}
	case 4:
		f.Type, f.Name = wire.TypeClaim, pick(append(simNames, "guest"))
	case 5:
		f.Type = wire.TypeLogout
	case 6:
		f.Type, f.Room = wire.TypeCreate, pick(simRooms)
	case 7, 8, 9:
		f.Type, f.Room = wire.TypeEnter, pick(simRooms)
	case 10:
		f.Type = wire.TypeLeave
	case 11:
		f.Type = wire.TypeWho
	case 12, 13, 14:
		f.Type, f.Text = wire.TypeSay, pick([]string{"hi", "", "ça va", "\xff"})
	case 15:
		f.Type, f.To, f.Text = wire.TypeTell, pick(simNames), "psst"
	case 16:
		f.Type = wire.TypeRooms
	case 17:
		f.Type, f.Room, f.Seq = wire.TypeHistory, pick(simRooms), uint64(s.rng.IntN(10))
	case 18:
		f.Type = wire.TypePing
		if s.rng.IntN(3) == 0 {
			f.ID = 0
		}
	default:
		f.Type = wire.Type(s.rng.IntN(256))
		if f.Type == wire.TypeLogin || f.Type == wire.TypeHello {
			f.Type = wire.TypePong
		}
	}
	if !f.Type.IsRequest() {
		f.ID = 0
	}
	return f
}

// membership returns room name -> session -> logged-in name.
func (s *sim) membership() map[string]map[SessionID]string {
	m := map[string]map[SessionID]string{}
	for name, r := range s.h.rooms {
		m[name] = map[SessionID]string{}
		for _, mem := range r.members {
			m[name][mem.id] = mem.name
		}
	}
	return m
}

// observe runs one hub call for session sid and checks its outputs.
func (s *sim) observe(sid SessionID, typ wire.Type, call func() []Output) {
	t := s.t
	t.Helper()
	before := s.membership()
	outs := call()
	after := s.membership()
	s.checkState()

	ss := s.sessions[sid]
	senderName := ""
	if typ == wire.TypeSay {
		senderName = s.h.Name(sid)
	}
	type key struct {
		to         SessionID
		kind       wire.Code
		name, room string
	}
	notices := map[key]int{}
	for _, o := range outs {
		if o.Verify != nil {
			if o.To != sid || ss.verifying != nil {
				t.Fatalf("unexpected verify %+v", o)
			}
			ss.verifying = o.Verify
			s.checks = append(s.checks, o.Verify)
			continue
		}
		if o.Close {
			s.sessions[o.To].closed = true
			s.sessions[o.To].pending = nil
		}
		f := o.Frame
		if f == nil {
			continue
		}
		dst := s.sessions[o.To]
		if dst == nil {
			t.Fatalf("output to unknown session %d", o.To)
		}
		s.stats[f.Type.String()+"/"+fmt.Sprint(f.Code)]++
		if f.Time != s.now.UnixMilli() && f.Type != wire.TypeMessage {
			t.Fatalf("frame %+v: time %d, want now", f, f.Time)
		}
		switch f.Type {
		case wire.TypeReply:
			if f.From != "*" {
				t.Fatalf("reply not from *: %+v", f)
			}
			if f.ID == 0 {
				continue // an id-0 request's error
			}
			if len(dst.pending) == 0 || dst.pending[0] != f.ID {
				t.Fatalf("session %d: reply %d, pending %v: %+v", o.To, f.ID, dst.pending, f)
			}
			dst.pending = dst.pending[1:]
		case wire.TypeMessage:
			if typ == wire.TypeSay && (o.To == sid || f.From != senderName) {
				t.Fatalf("message %+v to %d (sender %d %s)", f, o.To, sid, senderName)
			}
		case wire.TypeNotice:
			if f.From != "*" {
				t.Fatalf("notice not from *: %+v", f)
			}
			notices[key{o.To, f.Code, f.Name, f.Room}]++
		}
	}
	// Every departure is announced to the members that stayed, every
	// arrival to the members already there, except a takeover, which
	// keeps the name in the room.
	for room, was := range before {
		now := after[room]
		names := map[string]bool{}
		for _, n := range now {
			names[n] = true
		}
		for left, name := range was {
			if _, still := now[left]; still || names[name] {
				continue
			}
			for stay := range now {
				if _, old := was[stay]; !old {
					continue
				}
				if notices[key{stay, wire.NoticeLeft, name, room}]+notices[key{stay, wire.NoticeLost, name, room}]+notices[key{stay, wire.NoticeQuit, name, room}] != 1 {
					t.Fatalf("%s (session %d) left %s unannounced to session %d: %+v", name, left, room, stay, outs)
				}
			}
		}
		for came, name := range now {
			if _, old := was[came]; old {
				continue
			}
			takeover := false
			for _, n := range was {
				takeover = takeover || n == name
			}
			for stay := range was {
				if _, ok := now[stay]; !ok || takeover {
					continue
				}
				if notices[key{stay, wire.NoticeEntered, name, room}] != 1 {
					t.Fatalf("%s entered %s unannounced to %d", name, room, stay)
				}
			}
		}
	}
}

// checkState checks the hub's own structures.
func (s *sim) checkState() {
	t := s.t
	h := s.h
	// The simulation moves sessions with Enter, so each is in one room.
	inRoom := map[SessionID]string{}
	for name, r := range h.rooms {
		if fold(r.name) != name {
			t.Fatalf("room %s kept under %s", r.name, name)
		}
		for _, m := range r.members {
			if prev, ok := inRoom[m.id]; ok {
				t.Fatalf("session %d in rooms %s and %s", m.id, prev, name)
			}
			inRoom[m.id] = name
			if m.in(r) < 0 || m.name == "" || m.closing || h.sessions[m.id] != m {
				t.Fatalf("bad member %+v of %s", m, name)
			}
		}
	}
	for id, ss := range h.sessions {
		for _, j := range ss.joined {
			if inRoom[id] != fold(j.room.name) {
				t.Fatalf("session %d thinks it is in %s", id, j.room.name)
			}
		}
	}
	for name, ss := range h.names {
		if fold(ss.name) != name || h.sessions[ss.id] != ss || ss.closing {
			t.Fatalf("names[%s] = %+v", name, ss)
		}
	}
	if len(h.rooms) > h.cfg.MaxRooms {
		t.Fatalf("%d rooms", len(h.rooms))
	}
}
