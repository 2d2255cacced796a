package hub

import (
	"slices"
	"testing"

	"chat/internal/wire"
)

// bus stands for the store between the hubs of a cluster: the names
// bucket (an atomic create, a compare-and-set replace and release), the
// room events every node follows, and the takeover requests between
// nodes. Each node's fixture settles its outputs through it, so a request
// on one node returns its reply once the cluster agreed, and what the
// other nodes' sessions were sent is kept in sent.
type bus struct {
	t     *testing.T
	nodes map[string]*fixture
	names map[string]Owner
	sent  map[string][]Output // by node: outputs other than the request's
}

func newBus(t *testing.T, nodes ...string) *bus {
	b := &bus{t: t, nodes: map[string]*fixture{}, names: map[string]Owner{}, sent: map[string][]Output{}}
	for _, n := range nodes {
		x := newFixture(t, Config{Node: n})
		x.runStore = func(outs []Output) []Output { return b.settle(n, outs) }
		b.nodes[n] = x
	}
	return b
}

// settle does the cluster work in node's outputs and returns them with
// the outcomes' effects added.
func (b *bus) settle(node string, outs []Output) []Output {
	h := b.nodes[node].h
	for _, c := range h.TakeReleases() {
		if o, ok := b.names[c.Name]; ok && o == c.Owner(node) {
			b.setName(c.Name, nil)
		}
	}
	for i := 0; i < len(outs); i++ {
		o := outs[i]
		switch {
		case o.Event != nil:
			for other, x := range b.nodes {
				if other != node {
					b.sent[other] = append(b.sent[other], x.h.Event(o.Event, x.now)...)
				}
			}
		case o.Claim != nil:
			c := o.Claim
			switch held, ok := b.names[c.Name]; {
			case c.Kind == ClaimAsk:
				x := b.nodes[c.From.Node]
				b.sent[c.From.Node] = append(b.sent[c.From.Node], x.h.TakeoverAsked(c.Name, c.From.Session, x.now)...)
			case ok && (c.Kind == ClaimCreate || held != c.From):
				c.Held = &held
			default:
				b.setName(c.Name, &Owner{Node: node, Session: int64(c.Session), Guest: c.Guest})
			}
			outs = append(outs, h.ClaimDone(c, b.nodes[node].now)...)
		}
		for _, c := range h.TakeReleases() {
			if o, ok := b.names[c.Name]; ok && o == c.Owner(node) {
				b.setName(c.Name, nil)
			}
		}
	}
	return outs
}

// setName changes the names bucket and tells every node, as its watch
// would.
func (b *bus) setName(name string, o *Owner) {
	if o == nil {
		delete(b.names, name)
	} else {
		b.names[name] = *o
	}
	for n, x := range b.nodes {
		b.sent[n] = append(b.sent[n], x.h.RemoteName(name, o, x.now)...)
	}
}

// take returns and forgets what node's sessions were sent meanwhile.
func (b *bus) take(node string) []Output {
	outs := b.sent[node]
	b.sent[node] = nil
	return outs
}

// forwarded returns the last frame in outs forwarded to another node.
func forwarded(outs []Output) *Forward {
	var fw *Forward
	for _, o := range outs {
		if o.Forward != nil {
			fw = o.Forward
		}
	}
	return fw
}

// notices returns the notice texts in outs sent to sid.
func notices(outs []Output, sid SessionID) []string {
	var texts []string
	for _, f := range to(outs, sid) {
		if f.Type == wire.TypeNotice {
			texts = append(texts, f.Text)
		}
	}
	return texts
}

