package hub

import (
	"strings"
	"testing"

	"chat/internal/wire"
)

// fakeStore does a durable hub's store ops as a message store would, in
// memory, failing the next messages when told to.
type fakeStore struct {
	rooms map[string][]*wire.Frame // by room name, oldest first
	inbox map[string][]*wire.Frame
	fail  StoreFailure // the next StoreMessage fails so, once
}

func newDurable(t *testing.T, cfg Config) (*fixture, *fakeStore) {
	cfg.Durable = true
	cfg.IsRegistered = func(name string) bool { return !strings.HasPrefix(name, "guest") }
	x := newFixture(t, cfg)
	fs := &fakeStore{rooms: map[string][]*wire.Frame{}, inbox: map[string][]*wire.Frame{}}
	x.runStore = func(outs []Output) []Output { return fs.run(x, outs) }
	return x, fs
}

// ops takes the store ops out of outs.
func ops(outs []Output) (ops []*StoreOp) {
	for _, o := range outs {
		if o.Store != nil {
			ops = append(ops, o.Store)
		}
	}
	return ops
}

// run does every store op in outs, and those their outcomes lead to, and
// returns every output along the way.
func (fs *fakeStore) run(x *fixture, outs []Output) []Output {
	all := outs
	for pending := ops(outs); len(pending) > 0; {
		op := pending[0]
		pending = pending[1:]
		switch op.Kind {
		case StoreMessage:
			f := op.Frame
			switch {
			case fs.fail != StoreOK:
				op.Failure, fs.fail = fs.fail, StoreOK
			case op.Away:
				fs.inbox[f.To] = append(fs.inbox[f.To], f)
			case f.Type == wire.TypeMessage:
				fs.rooms[f.Room] = append(fs.rooms[f.Room], f)
			}
		case StoreReadBefore:
			for _, m := range fs.rooms[op.Room] {
				if op.Before == 0 || m.Seq < op.Before {
					op.Msgs = append(op.Msgs, m)
				}
			}
			op.Msgs = op.Msgs[max(0, len(op.Msgs)-op.Count):]
		case StoreReadAfter:
			for _, m := range fs.rooms[op.Room] {
				if m.Seq > op.After && len(op.Msgs) < op.Count {
					op.Msgs = append(op.Msgs, m)
				}
			}
		case StoreInbox:
			op.Msgs, op.Through = fs.inbox[op.Name], uint64(len(fs.inbox[op.Name]))
		case StoreClearInbox:
			fs.inbox[op.Name] = fs.inbox[op.Name][op.Through:]
			continue
		}
		more := x.h.StoreDone(op, x.now)
		all = append(all, more...)
		pending = append(pending, ops(more)...)
	}
	return all
}

func TestDurableMessageShownOnlyOnceStored(t *testing.T) {
	x, fs := newDurable(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.enter(1, "r")
	x.enter(2, "r")
	say := func(text string) []Output {
		return x.h.Handle(1, &wire.Frame{Type: wire.TypeSay, ID: x.nextID(1), Text: text}, x.now)
	}
	outs := say("one")
	if len(to(outs, 2)) != 0 || len(ops(outs)) != 1 || !ops(outs)[0].Holds() {
		t.Fatalf("before it is stored: %+v", outs)
	}
	outs = fs.run(x, outs)
	if got := to(outs, 2); len(got) != 1 || got[0].Text != "one" || got[0].Seq != 1 {
		t.Fatalf("bob was shown %+v", got)
	}
	if r := x.reply(outs, 1, x.ids[1]); r.Code != wire.OK || r.Seq != 1 {
		t.Fatalf("alice's reply %+v", r)
	}

	for _, f := range []StoreFailure{StoreFull, StoreUnavailable, StoreUnknown} {
		fs.fail = f
		outs = fs.run(x, say("refused"))
		if len(to(outs, 2)) != 0 {
			t.Fatalf("%v: a message the store refused was shown: %+v", f, to(outs, 2))
		}
		if r := x.reply(outs, 1, x.ids[1]); r.Code != wire.ErrUnavailable || !strings.Contains(r.Text, "store") {
			t.Fatalf("%v: alice's reply %+v", f, r)
		}
	}
	outs = fs.run(x, say("two"))
	if got := to(outs, 2); len(got) != 1 || got[0].Seq != 5 {
		t.Fatalf("after refusals %+v: the refused numbers stay used", got)
	}
	// Replaying everything after 0 counts no refused message as lost.
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeHistory, Room: "r"}); r.Count != 0 || r.Seq != 5 {
		t.Fatalf("bob joined before all of them: %+v", r)
	}
}

