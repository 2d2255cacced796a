package hub

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// xbus is a bus (cluster_test.go) that also carries the notes the nodes'
// halves of a transfer send each other, as the store's pipes do: the
// notes of a request, and those their delivery makes, reach their node
// before the request returns, and what that node's sessions were sent is
// kept in the bus's sent. A node that is down gets nothing, and what it
// sends is lost.
type xbus struct {
	*bus
	down map[string]bool
}

// Sessions of the tests between nodes: alice (requester) on a, bob
// (owner) on b, carol on c; data connections from 10 on.
const (
	nAlice SessionID = 1
	nBob   SessionID = 1
	nCarol SessionID = 1
)

func newXBus(t *testing.T) *xbus {
	b := &xbus{bus: newBus(t, "a", "b", "c"), down: map[string]bool{}}
	for n, x := range b.nodes {
		settle := x.runStore
		x.runStore = func(outs []Output) []Output {
			outs = settle(outs)
			b.carry(n, outs)
			return outs
		}
	}
	b.nodes["a"].login(nAlice, "alice")
	b.nodes["b"].login(nBob, "bob")
	b.nodes["c"].login(nCarol, "carol")
	b.take("a")
	b.take("b")
	b.take("c")
	return b
}

// carry delivers the notes in outs, which node sent, and those their
// delivery makes.
func (b *xbus) carry(node string, outs []Output) {
	if b.down[node] {
		return
	}
	queue := notesIn(outs)
	for len(queue) > 0 {
		op := queue[0]
		queue = queue[1:]
		if op.Node == op.Note.Node {
			b.t.Fatalf("node %s sent itself a note: %+v", op.Node, op.Note)
		}
		x := b.nodes[op.Node]
		if b.down[op.Node] {
			continue
		}
		got := x.h.PipeNote(op.Token, op.Note, x.now)
		b.sent[op.Node] = append(b.sent[op.Node], got...)
		queue = append(queue, notesIn(got)...)
	}
}

func notesIn(outs []Output) []*RelayOp {
	var ops []*RelayOp
	for _, o := range outs {
		if o.Relay != nil && o.Relay.Kind == RelayNote {
			ops = append(ops, o.Relay)
		}
	}
	return ops
}

// call runs fn on node's hub (a call the loop makes, not a request) and
// carries its notes.
func (b *xbus) call(node string, fn func(h *Hub, now time.Time) []Output) []Output {
	x := b.nodes[node]
	outs := fn(x.h, x.now)
	b.carry(node, outs)
	return outs
}

// advance moves every node's clock on by d, a heartbeat at a time,
// running each node's Tick as the loop does; it returns what each node's
// Ticks and the notes they carried made.
func (b *xbus) advance(d time.Duration) map[string][]Output {
	got := map[string][]Output{}
	for step := time.Duration(0); step < d; step += time.Second {
		for _, n := range []string{"a", "b", "c"} {
			x := b.nodes[n]
			x.now = x.now.Add(min(time.Second, d-step))
			if b.down[n] {
				continue
			}
			if dl := x.h.TransferDeadline(); !dl.IsZero() && !x.now.Before(dl) {
				got[n] = append(got[n], b.call(n, func(h *Hub, now time.Time) []Output { return h.Tick(now) })...)
			}
		}
	}
	for n := range b.nodes {
		got[n] = append(got[n], b.take(n)...)
	}
	return got
}

// xops describes the relay ops and notes in outs.
func xops(outs []Output) []string {
	var ops []string
	for _, o := range outs {
		op := o.Relay
		if op == nil {
			continue
		}
		switch op.Kind {
		case RelayAttach:
			ops = append(ops, fmt.Sprintf("attach %d role %d via %s", o.To, op.Role, op.Node))
		case RelayPipe:
			ops = append(ops, fmt.Sprintf("pipe %d to node %s", o.To, op.Node))
		case RelayAbort:
			ops = append(ops, fmt.Sprintf("abort %d", o.To))
		case RelayNote:
			s := fmt.Sprintf("note %s %s", op.Node, op.Note.Kind)
			if op.Note.Kind == NoteEnd {
				s += fmt.Sprintf(" %d %q", op.Note.Code, op.Note.Text)
			}
			ops = append(ops, s)
		}
	}
	return ops
}