// Users of different nodes in one room hear each other enter, leave and
// quit, are listed by who, and see topics and modes set on another node.
func TestClusterRoomAcrossNodes(t *testing.T) {
	b := newBus(t, "a", "b", "c")
	a, bn, c := b.nodes["a"], b.nodes["b"], b.nodes["c"]
	a.login(1, "alice")
	bn.login(1, "bob")
	c.login(1, "carol")
	a.enter(1, "lounge")
	if r, _ := bn.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Code != wire.OK || !slices.ContainsFunc(r.Users, func(u wire.User) bool { return u.Name == "alice" }) {
		t.Fatalf("bob enters lounge made on a: %+v", r)
	}
	if got := notices(b.take("a"), 1); !slices.Equal(got, []string{"bob entered lounge"}) {
		t.Fatalf("alice was shown %q", got)
	}
	c.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	b.take("a")
	b.take("b")
	r, _ := c.do(1, wire.Frame{Type: wire.TypeWho, Room: "lounge"})
	var who []string
	for _, u := range r.Users {
		who = append(who, u.Name)
	}
	if slices.Sort(who); !slices.Equal(who, []string{"alice", "bob", "carol"}) {
		t.Fatalf("who on c: %q", who)
	}

	a.do(1, wire.Frame{Type: wire.TypeTopic, Code: wire.TopicSet, Room: "lounge", Text: "tea"})
	if got := notices(b.take("c"), 1); !slices.Equal(got, []string{"alice set the topic of lounge to: tea"}) {
		t.Fatalf("carol was shown %q", got)
	}
	if r, _ := c.do(1, wire.Frame{Type: wire.TypeTopic, Room: "lounge"}); r.Words != "tea" {
		t.Fatalf("topic on c: %+v", r)
	}
	a.do(1, wire.Frame{Type: wire.TypeMode, Room: "lounge", Mode: "+v bob"})
	b.take("b")
	b.take("c")
	if r, _ := c.do(1, wire.Frame{Type: wire.TypeWho, Room: "lounge"}); !slices.ContainsFunc(r.Users, func(u wire.User) bool { return u.Name == "bob" && u.Prefix == "+" }) {
		t.Fatalf("bob's voice on c: %+v", r.Users)
	}

	bn.do(1, wire.Frame{Type: wire.TypeLeave, Room: "lounge", Text: "tea time"})
	if got := notices(b.take("c"), 1); !slices.Equal(got, []string{"bob left lounge (tea time)"}) {
		t.Fatalf("carol was shown %q", got)
	}
	b.take("a")
	outs := c.h.Disconnect(1, ReasonLost, c.now)
	outs = b.settle("c", outs)
	if got := notices(b.take("a"), 1); !slices.Equal(got, []string{"contact with carol was lost"}) {
		t.Fatalf("alice was shown %q (%+v)", got, outs)
	}
	if _, held := b.names["carol"]; held {
		t.Fatal("carol's name is still held after her session ended")
	}
	if r, _ := a.do(1, wire.Frame{Type: wire.TypeWho, Room: "lounge"}); len(r.Users) != 1 {
		t.Fatalf("who on a after bob left and carol was lost: %+v", r.Users)
	}
}

// A guest who made a room runs it on every node.
func TestClusterGuestOperatorAcrossNodes(t *testing.T) {
	b := newBus(t, "a", "b")
	a, bn := b.nodes["a"], b.nodes["b"]
	a.h.cfg.Guests = true
	a.connect(1)
	a.do(1, wire.Frame{Type: wire.TypeClaim, Name: "ivy"})
	a.enter(1, "bridge")
	bn.login(1, "bob")
	r, _ := bn.do(1, wire.Frame{Type: wire.TypeWho, Room: "bridge"})
	if len(r.Users) != 1 || r.Users[0].Name != "ivy" || r.Users[0].Prefix != "@" {
		t.Fatalf("who of bridge on b: %+v", r.Users)
	}
}

// A name is held by one session in the whole cluster: a guest cannot take
// a name held on another node, and a login to an account held on another
// node takes it over there, carrying on in its rooms without a notice.
func TestClusterNamesAndTakeover(t *testing.T) {
	b := newBus(t, "a", "b")
	a, bn := b.nodes["a"], b.nodes["b"]
	a.h.cfg.Guests, bn.h.cfg.Guests = true, true
	a.login(1, "alice")
	a.enter(1, "lounge")
	bn.login(1, "bob")
	bn.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	b.take("a")

	a.connect(2)
	if r, _ := a.do(2, wire.Frame{Type: wire.TypeClaim, Name: "guest"}); r.Code != wire.OK {
		t.Fatalf("guest on a: %+v", r)
	}
	bn.connect(2)
	if r, _ := bn.do(2, wire.Frame{Type: wire.TypeClaim, Name: "guest"}); r.Code != wire.ErrNameTaken {
		t.Fatalf("the same guest name on b: %+v", r)
	}
	if r, _ := bn.do(2, wire.Frame{Type: wire.TypeNick, Name: "x"}); r.Code != wire.ErrNotLoggedIn {
		t.Fatalf("nick before a name: %+v", r)
	}

	bn.connect(3)
	r, _ := bn.do(3, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "pw-alice"})
	if r.Code != wire.OK || r.Room != "lounge" {
		t.Fatalf("alice logs in on b: %+v", r)
	}
	onA := b.take("a")
	if fs := to(onA, 1); len(fs) != 1 || fs[0].Type != wire.TypeBye || fs[0].Code != wire.ByeTakeover || !closes(onA, 1) {
		t.Fatalf("alice's session on a: %+v", onA)
	}
	if got := notices(b.take("b"), 1); len(got) != 0 {
		t.Fatalf("bob was told of a takeover: %q", got)
	}
	if o := b.names["alice"]; o.Node != "b" || o.Session != 3 {
		t.Fatalf("alice's name is held by %+v", o)
	}
	_, outs := bn.do(1, wire.Frame{Type: wire.TypeSay, Text: "hi"})
	if fs := to(outs, 3); len(fs) != 1 || fs[0].Text != "hi" {
		t.Fatalf("alice on b is not in lounge: %+v", outs)
	}
	if outs := b.settle("a", a.h.Disconnect(1, ReasonClosed, a.now)); len(outs) != 0 || len(b.take("b")) != 0 {
		t.Fatalf("the old session's end was announced: %+v", outs)
	}
	if o := b.names["alice"]; o.Node != "b" {
		t.Fatalf("the old session's end let go of alice's name: %+v", b.names)
	}
	if r, _ := a.do(2, wire.Frame{Type: wire.TypeWhois, Name: "alice"}); r.Code != wire.OK || len(r.Rooms) != 1 {
		t.Fatalf("whois alice on a: %+v", r)
	}
}