func TestDurableRestartReadsHistoryFromTheStore(t *testing.T) {
	x, fs := newDurable(t, Config{})
	for i := uint64(1); i <= 500; i++ {
		fs.rooms["r"] = append(fs.rooms["r"], &wire.Frame{Type: wire.TypeMessage, Room: "r", From: "alice", Text: "m", Seq: i})
	}
	if err := x.h.Restore([]RoomState{{Name: "r", Seq: 500}}, true); err != nil {
		t.Fatal(err)
	}
	x.login(2, "bob")
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeEnter, Room: "r"}); r.Seq != 500 {
		t.Fatalf("enter: %+v", r)
	}
	outs := x.h.Handle(2, &wire.Frame{Type: wire.TypeHistory, ID: x.nextID(2), Room: "r", Seq: 100}, x.now)
	if len(ops(outs)) != 1 || ops(outs)[0].Kind != StoreReadBefore {
		t.Fatalf("history after a restart is read from the store: %+v", outs)
	}
	outs = fs.run(x, outs)
	got := to(outs, 2)
	r := x.reply(outs, 2, x.ids[2])
	if len(got) != 400 || got[0].Seq != 101 || got[399].Seq != 500 || r.Count != 400 || strings.Contains(r.Text, "restarted") {
		t.Fatalf("replayed %d from %d: %+v", len(got), got[0].Seq, r)
	}

	// A page before the cache is read from the store, after it from the cache.
	x.login(1, "alice")
	x.enter(1, "r")
	fs.run(x, x.h.Handle(1, &wire.Frame{Type: wire.TypeSay, ID: x.nextID(1), Text: "new"}, x.now))
	outs = x.h.Handle(2, &wire.Frame{Type: wire.TypeHistory, ID: x.nextID(2), Room: "r", Code: wire.HistoryBefore, Count: 10}, x.now)
	if len(ops(outs)) != 1 {
		t.Fatalf("the cache holds 1, the page wants 10: %+v", outs)
	}
	outs = fs.run(x, outs)
	if got := to(outs, 2); len(got) != 10 || got[0].Seq != 492 || got[9].Text != "new" {
		t.Fatalf("page %+v", got)
	}
	r, outs = x.do(2, wire.Frame{Type: wire.TypeHistory, Room: "r", Code: wire.HistoryAfter, Seq: 500, Count: 10})
	if got := to(outs, 2); len(got) != 1 || r.Count != 1 || len(ops(outs)) != 0 {
		t.Fatalf("after the restart point: %+v %+v", got, r)
	}
}

func TestDurableReplayBounded(t *testing.T) {
	x, fs := newDurable(t, Config{})
	n := uint64(MaxReplay + 50)
	for i := uint64(1); i <= n; i++ {
		fs.rooms["r"] = append(fs.rooms["r"], &wire.Frame{Type: wire.TypeMessage, Room: "r", Seq: i, Text: "m"})
	}
	x.h.Restore([]RoomState{{Name: "r", Seq: n}}, true)
	x.login(2, "bob")
	outs := fs.run(x, x.h.Handle(2, &wire.Frame{Type: wire.TypeHistory, ID: x.nextID(2), Room: "r"}, x.now))
	r := x.reply(outs, 2, x.ids[2])
	if got := to(outs, 2); len(got) != MaxReplay || got[0].Seq != 51 || !strings.Contains(r.Text, "50 earlier ones are kept: read them with history") {
		t.Fatalf("%d replayed, from %d: %q", len(got), got[0].Seq, r.Text)
	}
}