// withoutBeats returns outs without the heartbeats.
func withoutBeats(outs []Output) []Output {
	var rest []Output
	for _, o := range outs {
		if o.Relay == nil || o.Relay.Kind != RelayNote || o.Relay.Note.Kind != NoteBeat {
			rest = append(rest, o)
		}
	}
	return rest
}

func wantXOps(t *testing.T, outs []Output, want ...string) {
	t.Helper()
	got := xops(outs)
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("ops %q, want %q", got, want)
	}
}

// fetch has alice on a ask bob on b for file: the reply comes from a,
// the offer from b. It returns the token.
func (b *xbus) fetch(file string) string {
	b.t.Helper()
	a := b.nodes["a"]
	r, outs := a.do(nAlice, wire.Frame{Type: wire.TypeFetch, To: "bob", Name: file})
	if r.Code != wire.OK || r.Token == "" || r.Text != "asking bob for "+file || r.To != "bob" || r.Name != file {
		b.t.Fatalf("fetch: %+v", r)
	}
	wantXOps(b.t, outs, "note b offer")
	if fs := to(outs, nAlice); len(fs) != 0 {
		b.t.Fatalf("alice was sent %+v", fs)
	}
	offers := to(b.take("b"), nBob)
	if len(offers) != 1 || offers[0].Type != wire.TypeFileOffer || offers[0].From != "alice" || offers[0].Name != file ||
		offers[0].Token != r.Token || offers[0].Text != "alice asks for "+file {
		b.t.Fatalf("bob's offer: %+v", offers)
	}
	return r.Token
}

// piping sets up a transfer of file from bob to alice with both data
// connections attached: alice's (10) on a, bob's (10) on b.
func (b *xbus) piping(file string) string {
	b.t.Helper()
	token := b.fetch(file)
	r, outs := b.nodes["a"].attachData(10, token, wire.RoleRequester)
	if r.Code != wire.OK || r.Text != "waiting for "+file+" from bob" {
		b.t.Fatalf("alice attaches: %+v", r)
	}
	wantXOps(b.t, outs, "attach 10 role 2 via b", "note b attached")
	if got := b.take("b"); len(got) != 0 {
		b.t.Fatalf("b did %q on alice's attach", xops(got))
	}
	r, outs = b.nodes["b"].attachData(10, token, wire.RoleOwner)
	if r.Code != wire.OK || r.Text != "send "+file+" to alice" {
		b.t.Fatalf("bob attaches: %+v", r)
	}
	wantXOps(b.t, outs, "attach 10 role 1 via a", "note a attached", "pipe 10 to node a")
	b.take("a")
	return token
}

// gone checks that node has forgotten every transfer.
func (b *xbus) gone(nodes ...string) {
	b.t.Helper()
	for _, n := range nodes {
		if k := b.nodes[n].h.Transfers(); k != 0 {
			b.t.Fatalf("node %s has %d transfers under way", n, k)
		}
	}
}

