package hub

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// TestHubSimulation drives the hub with many sessions sending random
// requests (password checks completing out of order, as on the worker pool)
// and checks the invariants after every step:
//   - room membership is consistent: each member of a room has it among its
//     rooms and each session is a member of each of its rooms, once, at
//     most Config.MaxJoined; the name index is keyed by the name; every
//     room's channel state is valid (checkChannel);
//   - every request gets exactly one reply, with its id, in order;
//   - a room message reaches each other member once, and nobody else;
//   - every leave and kick is announced to the members of that room that
//     remain; a logout or lost contact once to each session that shared
//     any room with the user, naming one of them; every entry to the
//     members already there.
//
// Sessions Join several rooms (names in any case), Leave one or all,
// Enter one (leaving the rest), kick, change modes and topics, rename
// themselves and ask to be server operators.
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
	// request makes a session's next request; nil: randomRequest.
	request func(*simSession) *wire.Frame
}

var (
	simNames = []string{"alice", "bob", "carol", "dave", "eve", "frank"}
	simRooms = []string{"lounge", "den", "attic", "cellar"}
)

func simulate(t *testing.T, seed uint64, steps int) {
	s := newSim(t, seed, Config{MaxRooms: 3, MaxJoined: 2, Guests: true, HistoryLen: 5, MaxLoginFailures: 4,
		IsRegistered: func(n string) bool { return n != "guest" && n != "Guest" && n != "newbie" },
		IsOperator:   func(n string) bool { return n == "alice" }})
	s.run(steps)
}

func newSim(t *testing.T, seed uint64, cfg Config) *sim {
	return &sim{
		t:        t,
		rng:      rand.New(rand.NewPCG(seed, seed*7919)),
		h:        New(cfg),
		now:      t0,
		sessions: map[SessionID]*simSession{},
		stats:    map[string]int{},
	}
}

