package hub

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"chat/internal/wire"
)

// TestHubDeliverySimulation drives the hub with thousands of guest sessions
// doing random commands, with a seeded random source and a fake clock, and
// checks delivery, which the simulation of sim_test.go does not: every
// room message reaches every member present when it was said (a model of the
// membership, kept from the replies alone, says who), exactly once, and each
// member sees the room's sequence numbers without a gap or a repeat while it
// stays. Besides: every request answered at once with its id, nothing back
// to the sender, a departure announced to every remaining member exactly
// once, names unique.
//
// A failure names its seed; CHAT_SIM_SEED=N go test -run
// TestHubDeliverySimulation ./server/ replays that seed alone.
func TestHubDeliverySimulation(t *testing.T) {
	seeds := []uint64{1, 2}
	if env := os.Getenv("CHAT_SIM_SEED"); env != "" {
		seed, err := strconv.ParseUint(env, 10, 64)
		if err != nil {
			t.Fatalf("CHAT_SIM_SEED=%q: %v", env, err)
		}
		seeds = []uint64{seed}
	}
	sessions, steps := 3000, 20000
	if testing.Short() {
		sessions, steps = 1000, 10000
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			d := newDeliverySim(t, seed, sessions)
			d.run(steps)
		})
	}
}

type dSession struct {
	id      SessionID
	name    string // claimed name, "" before
	room    string // the model's idea of its room, from the replies
	lastSeq uint64 // last Seq of room seen (entry reply, own say, message)
	nextID  uint32
	live    bool
}

type deliverySim struct {
	t      *testing.T
	seed   uint64
	rng    *rand.Rand
	h      *Hub
	now    time.Time
	ss     map[SessionID]*dSession
	live   []SessionID
	next   SessionID
	names  int
	rooms  []string
	inRoom map[string]map[SessionID]bool // the model's members of each room
	byName map[string]SessionID          // the model's logged-in names
	said   int                           // room messages accepted
	got    int                           // deliveries
}

func newDeliverySim(t *testing.T, seed uint64, sessions int) *deliverySim {
	d := &deliverySim{
		t: t, seed: seed,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		h:      New(Config{Guests: true, HistoryLen: 16}),
		now:    t0,
		ss:     map[SessionID]*dSession{},
		inRoom: map[string]map[SessionID]bool{},
		byName: map[string]SessionID{},
	}
	for i := range sessions / 10 {
		d.rooms = append(d.rooms, fmt.Sprintf("room%d", i))
	}
	for range sessions {
		d.connect()
	}
	// Everyone claims a name; most enter a room.
	for _, sid := range slices.Clone(d.live) {
		d.claim(d.ss[sid])
		if d.rng.IntN(10) < 8 {
			d.enter(d.ss[sid])
		}
	}
	return d
}

func (d *deliverySim) fatalf(format string, args ...any) {
	d.t.Helper()
	d.t.Fatalf("seed %d (replay with CHAT_SIM_SEED=%d): %s", d.seed, d.seed, fmt.Sprintf(format, args...))
}

func (d *deliverySim) run(steps int) {
	for i := range steps {
		if i%2000 == 0 {
			d.checkModel()
		}
		d.now = d.now.Add(time.Duration(d.rng.IntN(50)) * time.Millisecond)
		sid := d.live[d.rng.IntN(len(d.live))]
		s := d.ss[sid]
		switch r := d.rng.IntN(100); {
		case r < 60:
			d.say(s)
		case r < 72:
			d.enter(s)
		case r < 76:
			d.leave(s)
		case r < 80:
			d.tell(s)
		case r < 83:
			d.logout(s)
			d.claim(s)
		case r < 86:
			d.disconnect(s)
			ns := d.connect()
			d.claim(ns)
			d.enter(ns)
		default:
			if s.name == "" {
				d.claim(s)
			} else {
				d.enter(s)
			}
		}
		if len(d.live) == 0 {
			d.fatalf("no live sessions")
		}
	}
	d.checkModel()
	d.t.Logf("seed %d: %d sessions, %d room messages, %d deliveries", d.seed, len(d.live), d.said, d.got)
	if d.said == 0 || d.got == 0 {
		d.fatalf("nothing was said or delivered")
	}
}