// A transfer between nodes: each half pipes once both users attached,
// in either order, and ends when the owner's stream ended there and the
// requester's connection was flushed here, telling nobody anything.
func TestClusterTransferCompletes(t *testing.T) {
	for _, ownerFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("owner first ", ownerFirst), func(t *testing.T) {
			b := newXBus(t)
			a, bn := b.nodes["a"], b.nodes["b"]
			var token string
			if ownerFirst {
				token = b.fetch("report.pdf")
				_, outs := bn.attachData(10, token, wire.RoleOwner)
				wantXOps(t, outs, "attach 10 role 1 via a", "note a attached")
				_, outs = a.attachData(10, token, wire.RoleRequester)
				wantXOps(t, outs, "attach 10 role 2 via b", "note b attached")
				wantXOps(t, b.take("b"), "pipe 10 to node a")
			} else {
				token = b.piping("report.pdf")
			}
			if sid := a.h.PipeHeard(token, a.now); sid != 10 {
				t.Fatalf("a's data session of the transfer: %d", sid)
			}
			if sid := bn.h.PipeHeard(token, bn.now); sid != 10 {
				t.Fatalf("b's data session of the transfer: %d", sid)
			}
			// The owner's stream ends on b: b is done, and says nothing
			// (the end travels with the bytes).
			outs := b.call("b", func(h *Hub, now time.Time) []Output { return h.DataClosed(10, DataEOF, now) })
			wantXOps(t, outs)
			b.gone("b")
			if sid := a.h.PipeEnd(token, a.now); sid != 10 {
				t.Fatalf("PipeEnd on a: %d", sid)
			}
			// Flushed and closed: over, nobody told.
			outs = b.call("a", func(h *Hub, now time.Time) []Output { return h.Disconnect(10, ReasonLost, now) })
			wantXOps(t, outs)
			noFailed(t, outs)
			b.gone("a", "b")
			// Nothing more goes between the nodes.
			for n, outs := range b.advance(10 * time.Second) {
				if len(outs) != 0 {
					t.Fatalf("node %s after the end: %q", n, xops(outs))
				}
			}
		})
	}
}

// What ends a transfer on the owner's node reaches the requester as the
// FileFailed it gets on one server, and the requester's half ends.
func TestClusterTransferOwnerSideEnds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pipe  bool
		end   func(b *xbus, token string)
		code  wire.Code
		text  string
		later bool // a late attach of alice's gets the reason
	}{
		{"refused", false, func(b *xbus, token string) {
			r, _ := b.nodes["b"].do(nBob, wire.Frame{Type: wire.TypeRefuse, Token: token, Code: wire.ErrNoSuchFile})
			if r.Code != wire.OK || r.Text != "told alice that f.txt cannot be sent" {
				b.t.Fatalf("refuse: %+v", r)
			}
		}, wire.ErrNoSuchFile, "bob has no file named f.txt", true},
		{"refused with a text", false, func(b *xbus, token string) {
			b.nodes["b"].do(nBob, wire.Frame{Type: wire.TypeRefuse, Token: token, Code: wire.ErrUnreadable, Text: "bob cannot read f.txt: permission denied"})
		}, wire.ErrUnreadable, "bob cannot read f.txt: permission denied", true},
		{"owner leaves", true, func(b *xbus, token string) {
			b.call("b", func(h *Hub, now time.Time) []Output { return h.Disconnect(nBob, ReasonLost, now) })
		}, wire.ErrOwnerGone, "bob left before sending f.txt", false},
		{"owner logs out", false, func(b *xbus, token string) {
			b.nodes["b"].do(nBob, wire.Frame{Type: wire.TypeLogout})
		}, wire.ErrOwnerGone, "bob left before sending f.txt", false},
		{"owner's data connection resets", true, func(b *xbus, token string) {
			b.call("b", func(h *Hub, now time.Time) []Output { return h.DataClosed(10, DataError, now) })
		}, wire.ErrOwnerGone, "the transfer of f.txt broke off: bob's data connection closed", false},
		{"owner's server shuts down", true, func(b *xbus, token string) {
			b.call("b", func(h *Hub, now time.Time) []Output { return h.Shutdown(now) })
		}, wire.ErrOwnerGone, "the transfer of f.txt broke off: bob's server is shutting down", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newXBus(t)
			var token string
			if tc.pipe {
				token = b.piping("f.txt")
			} else {
				token = b.fetch("f.txt")
			}
			tc.end(b, token)
			got := b.take("a")
			f := failed(t, got, nAlice)
			if f.Code != tc.code || f.Text != tc.text || f.From != "bob" || f.Name != "f.txt" || f.Token != token {
				t.Fatalf("alice's FileFailed: %+v, want %d %q", f, tc.code, tc.text)
			}
			if tc.pipe {
				wantXOps(t, got, "abort 10")
			} else {
				wantXOps(t, got)
			}
			b.gone("a", "b")
			if tc.later {
				r, _ := b.nodes["a"].attachData(10, token, wire.RoleRequester)
				if r.Code != tc.code || r.Text != tc.text {
					t.Fatalf("alice's late attach: %+v", r)
				}
			}
		})
	}
}