func TestDurablePrivateMessages(t *testing.T) {
	x, fs := newDurable(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	tell := func(to, text string) []Output {
		return fs.run(x, x.h.Handle(1, &wire.Frame{Type: wire.TypeTell, ID: x.nextID(1), To: to, Text: text}, x.now))
	}
	outs := tell("bob", "hi")
	if got := to(outs, 2); len(got) != 1 || got[0].Text != "hi" {
		t.Fatalf("bob online: %+v", got)
	}
	if r := x.reply(outs, 1, x.ids[1]); r.Code != wire.OK || r.Text != "message sent to bob" {
		t.Fatalf("reply %+v", r)
	}
	for _, text := range []string{"first", "second", "third"} {
		outs = tell("carol", text)
		if r := x.reply(outs, 1, x.ids[1]); r.Code != wire.OK || !strings.Contains(r.Text, "carol is not connected; the message is kept") {
			t.Fatalf("carol away: %+v", r)
		}
	}
	fs.fail = StoreInboxFull
	if r := x.reply(tell("carol", "too many"), 1, x.ids[1]); r.Code != wire.ErrUnavailable || !strings.Contains(r.Text, "too many messages waiting") {
		t.Fatalf("inbox full: %+v", r)
	}
	if r := x.reply(tell("guest7", "hi"), 1, x.ids[1]); r.Code != wire.ErrNoSuchUser {
		t.Fatalf("an absent guest: %+v", r)
	}

	x.connect(3)
	id := x.nextID(3)
	x.h.Handle(3, &wire.Frame{Type: wire.TypeLogin, ID: id, Name: "carol", Secret: "pw-carol"}, x.now)
	outs = fs.run(x, x.h.LoginResult(3, id, "carol", VerdictOK, x.now))
	var texts []string
	for _, f := range to(outs, 3) {
		texts = append(texts, f.Text)
	}
	if strings.Join(texts, "|") != "3 private messages while you were away|first|second|third" {
		t.Fatalf("carol's login: %q", texts)
	}
	if len(fs.inbox["carol"]) != 0 {
		t.Fatalf("delivered messages stay kept: %+v", fs.inbox["carol"])
	}
}

func TestDurableSinceLastSeen(t *testing.T) {
	x, fs := newDurable(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.enter(1, "r")
	x.enter(2, "r")
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeLeave}); r.Code != wire.OK {
		t.Fatal(r)
	}
	for range 3 {
		fs.run(x, x.h.Handle(1, &wire.Frame{Type: wire.TypeSay, ID: x.nextID(1), Text: "m"}, x.now))
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeEnter, Room: "r"}); r.Count != 3 {
		t.Fatalf("bob missed 3: %+v", r)
	}
	seen := x.h.TakeSeen()
	if len(seen) != 1 || seen[0] != (Seen{Name: "bob", Room: "r", Seq: 0}) {
		t.Fatalf("seen %+v", seen)
	}
	y, _ := newDurable(t, Config{})
	y.h.Restore([]RoomState{{Name: "r", Seq: 10}}, true)
	y.h.RestoreSeen(map[string]map[string]uint64{"bob": {"R": 4}})
	y.login(2, "bob")
	if r, _ := y.do(2, wire.Frame{Type: wire.TypeEnter, Room: "r"}); r.Count != 6 {
		t.Fatalf("after a restart bob missed 6: %+v", r)
	}
}

func TestDurableRoomAcknowledgedOnceSaved(t *testing.T) {
	x, fs := newDurable(t, Config{})
	x.login(1, "alice")
	for _, f := range []wire.Frame{{Type: wire.TypeCreate, Room: "r"}, {Type: wire.TypeJoin, Room: "s"}} {
		f.ID = x.nextID(1)
		outs := x.h.Handle(1, &f, x.now)
		if len(outs) != 1 || outs[0].Store == nil || outs[0].Store.Kind != StoreRoom || outs[0].Store.State.Name != f.Room {
			t.Fatalf("%v: before the room is saved: %+v", f.Type, outs)
		}
		if r := x.reply(fs.run(x, outs), 1, f.ID); r.Code != wire.OK {
			t.Fatalf("%v: %+v", f.Type, r)
		}
	}
	// Entering a room that exists saves nothing.
	if _, outs := x.do(1, wire.Frame{Type: wire.TypeJoin, Room: "r"}); len(ops(outs)) != 0 {
		t.Fatalf("join of a room there: %+v", outs)
	}
}