func (d *deliverySim) connect() *dSession {
	d.next++
	s := &dSession{id: d.next, live: true}
	d.ss[s.id] = s
	d.live = append(d.live, s.id)
	d.h.Connect(s.id, "sim", d.now)
	out := d.h.Handle(s.id, &wire.Frame{Type: wire.TypeHello, ID: d.nextID(s), Version: wire.Version}, d.now)
	d.expectReply(s, out, wire.OK)
	return s
}

func (d *deliverySim) nextID(s *dSession) uint32 {
	s.nextID++
	return s.nextID
}

// members returns the model's members of room.
func (d *deliverySim) members(room string) []SessionID {
	var ids []SessionID
	for sid := range d.inRoom[room] {
		ids = append(ids, sid)
	}
	return ids
}

// setRoom moves s to room ("": none) in the model.
func (d *deliverySim) setRoom(s *dSession, room string) {
	if s.room != "" {
		delete(d.inRoom[s.room], s.id)
	}
	s.room = room
	if room != "" {
		if d.inRoom[room] == nil {
			d.inRoom[room] = map[SessionID]bool{}
		}
		d.inRoom[room][s.id] = true
	}
}

// call sends f from s and checks the generic rules of the outputs: one
// Reply to s with f's id, coming last, frames stamped now, nothing to a
// session that is gone. It returns the reply and the other outputs.
func (d *deliverySim) call(s *dSession, f *wire.Frame) (*wire.Frame, []Output) {
	d.t.Helper()
	f.ID = d.nextID(s)
	outs := d.h.Handle(s.id, f, d.now)
	var reply *wire.Frame
	var rest []Output
	for _, o := range outs {
		if o.Verify != nil || o.Close {
			d.fatalf("%v from %d: unexpected output %+v", f.Type, s.id, o)
		}
		if dst := d.ss[o.To]; dst == nil || !dst.live {
			d.fatalf("%v from %d: output to session %d, which is gone", f.Type, s.id, o.To)
		}
		if o.Frame.Time != d.now.UnixMilli() {
			d.fatalf("%v from %d: frame %+v not stamped now", f.Type, s.id, o.Frame)
		}
		if o.To == s.id && o.Frame.Type == wire.TypeReply {
			if reply != nil || o.Frame.ID != f.ID {
				d.fatalf("%v %d from %d: second or misnumbered reply %+v", f.Type, f.ID, s.id, o.Frame)
			}
			reply = o.Frame
			continue
		}
		rest = append(rest, o)
	}
	if reply == nil {
		d.fatalf("%v %d from %d: no reply in %+v", f.Type, f.ID, s.id, outs)
	}
	return reply, rest
}

func (d *deliverySim) expectReply(s *dSession, outs []Output, code wire.Code) {
	d.t.Helper()
	if len(outs) != 1 || outs[0].To != s.id || outs[0].Frame.Type != wire.TypeReply || outs[0].Frame.Code != code {
		d.fatalf("session %d: want one reply %d, got %+v", s.id, code, outs)
	}
}

func (d *deliverySim) claim(s *dSession) {
	if s.name != "" {
		return
	}
	d.names++
	name := fmt.Sprintf("u%d", d.names)
	if d.names > 3 && d.rng.IntN(50) == 0 {
		// A name in use: refused, nothing else happens.
		name = fmt.Sprintf("u%d", d.rng.IntN(d.names-1)+1)
	}
	_, taken := d.byName[name]
	r, rest := d.call(s, &wire.Frame{Type: wire.TypeClaim, Name: name})
	switch {
	case taken && r.Code != wire.ErrNameTaken, !taken && r.Code != wire.OK, len(rest) > 0:
		d.fatalf("claim %s (taken %v) by %d: %+v, %+v", name, taken, s.id, r, rest)
	}
	if !taken {
		s.name = name
		d.byName[name] = s.id
	}
}