// What ends a transfer on the requester's node ends the owner's half:
// its data connection is closed, and the owner is told nothing.
func TestClusterTransferRequesterSideEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(b *xbus) []Output
		code wire.Code
		text string
	}{
		{"requester's data connection closes", func(b *xbus) []Output {
			return b.call("a", func(h *Hub, now time.Time) []Output { return h.DataClosed(10, DataEOF, now) })
		}, wire.ErrUnavailable, "your data connection for f.txt closed before the transfer finished"},
		{"requester sends data", func(b *xbus) []Output {
			return b.call("a", func(h *Hub, now time.Time) []Output { return h.DataClosed(10, DataSpoke, now) })
		}, wire.ErrBadRequest, "your data connection for f.txt sent data; a requester's data connection must only receive"},
		{"requester leaves", func(b *xbus) []Output {
			return b.call("a", func(h *Hub, now time.Time) []Output { return h.Disconnect(nAlice, ReasonLost, now) })
		}, wire.OK, ""},
		{"the link breaks", func(b *xbus) []Output {
			return b.call("a", func(h *Hub, now time.Time) []Output { return h.PipeBroken(b.token(), "NATS said no", now) })
		}, wire.ErrUnavailable, "the transfer of f.txt broke off: the link to bob's server failed (NATS said no)"},
		{"requester's server shuts down", func(b *xbus) []Output {
			return b.call("a", func(h *Hub, now time.Time) []Output { return h.Shutdown(now) })
		}, wire.ErrUnavailable, "the server is shutting down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newXBus(t)
			token := b.piping("f.txt")
			outs := tc.end(b)
			var ff []*wire.Frame
			for _, f := range to(outs, nAlice) {
				if f.Type == wire.TypeFileFailed {
					ff = append(ff, f)
				}
			}
			switch {
			case tc.code == wire.OK && len(ff) != 0:
				t.Fatalf("alice was told %+v", ff)
			case tc.code != wire.OK && (len(ff) != 1 || ff[0].Code != tc.code || ff[0].Text != tc.text || ff[0].Token != token):
				t.Fatalf("alice was told %+v, want %d %q", ff, tc.code, tc.text)
			}
			got := b.take("b")
			wantXOps(t, got, "abort 10")
			if fs := to(got, nBob); len(fs) != 0 {
				t.Fatalf("bob was sent %+v", fs)
			}
			b.gone("a", "b")
		})
	}
}

// token returns the one transfer node a has under way.
func (b *xbus) token() string {
	for tok := range b.nodes["a"].h.xfer.byToken {
		return tok
	}
	b.t.Fatal("no transfer on a")
	return ""
}