// An operator on one node kicks a member on another: the member's own
// node takes it out of the room and tells it.
func TestClusterKickAcrossNodes(t *testing.T) {
	b := newBus(t, "a", "b")
	a, bn := b.nodes["a"], b.nodes["b"]
	a.login(1, "alice")
	a.enter(1, "lounge")
	bn.login(1, "bob")
	bn.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	b.take("a")
	if r, _ := a.do(1, wire.Frame{Type: wire.TypeKick, Room: "lounge", Name: "bob", Text: "out"}); r.Code != wire.OK {
		t.Fatalf("kick: %+v", r)
	}
	if got := notices(b.take("b"), 1); !slices.Equal(got, []string{"alice kicked bob out of lounge (out)"}) {
		t.Fatalf("bob was shown %q", got)
	}
	_, outs := a.do(1, wire.Frame{Type: wire.TypeSay, Text: "bye"})
	if len(to(outs, 1)) != 0 {
		t.Fatalf("outs: %+v", outs)
	}
	if r, _ := bn.do(1, wire.Frame{Type: wire.TypeSay, Text: "still here?"}); r.Code != wire.ErrNotInRoom {
		t.Fatalf("bob says after the kick: %+v", r)
	}
}

// A node that lost its lease closes its sessions; its users' names are no
// longer its to hold.
func TestClusterIsolatedNodeClosesSessions(t *testing.T) {
	b := newBus(t, "a", "b")
	a := b.nodes["a"]
	a.login(1, "alice")
	a.enter(1, "lounge")
	a.connect(2) // not logged in yet: its login would complete on a node the others take as gone
	outs := a.h.Isolated(a.now)
	if fs := to(outs, 1); len(fs) != 2 || fs[1].Type != wire.TypeBye || !closes(outs, 1) {
		t.Fatalf("alice's session: %+v", outs)
	}
	if fs := to(outs, 2); len(fs) != 1 || fs[0].Type != wire.TypeBye || !closes(outs, 2) {
		t.Fatalf("the session not logged in: %+v", outs)
	}
	if a.h.Name(1) != "alice" || a.h.user("alice") != nil {
		t.Fatal("alice's name is still held here")
	}
}

// A private message to a user of another node is forwarded there.
func TestClusterPrivateMessageForwarded(t *testing.T) {
	b := newBus(t, "a", "b")
	a, bn := b.nodes["a"], b.nodes["b"]
	a.login(1, "alice")
	bn.login(1, "bob")
	r, outs := a.do(1, wire.Frame{Type: wire.TypeTell, To: "bob", Text: "psst"})
	if r.Code != wire.OK {
		t.Fatalf("tell bob on b: %+v", r)
	}
	fw := forwarded(outs)
	if fw == nil || fw.Node != "b" {
		t.Fatalf("not forwarded to b: %+v", outs)
	}
	if got := bn.h.Forwarded(fw); len(got) != 1 || got[0].To != 1 || got[0].Frame.Text != "psst" {
		t.Fatalf("shown on b: %+v", got)
	}
}

// An invitation to a user of another node reaches them, and lets them into
// an invite-only room there.
func TestClusterInviteAcrossNodes(t *testing.T) {
	b := newBus(t, "a", "b")
	a, bn := b.nodes["a"], b.nodes["b"]
	a.login(1, "alice")
	a.enter(1, "lounge")
	a.do(1, wire.Frame{Type: wire.TypeMode, Room: "lounge", Mode: "+i"})
	bn.login(1, "bob")
	if r, _ := bn.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Code != wire.ErrInviteOnly {
		t.Fatalf("bob enters an invite-only room uninvited: %+v", r)
	}
	_, outs := a.do(1, wire.Frame{Type: wire.TypeInvite, Room: "lounge", Name: "bob"})
	fw := forwarded(outs)
	if fw == nil || fw.Frame.Text != "alice invites you to lounge" {
		t.Fatalf("the invitation was not forwarded: %+v", outs)
	}
	if r, _ := bn.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Code != wire.OK {
		t.Fatalf("bob enters once invited: %+v", r)
	}
}