// Only an account that may have messages waiting has its inbox read at
// login: one marked at start, or one a message is on its way to, even if
// it logs in before the message is stored.
func TestDurableInboxReadOnlyWhenKept(t *testing.T) {
	x, _ := newDurable(t, Config{})
	inboxReads := func(outs []Output) (n int) {
		for _, op := range ops(outs) {
			if op.Kind == StoreInbox {
				n++
			}
		}
		return n
	}
	login := func(sid SessionID, name string) []Output {
		x.connect(sid)
		id := x.nextID(sid)
		x.h.Handle(sid, &wire.Frame{Type: wire.TypeLogin, ID: id, Name: name, Secret: "pw-" + name}, x.now)
		return x.h.LoginResult(sid, id, name, VerdictOK, x.now)
	}
	if n := inboxReads(login(1, "alice")); n != 0 {
		t.Fatalf("alice has nothing waiting: %d inbox reads", n)
	}
	x.h.RestoreKept([]string{"bob"})
	if n := inboxReads(login(2, "bob")); n != 1 {
		t.Fatalf("bob has messages waiting: %d inbox reads", n)
	}
	// carol is away when alice tells her; the message is not stored yet
	// when she logs in: her login reads her inbox all the same.
	tell := x.h.Handle(1, &wire.Frame{Type: wire.TypeTell, ID: x.nextID(1), To: "carol", Text: "hi"}, x.now)
	if len(ops(tell)) != 1 || !ops(tell)[0].Away {
		t.Fatalf("tell carol: %+v", tell)
	}
	outs := login(3, "carol")
	if n := inboxReads(outs); n != 1 {
		t.Fatalf("carol logged in with a message on its way: %d inbox reads", n)
	}
	read := ops(outs)[0]
	x.h.StoreDone(read, x.now) // read: nothing yet in this fake
	if n := inboxReads(login(4, "dave")); n != 0 {
		t.Fatalf("dave: %d", n)
	}
	// The message came to her inbox before her read, so the read had it;
	// the mark is gone, and her next login reads nothing.
	x.h.Handle(3, &wire.Frame{Type: wire.TypeLogout, ID: x.nextID(3)}, x.now)
	if n := inboxReads(login(5, "carol")); n != 0 {
		t.Fatalf("carol's second login: %d inbox reads", n)
	}
}

// With Follows the acknowledgement only answers the sender; the store's
// stream shows every message, another server's as this one's, once each.
func TestFollowsShowsWhatTheStreamDelivers(t *testing.T) {
	x, fs := newDurable(t, Config{Follows: true})
	x.login(1, "alice")
	x.login(2, "bob")
	x.enter(1, "r")
	x.enter(2, "r")
	outs := fs.run(x, x.h.Handle(1, &wire.Frame{Type: wire.TypeSay, ID: x.nextID(1), Text: "one"}, x.now))
	if r := x.reply(outs, 1, x.ids[1]); r.Code != wire.OK || r.Seq != 1 {
		t.Fatalf("alice's reply: %+v", r)
	}
	if got := to(outs, 2); len(got) != 0 {
		t.Fatalf("bob was shown it before the stream delivered it: %+v", got)
	}
	stored := fs.rooms["r"][0]
	outs = x.h.Delivered(stored, x.now)
	if got := to(outs, 2); len(got) != 1 || got[0].Text != "one" || len(to(outs, 1)) != 0 {
		t.Fatalf("delivered: %+v", outs)
	}
	if outs := x.h.Delivered(stored, x.now); len(outs) != 0 {
		t.Fatalf("delivered twice: %+v", outs)
	}
	// Another server's message: everyone here is shown it.
	outs = x.h.Delivered(&wire.Frame{Type: wire.TypeMessage, From: "carol", Room: "r", Text: "from afar", Seq: 2}, x.now)
	if len(to(outs, 1)) != 1 || len(to(outs, 2)) != 1 {
		t.Fatalf("carol's message: %+v", outs)
	}
	x.login(3, "dave")
	if r, _ := x.do(3, wire.Frame{Type: wire.TypeEnter, Room: "r"}); r.Seq != 2 {
		t.Fatalf("dave enters at the last Seq shown: %+v", r)
	}
	// The next Say asks the store for a number above what was shown.
	outs = x.h.Handle(1, &wire.Frame{Type: wire.TypeSay, ID: x.nextID(1), Text: "three"}, x.now)
	if ops := ops(outs); len(ops) != 1 || ops[0].Frame.Seq != 3 {
		t.Fatalf("the third message: %+v", outs)
	}
}