// The owner's node refuses an offer as a Fetch is refused on one server:
// the owner is not there any more, or has too many transfers.
func TestClusterTransferOfferRefused(t *testing.T) {
	b := newXBus(t)
	// bob leaves b, and a has not heard of it yet.
	b.nodes["b"].h.Disconnect(nBob, ReasonClosed, b.nodes["b"].now)
	token := func() string {
		r, _ := b.nodes["a"].do(nAlice, wire.Frame{Type: wire.TypeFetch, To: "bob", Name: "f.txt"})
		if r.Code != wire.OK {
			t.Fatalf("fetch: %+v", r)
		}
		return r.Token
	}()
	if f := failed(t, b.take("a"), nAlice); f.Code != wire.ErrNoSuchUser || f.Text != "no user named bob is connected" || f.Token != token {
		t.Fatalf("alice's FileFailed: %+v", f)
	}
	b.gone("a", "b")

	b = newXBus(t)
	// bob serves 4 files to alice and 4 to carol, each node counting its
	// own requests to him; the ninth is refused by his node.
	for range 4 {
		b.fetch("f.txt")
		r, _ := b.nodes["c"].do(nCarol, wire.Frame{Type: wire.TypeFetch, To: "bob", Name: "g.txt"})
		if r.Code != wire.OK {
			t.Fatalf("carol's fetch: %+v", r)
		}
		b.take("b")
	}
	r, _ := b.nodes["a"].do(nAlice, wire.Frame{Type: wire.TypeFetch, To: "bob", Name: "h.txt"})
	if r.Code != wire.OK {
		t.Fatalf("alice's fifth: %+v", r)
	}
	if f := failed(t, b.take("a"), nAlice); f.Code != wire.ErrBusy || f.Text != "bob is already sending 8 files; try again later" || f.Name != "h.txt" {
		t.Fatalf("alice's FileFailed: %+v", f)
	}
	if fs := to(b.take("b"), nBob); len(fs) != 0 {
		t.Fatalf("bob was offered %+v", fs)
	}
	if n := b.nodes["a"].h.Transfers(); n != 4 {
		t.Fatalf("a has %d transfers under way", n)
	}
	if n := b.nodes["b"].h.Transfers(); n != 8 {
		t.Fatalf("b has %d transfers under way", n)
	}
}

// Each user attaches to its own node: the other side's role is refused
// there.
func TestClusterTransferAttachOnTheWrongNode(t *testing.T) {
	b := newXBus(t)
	token := b.fetch("f.txt")
	r, outs := b.nodes["a"].attachData(10, token, wire.RoleOwner)
	if r.Code != wire.ErrNoSuchToken || r.Text != "that side of the transfer is on another server: attach there" || !closes(outs, 10) {
		t.Fatalf("an owner's attach on the requester's node: %+v", r)
	}
	r, outs = b.nodes["b"].attachData(10, token, wire.RoleRequester)
	if r.Code != wire.ErrNoSuchToken || !closes(outs, 10) {
		t.Fatalf("a requester's attach on the owner's node: %+v", r)
	}
	// The transfer goes on.
	if b.nodes["a"].h.Transfers() != 1 || b.nodes["b"].h.Transfers() != 1 {
		t.Fatal("the transfer ended")
	}
}

// The attach deadline ends both halves, the requester told which side
// did not attach.
func TestClusterTransferAttachTimeout(t *testing.T) {
	for _, tc := range []struct {
		who  wire.Code // who attached
		text string
	}{
		{0, "bob did not start sending f.txt within 30s"},
		{wire.RoleRequester, "bob did not start sending f.txt within 30s"},
		{wire.RoleOwner, "your data connection for f.txt was not opened within 30s"},
	} {
		t.Run(fmt.Sprint(tc.who), func(t *testing.T) {
			b := newXBus(t)
			token := b.fetch("f.txt")
			switch tc.who {
			case wire.RoleRequester:
				b.nodes["a"].attachData(10, token, wire.RoleRequester)
			case wire.RoleOwner:
				b.nodes["b"].attachData(10, token, wire.RoleOwner)
			}
			b.take("a")
			b.take("b")
			got := b.advance(29 * time.Second)
			noFailed(t, got["a"])
			got = b.advance(time.Second)
			if f := failed(t, got["a"], nAlice); f.Code != wire.ErrUnavailable || f.Text != tc.text {
				t.Fatalf("alice's FileFailed: %+v", f)
			}
			b.gone("a", "b")
		})
	}
}