// noticesTo checks that outs are exactly one notice of kind about s in
// room to each of want, and returns nothing else.
func (d *deliverySim) noticesTo(outs []Output, want []SessionID, kind wire.Code, name, room string) {
	d.t.Helper()
	got := map[SessionID]int{}
	for _, o := range outs {
		f := o.Frame
		if f.Type != wire.TypeNotice || f.Code != kind || f.Name != name || f.Room != room || f.From != wire.ServerName {
			d.fatalf("unexpected %+v to %d (want notice %d about %s in %s)", f, o.To, kind, name, room)
		}
		got[o.To]++
	}
	for _, sid := range want {
		if got[sid] != 1 {
			d.fatalf("notice %d about %s in %s reached %d %d times", kind, name, room, sid, got[sid])
		}
		delete(got, sid)
	}
	if len(got) > 0 {
		d.fatalf("notice %d about %s in %s reached non-members %v", kind, name, room, got)
	}
}

func without(ids []SessionID, x SessionID) []SessionID {
	return slices.DeleteFunc(slices.Clone(ids), func(id SessionID) bool { return id == x })
}

func (d *deliverySim) enter(s *dSession) {
	if s.name == "" {
		return
	}
	room := d.rooms[d.rng.IntN(len(d.rooms))]
	if d.h.rooms[room] == nil {
		r, rest := d.call(s, &wire.Frame{Type: wire.TypeCreate, Room: room})
		if r.Code != wire.OK || len(rest) > 0 {
			d.fatalf("create %s: %+v %+v", room, r, rest)
		}
	}
	old := s.room
	oldMembers := without(d.members(old), s.id)
	newMembers := without(d.members(room), s.id)
	r, rest := d.call(s, &wire.Frame{Type: wire.TypeEnter, Room: room})
	if r.Code != wire.OK || r.Room != room {
		d.fatalf("enter %s by %d: %+v", room, s.id, r)
	}
	if old == room {
		if len(rest) > 0 {
			d.fatalf("enter of the same room %s by %d: %+v", room, s.id, rest)
		}
		return
	}
	var left, entered []Output
	for _, o := range rest {
		if o.Frame.Code == wire.NoticeLeft {
			left = append(left, o)
		} else {
			entered = append(entered, o)
		}
	}
	if old != "" {
		d.noticesTo(left, oldMembers, wire.NoticeLeft, s.name, old)
	} else if len(left) > 0 {
		d.fatalf("left notices for %d who was in no room: %+v", s.id, left)
	}
	d.noticesTo(entered, newMembers, wire.NoticeEntered, s.name, room)
	d.setRoom(s, room)
	s.lastSeq = r.Seq
}

func (d *deliverySim) leave(s *dSession) {
	if s.name == "" {
		return
	}
	old := s.room
	r, rest := d.call(s, &wire.Frame{Type: wire.TypeLeave})
	if old == "" {
		if r.Code != wire.ErrNotInRoom || len(rest) > 0 {
			d.fatalf("leave outside a room by %d: %+v %+v", s.id, r, rest)
		}
		return
	}
	if r.Code != wire.OK {
		d.fatalf("leave by %d: %+v", s.id, r)
	}
	d.noticesTo(rest, without(d.members(old), s.id), wire.NoticeLeft, s.name, old)
	d.setRoom(s, "")
}

func (d *deliverySim) logout(s *dSession) {
	if s.name == "" {
		return
	}
	old := s.room
	r, rest := d.call(s, &wire.Frame{Type: wire.TypeLogout})
	if r.Code != wire.OK {
		d.fatalf("logout by %d: %+v", s.id, r)
	}
	if old != "" {
		d.noticesTo(rest, without(d.members(old), s.id), wire.NoticeQuit, s.name, old)
	} else if len(rest) > 0 {
		d.fatalf("logout outside a room announced: %+v", rest)
	}
	delete(d.byName, s.name)
	s.name = ""
	d.setRoom(s, "")
}