// run makes steps random steps, completes every password check, checks
// that every request was answered and shuts the hub down.
func (s *sim) run(steps int) {
	t := s.t
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
		var f *wire.Frame
		if s.request != nil {
			f = s.request(ss)
		} else {
			f = s.randomRequest(ss)
		}
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
	choice := s.rng.IntN(28)
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
	case 20, 21:
		f.Type, f.Room, f.Secret = wire.TypeJoin, anyCase(s.rng, pick(simRooms)), pick([]string{"", "", "k"})
	case 22:
		f.Type, f.Room, f.Text = wire.TypeLeave, anyCase(s.rng, pick(simRooms)), pick([]string{"", "bye"})
	case 23:
		f.Type, f.Room, f.Text = wire.TypeSay, anyCase(s.rng, pick(simRooms)), "hi"
	case 24:
		f.Type, f.Room, f.Name, f.Text = wire.TypeKick, pick(simRooms), pick(append(simNames, "guest")), "out"
	case 25:
		f.Type, f.Room, f.Mode = wire.TypeMode, pick(simRooms), pick(simModes)
		if s.rng.IntN(2) == 0 {
			f.Mode += " " + pick(append(simNames, "guest"))
		}
	case 26:
		f.Type, f.Name = wire.TypeNick, pick([]string{"guest", "Guest", "newbie", "alice"})
		if s.rng.IntN(3) == 0 {
			f.Type, f.Room, f.Code, f.Text = wire.TypeTopic, pick(simRooms), wire.TopicSet, "t"
		}
	case 27:
		f.Type, f.Name, f.Secret = wire.TypeOper, "alice", pick([]string{"pw-alice", "wrong"})
		if s.rng.IntN(2) == 0 {
			f.Type, f.Room, f.Name = wire.TypeInvite, pick(simRooms), pick(simNames)
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

// simModes are the Mode changes the simulation makes, some with a name
// added after them.
var simModes = []string{"", "+o", "-o", "+v", "+b", "-b", "+i", "-i", "+k k", "-k", "+l 2", "-l", "+m", "-m", "+s", "-n", "b", "+z"}

// anyCase returns name with its first letter in upper case half the time:
// names of rooms compare without case.
func anyCase(rng *rand.Rand, name string) string {
	if rng.IntN(2) == 0 {
		return strings.ToUpper(name[:1]) + name[1:]
	}
	return name
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
	type about struct {
		to   SessionID
		name string
	}
	notices := map[key]int{}
	// The notices a user's going sends once per sharing session, and
	// the room each names.
	once := map[about][]string{}
	renamed := map[about]int{}
	var said *wire.Frame // the reply to a Say that was sent
	heard := map[SessionID]int{}
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
			if typ == wire.TypeSay && o.To == sid && f.Code == wire.OK {
				said = f
			}
		case wire.TypeMessage:
			if typ == wire.TypeSay && (o.To == sid || f.From != senderName) {
				t.Fatalf("message %+v to %d (sender %d %s)", f, o.To, sid, senderName)
			}
			if typ != wire.TypeHistory && f.Room != "" {
				// A room message; a Broadcast's (no Room) reaches everyone.
				heard[o.To]++
			}
		case wire.TypeNotice:
			if f.From != "*" {
				t.Fatalf("notice not from *: %+v", f)
			}
			notices[key{o.To, f.Code, f.Name, fold(f.Room)}]++
			switch f.Code {
			case wire.NoticeQuit, wire.NoticeLost:
				once[about{o.To, f.Name}] = append(once[about{o.To, f.Name}], fold(f.Room))
			case wire.NoticeRenamed:
				renamed[about{o.To, f.Name}]++
			}
		}
	}
	for a, n := range renamed {
		if n != 1 {
			t.Fatalf("session %d told %d times that %s was renamed: %+v", a.to, n, a.name, outs)
		}
	}
	// A message reaches every other member of its room once, nobody else.
	if said != nil {
		room := fold(said.Room)
		for to, n := range heard {
			if _, in := before[room][to]; !in || n != 1 || to == sid {
				t.Fatalf("message to %s: session %d heard it %d times (members %v)", room, to, n, before[room])
			}
		}
		for m := range before[room] {
			if m != sid && heard[m] != 1 {
				t.Fatalf("message to %s did not reach member %d: %+v", room, m, outs)
			}
		}
	} else if len(heard) > 0 {
		t.Fatalf("messages without an accepted Say: %+v", outs)
	}
	// Every departure is announced to the members that stayed: a leave or
	// kick in each room, a logout or lost contact once to each of them,
	// naming a room they shared. An arrival is announced to the members
	// already there, except a takeover, which keeps the name in the room.
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
				here := notices[key{stay, wire.NoticeLeft, name, room}] + notices[key{stay, wire.NoticeKicked, name, room}]
				quits := once[about{stay, name}]
				switch {
				case here == 1 && len(quits) == 0:
				case here == 0 && len(quits) == 1:
					if _, shared := before[quits[0]][left]; !shared {
						t.Fatalf("%s left; session %d told of %s, which they did not share", name, stay, quits[0])
					}
					if _, shared := before[quits[0]][stay]; !shared {
						t.Fatalf("%s left; session %d told of %s, which it was not in", name, stay, quits[0])
					}
				default:
					t.Fatalf("%s (session %d) left %s; session %d got %d notices there and %v once (call by %d, %v):%s", name, left, room, stay, here, quits, sid, typ, dump(delivered(outs)))
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
	t.Helper()
	h := s.h
	for name, r := range h.rooms {
		if fold(r.name) != name {
			t.Fatalf("room %s kept under %s", r.name, name)
		}
		seen := map[*session]bool{}
		for _, m := range r.members {
			if seen[m] {
				t.Fatalf("session %d twice in %s", m.id, name)
			}
			seen[m] = true
			if m.in(r) < 0 || m.name == "" || m.closing || h.sessions[m.id] != m {
				t.Fatalf("bad member %+v of %s", m, name)
			}
		}
		checkChannel(t, r)
	}
	for id, ss := range h.sessions {
		if len(ss.joined) > h.cfg.MaxJoined {
			t.Fatalf("session %d in %d rooms", id, len(ss.joined))
		}
		for i, j := range ss.joined {
			if h.rooms[fold(j.room.name)] != j.room || !slices.Contains(j.room.members, ss) {
				t.Fatalf("session %d thinks it is in %s", id, j.room.name)
			}
			if ss.in(j.room) != i {
				t.Fatalf("session %d has %s twice", id, j.room.name)
			}
			if j.joinSeq > j.room.seq {
				t.Fatalf("session %d joined %s at %d, past its seq %d", id, j.room.name, j.joinSeq, j.room.seq)
			}
		}
	}
	for name, ss := range h.names {
		if ss.name != name || h.sessions[ss.id] != ss || ss.closing {
			t.Fatalf("names[%s] = %+v", name, ss)
		}
	}
	if len(h.rooms) > h.cfg.MaxRooms {
		t.Fatalf("%d rooms", len(h.rooms))
	}
}