// Heartbeats keep a transfer between nodes alive however long its
// stream takes; a node that says nothing for PeerTimeout (dead, cut off)
// has its transfers ended on the other node.
func TestClusterTransferNodeSilent(t *testing.T) {
	b := newXBus(t)
	token := b.piping("f.txt")
	for n, outs := range b.advance(time.Minute) {
		noFailed(t, outs)
		for _, op := range xops(outs) {
			if !strings.HasSuffix(op, " beat") {
				t.Fatalf("node %s did %q", n, op)
			}
		}
	}
	if b.nodes["a"].h.PipeHeard(token, b.nodes["a"].now) != 10 || b.nodes["b"].h.PipeHeard(token, b.nodes["b"].now) != 10 {
		t.Fatal("the transfer ended")
	}

	// b dies: a ends the transfer after PeerTimeout.
	b.down["b"] = true
	got := b.advance(4 * time.Second)
	noFailed(t, got["a"])
	got = b.advance(time.Second)
	f := failed(t, got["a"], nAlice)
	if f.Code != wire.ErrOwnerGone || f.Text != "the transfer of f.txt broke off: bob's server stopped answering" || f.Token != token {
		t.Fatalf("alice's FileFailed: %+v", f)
	}
	wantXOps(t, withoutBeats(got["a"]), "abort 10", `note b end 22 "the transfer of f.txt broke off: bob's server stopped answering"`)
	b.gone("a")

	// a dies: b ends its half, closing bob's data connection.
	b = newXBus(t)
	b.piping("f.txt")
	b.down["a"] = true
	got = b.advance(5 * time.Second)
	if fs := to(got["b"], nBob); len(fs) != 0 {
		t.Fatalf("bob was sent %+v", fs)
	}
	wantXOps(t, withoutBeats(got["b"]), "abort 10", `note a end 15 "the transfer of f.txt broke off: alice's server stopped answering"`)
	b.gone("b")

	// Before the owner's node has the offer, its silence counts too.
	b = newXBus(t)
	b.down["b"] = true
	r, _ := b.nodes["a"].do(nAlice, wire.Frame{Type: wire.TypeFetch, To: "bob", Name: "f.txt"})
	if r.Code != wire.OK {
		t.Fatalf("fetch: %+v", r)
	}
	got = b.advance(5 * time.Second)
	if f := failed(t, got["a"], nAlice); f.Text != "the transfer of f.txt broke off: bob's server stopped answering" {
		t.Fatalf("alice's FileFailed: %+v", f)
	}
	b.gone("a")
}

// Notes that do not fit what a node has are ignored: a note from another
// node than the transfer's, about a transfer that ended, or an offer
// that names this node as the requester's.
func TestClusterTransferStrayNotes(t *testing.T) {
	b := newXBus(t)
	token := b.piping("f.txt")
	a := b.nodes["a"]
	for _, n := range []*PipeNote{
		{Kind: NoteEnd, Node: "c", Code: wire.ErrBusy, Text: "not mine"},
		{Kind: NoteOffer, Node: "a", Requester: "alice", Owner: "alice", File: "x"},
	} {
		if outs := a.h.PipeNote(token, n, a.now); len(outs) != 0 {
			t.Fatalf("%+v did %+v", n, outs)
		}
	}
	if outs := a.h.PipeNote("nope", &PipeNote{Kind: NoteEnd, Node: "b", Code: wire.ErrBusy}, a.now); len(outs) != 0 {
		t.Fatalf("a note about no transfer did %+v", outs)
	}
	if a.h.PipeHeard("nope", a.now) != 0 || a.h.PipeEnd("nope", a.now) != 0 || len(a.h.PipeBroken("nope", "x", a.now)) != 0 {
		t.Fatal("a transfer that does not exist was found")
	}
	if a.h.Transfers() != 1 {
		t.Fatal("the transfer ended")
	}
	// Once the owner's stream ended, the requester's half only flushes:
	// a late failure does not undo it.
	b.call("b", func(h *Hub, now time.Time) []Output { return h.DataClosed(10, DataEOF, now) })
	a.h.PipeEnd(token, a.now)
	if outs := a.h.PipeBroken(token, "late", a.now); len(outs) != 0 {
		t.Fatalf("a late break did %+v", outs)
	}
	if outs := a.h.PipeNote(token, &PipeNote{Kind: NoteEnd, Node: "b", Code: wire.ErrOwnerGone, Text: "late"}, a.now); len(outs) != 0 {
		t.Fatalf("a late end did %+v", outs)
	}
}
