package hub

import (
	"fmt"
	"testing"

	"chat/internal/wire"
)

// TestHubRoomsSimulation runs the checker of sim_test.go (observe and
// checkState) over sessions that live in several rooms at once: guests
// and a few accounts who mostly Join rooms (up to MaxJoined), speak in
// one of them, Leave one or all, Enter one, kick, set modes and topics,
// invite, rename themselves, fail to become server operators until they
// are closed, log out and lose their connections.
func TestHubRoomsSimulation(t *testing.T) {
	total := map[string]int{}
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := newSim(t, seed, Config{MaxRooms: 5, MaxJoined: 3, Guests: true, HistoryLen: 5, MaxLoginFailures: 3,
				// User names keep their case: "Alice" is a guest name.
				IsRegistered: func(n string) bool { return n == "alice" || n == "bob" },
				IsOperator:   func(n string) bool { return n == "alice" }})
			s.request = s.roomsRequest
			s.run(10000)
			if s.stats["notice/"+fmt.Sprint(wire.NoticeQuit)] == 0 || s.stats["message/0"] < 100 {
				t.Fatalf("too little happened: %v", s.stats)
			}
			for k, n := range s.stats {
				total[k] += n
			}
		})
	}
	for _, what := range []wire.Code{wire.NoticeKicked, wire.NoticeRenamed, wire.NoticeMode, wire.NoticeLost, wire.ByeLimit} {
		kind := "notice/"
		if what == wire.ByeLimit {
			kind = "bye/"
		}
		if total[kind+fmt.Sprint(what)] == 0 {
			t.Errorf("no seed made a %s%d: %v", kind, what, total)
		}
	}
}

var (
	roomsSimNames = []string{"alice", "bob", "Alice", "g1", "G1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9", "g10", "g11", "g12"}
	roomsSimRooms = []string{"a", "b", "c", "d", "e", "f"}
)

// roomsRequest makes a request of a session in the rooms simulation.
func (s *sim) roomsRequest(ss *simSession) *wire.Frame {
	ss.nextID++
	f := &wire.Frame{ID: ss.nextID}
	pick := func(xs []string) string { return xs[s.rng.IntN(len(xs))] }
	room := func() string { return anyCase(s.rng, pick(roomsSimRooms)) }
	switch r := s.rng.IntN(100); {
	case !ss.hello:
		f.Type, f.Version = wire.TypeHello, wire.Version
		ss.hello = true
	case s.h.Name(ss.id) == "":
		f.Type, f.Name = wire.TypeClaim, pick(roomsSimNames)
		if s.rng.IntN(10) == 0 {
			f.Type, f.Name = wire.TypeLogin, pick([]string{"alice", "bob"})
			f.Secret = "pw-" + f.Name
		}
	case r < 30:
		f.Type, f.Room, f.Secret = wire.TypeJoin, room(), pick([]string{"", "k"})
	case r < 55:
		// Mostly to a room the session is in.
		f.Type, f.Room, f.Text = wire.TypeSay, room(), "hi"
		if joined := s.h.sessions[ss.id].joined; len(joined) > 0 && s.rng.IntN(4) != 0 {
			f.Room = anyCase(s.rng, joined[s.rng.IntN(len(joined))].room.name)
		}
		if s.rng.IntN(5) == 0 {
			f.Room = ""
		}
	case r < 62:
		f.Type, f.Room, f.Text = wire.TypeLeave, room(), pick([]string{"", "bye"})
		if s.rng.IntN(4) == 0 {
			f.Room = ""
		}
	case r < 66:
		f.Type, f.Room = wire.TypeEnter, room()
	case r < 70:
		f.Type, f.Room, f.Name, f.Text = wire.TypeKick, room(), pick(roomsSimNames), "out"
	case r < 77:
		f.Type, f.Room, f.Mode = wire.TypeMode, room(), pick(simModes)
		if s.rng.IntN(2) == 0 {
			f.Mode += " " + pick(roomsSimNames)
		}
	case r < 79:
		f.Type, f.Room, f.Code, f.Text = wire.TypeTopic, room(), wire.TopicSet, "t"
	case r < 81:
		f.Type, f.Room, f.Name = wire.TypeInvite, room(), pick(roomsSimNames)
	case r < 85:
		f.Type, f.Name = wire.TypeNick, pick(roomsSimNames)
	case r < 89:
		// bob's right password, but bob is no operator: a failure.
		f.Type, f.Name, f.Secret = wire.TypeOper, "bob", "pw-bob"
		if s.rng.IntN(4) == 0 {
			f.Name, f.Secret = "alice", "pw-alice"
		}
	case r < 91:
		f.Type, f.Text = wire.TypeLogout, pick([]string{"", "later"})
	case r < 93:
		f.Type, f.Room, f.Seq = wire.TypeHistory, room(), uint64(s.rng.IntN(10))
	case r < 96:
		f.Type, f.Name = wire.TypeWhois, pick(roomsSimNames)
	default:
		f.Type = wire.TypeWho
		if s.rng.IntN(2) == 0 {
			f.Room = room()
		}
	}
	return f
}