func (d *deliverySim) disconnect(s *dSession) {
	old := s.room
	reason, kind := ReasonLost, wire.NoticeLost
	if d.rng.IntN(2) == 0 {
		reason, kind = ReasonClosed, wire.NoticeQuit
	}
	outs := d.h.Disconnect(s.id, reason, d.now)
	s.live = false
	d.live = without(d.live, s.id)
	d.setRoom(s, "")
	if s.name != "" {
		delete(d.byName, s.name)
	}
	if old != "" {
		d.noticesTo(outs, d.members(old), kind, s.name, old)
	} else if len(outs) > 0 {
		d.fatalf("disconnect outside a room announced: %+v", outs)
	}
}

func (d *deliverySim) say(s *dSession) {
	if s.name == "" {
		return
	}
	text := fmt.Sprintf("m%d from %s", d.said, s.name)
	r, rest := d.call(s, &wire.Frame{Type: wire.TypeSay, Text: text})
	if s.room == "" {
		if r.Code != wire.ErrNotInRoom || len(rest) > 0 {
			d.fatalf("say outside a room by %d: %+v %+v", s.id, r, rest)
		}
		return
	}
	if r.Code != wire.OK || r.Room != s.room || r.Seq != s.lastSeq+1 {
		d.fatalf("say by %d in %s after seq %d: %+v", s.id, s.room, s.lastSeq, r)
	}
	s.lastSeq = r.Seq
	d.said++
	want := without(d.members(s.room), s.id)
	got := map[SessionID]int{}
	for _, o := range rest {
		f := o.Frame
		if f.Type != wire.TypeMessage || f.From != s.name || f.Room != s.room || f.Text != text || f.Seq != r.Seq {
			d.fatalf("say %q by %s in %s: unexpected %+v to %d", text, s.name, s.room, f, o.To)
		}
		got[o.To]++
		dst := d.ss[o.To]
		if dst.lastSeq+1 != f.Seq {
			d.fatalf("%d in %s: message seq %d after %d (gap or repeat)", o.To, dst.room, f.Seq, dst.lastSeq)
		}
		dst.lastSeq = f.Seq
	}
	for _, sid := range want {
		if got[sid] != 1 {
			d.fatalf("message %d of %s in %s reached member %d %d times", r.Seq, s.name, s.room, sid, got[sid])
		}
		delete(got, sid)
	}
	if len(got) > 0 {
		d.fatalf("message %d of %s in %s reached non-members (or its sender) %v", r.Seq, s.name, s.room, got)
	}
	d.got += len(want)
}

func (d *deliverySim) tell(s *dSession) {
	if s.name == "" {
		return
	}
	to := d.ss[d.live[d.rng.IntN(len(d.live))]]
	if to.name == "" || to == s {
		return
	}
	r, rest := d.call(s, &wire.Frame{Type: wire.TypeTell, To: to.name, Text: "psst"})
	if r.Code != wire.OK || len(rest) != 1 || rest[0].To != to.id || rest[0].Frame.Type != wire.TypePrivate || rest[0].Frame.From != s.name {
		d.fatalf("tell %s -> %s: %+v %+v", s.name, to.name, r, rest)
	}
}

// checkModel compares the model with the hub's state.
func (d *deliverySim) checkModel() {
	names := map[string]bool{}
	for _, sid := range d.live {
		s := d.ss[sid]
		hs := d.h.sessions[sid]
		if hs == nil {
			d.fatalf("live session %d unknown to the hub", sid)
		}
		room := ""
		if r := hs.only(); r != nil {
			room = r.name
		}
		if hs.name != s.name || room != s.room {
			d.fatalf("session %d: hub has %q in %q, model %q in %q", sid, hs.name, room, s.name, s.room)
		}
		if s.name != "" {
			if names[s.name] || d.byName[s.name] != sid {
				d.fatalf("name %s twice", s.name)
			}
			names[s.name] = true
		}
	}
	if len(names) != len(d.byName) || len(names) != len(d.h.names) {
		d.fatalf("%d names in the model, %d indexed, %d in the hub", len(names), len(d.byName), len(d.h.names))
	}
	if len(d.h.sessions) != len(d.live) {
		d.fatalf("hub has %d sessions, model %d", len(d.h.sessions), len(d.live))
	}
}