// A node shutting down keeps its users' names: their clients take them
// over on another node, and the cleanup after it tells the rooms of the
// others.
func TestClusterShutdownKeepsNames(t *testing.T) {
	b := newBus(t, "a", "b")
	a := b.nodes["a"]
	a.login(1, "alice")
	b.settle("a", a.h.Shutdown(a.now))
	if o, held := b.names["alice"]; !held || o.Node != "a" {
		t.Fatalf("alice's name after a's shutdown: %+v", b.names)
	}
}

// A dead node's Lost event about a user who is back on another node, in
// their rooms, is stale: the rooms keep them and hear nothing.
func TestClusterLostAfterComingBackIsIgnored(t *testing.T) {
	b := newBus(t, "a", "b", "c")
	a, bn, c := b.nodes["a"], b.nodes["b"], b.nodes["c"]
	a.login(1, "alice")
	a.enter(1, "lounge")
	c.login(1, "carol")
	c.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	// a dies; alice logs in on b, which takes her name over.
	delete(b.nodes, "a")
	b.setName("alice", &Owner{Node: "b", Session: 1})
	bn.connect(1)
	delete(b.names, "alice")
	if r, _ := bn.do(1, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "pw-alice"}); r.Code != wire.OK {
		t.Fatalf("alice on b: %+v", r)
	}
	b.take("c")
	outs := c.h.Event(LostEvent("a", "alice", []string{"lounge"}, c.now), c.now)
	if got := notices(outs, 1); len(got) != 0 {
		t.Fatalf("carol was told %q", got)
	}
	if r, _ := c.do(1, wire.Frame{Type: wire.TypeWho, Room: "lounge"}); len(r.Users) != 2 {
		t.Fatalf("who of lounge on c: %+v", r.Users)
	}
}

// The dead node's cleanup lets its users' names go after it told their
// rooms they were lost, but a node may see the names go first (the bucket
// and the stream are two ways, in no order): alice is back on b, in the
// room, before her loss from a reaches c, which has both of her in
// lounge. Carol is told nothing, and sees alice once.
func TestClusterLostArrivingAfterTheReturnIsNotTold(t *testing.T) {
	b := newBus(t, "a", "b", "c")
	a, bn, c := b.nodes["a"], b.nodes["b"], b.nodes["c"]
	a.login(1, "alice")
	a.enter(1, "lounge")
	c.login(1, "carol")
	c.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	delete(b.nodes, "a")
	b.setName("alice", nil)
	bn.connect(1)
	if r, _ := bn.do(1, wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "pw-alice"}); r.Code != wire.OK {
		t.Fatalf("alice on b: %+v", r)
	}
	if r, _ := bn.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Code != wire.OK {
		t.Fatalf("alice enters lounge on b: %+v", r)
	}
	b.take("c")
	outs := c.h.Event(LostEvent("a", "alice", []string{"lounge"}, c.now), c.now)
	if got := notices(outs, 1); len(got) != 0 {
		t.Fatalf("carol was told %q", got)
	}
	r, _ := c.do(1, wire.Frame{Type: wire.TypeWho, Room: "lounge"})
	var names []string
	for _, u := range r.Users {
		names = append(names, u.Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"alice", "carol"}) {
		t.Fatalf("who of lounge on c: %q", names)
	}
}

// A server operator disconnects a user of another node: that node does
// it, and the rooms hear why.
func TestClusterKillAcrossNodes(t *testing.T) {
	b := newBus(t, "a", "b")
	a, bn := b.nodes["a"], b.nodes["b"]
	a.login(1, "alice")
	a.enter(1, "lounge")
	a.h.sessions[1].oper = true
	bn.login(1, "bob")
	bn.do(1, wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	b.take("a")
	r, outs := a.do(1, wire.Frame{Type: wire.TypeKill, Name: "bob", Text: "spam"})
	if r.Code != wire.OK {
		t.Fatalf("kill bob on b: %+v", r)
	}
	got := b.nodes["b"].h.Forwarded(forwarded(outs))
	if fs := to(got, 1); len(fs) != 1 || fs[0].Type != wire.TypeBye || fs[0].Code != wire.ByeKilled || !closes(got, 1) {
		t.Fatalf("bob's session: %+v", got)
	}
	b.settle("b", got)
	if got := notices(b.take("a"), 1); !slices.Equal(got, []string{"bob was disconnected by alice"}) {
		t.Fatalf("alice was shown %q", got)
	}
}
