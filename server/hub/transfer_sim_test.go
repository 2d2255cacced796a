package hub

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"chat/internal/wire"
)

// TestHubTransferSimulation drives the hub's transfers with random
// fetches, attaches, refusals, data connections ending, chat sessions
// leaving and time passing, and checks after every step:
//   - every request gets exactly one reply;
//   - the transfer bookkeeping is consistent (counts, data sessions, the
//     chat sessions a transfer refers to are there);
//   - data sessions get nothing but their Attach's reply, are no users, and
//     a relay op names only data sessions the hub knew;
//   - a FileFailed goes only to the requester of a transfer that ended,
//     once; a broadcast never goes back to its sender.
func TestHubTransferSimulation(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { simulateTransfers(t, seed, 5000) })
	}
}

type xsim struct {
	t      *testing.T
	rng    *rand.Rand
	h      *Hub
	now    time.Time
	next   SessionID
	chat   []SessionID // chat sessions connected (with hello)
	data   []SessionID // data sessions the hub accepted
	tokens []string    // every token handed out
	ids    map[SessionID]uint32
	stats  map[string]int
}

func simulateTransfers(t *testing.T, seed uint64, steps int) {
	n := 0
	s := &xsim{
		t:   t,
		rng: rand.New(rand.NewPCG(seed, seed*31)),
		h: New(Config{Guests: true, Transfer: TransferConfig{
			NewToken:      func() string { n++; return fmt.Sprintf("t%d", n) },
			PerOwner:      3,
			PerRequester:  4,
			MaxTransfers:  8,
			AttachTimeout: 30 * time.Second,
		}}),
		now:   t0,
		ids:   map[SessionID]uint32{},
		stats: map[string]int{},
	}
	for range steps {
		s.now = s.now.Add(time.Duration(s.rng.IntN(3000)) * time.Millisecond)
		s.step()
	}
	t.Logf("%v", s.stats)
	s.check(s.h.Shutdown(s.now), 0, "shutdown", 0)
	if s.h.Transfers() != 0 || len(s.h.xfer.data) != 0 {
		t.Fatalf("after shutdown: %d transfers", s.h.Transfers())
	}
}

// liveTokens returns the tokens of the transfers under way, sorted.
func (s *xsim) liveTokens() []string {
	var ts []string
	for tok := range s.h.xfer.byToken {
		ts = append(ts, tok)
	}
	slices.Sort(ts)
	return ts
}

func (s *xsim) pick(ids []SessionID) SessionID { return ids[s.rng.IntN(len(ids))] }

func (s *xsim) request(sid SessionID, f *wire.Frame) {
	s.ids[sid]++
	f.ID = s.ids[sid]
	s.check(s.h.Handle(sid, f, s.now), sid, f.Type.String(), f.ID)
}

func (s *xsim) step() {
	names := []string{"ann", "ben", "cat", "dan", "eve", "fay"}
	r := s.rng.IntN(100)
	switch {
	case r < 5 && len(s.chat) < 8 || len(s.chat) < 3:
		s.next++
		sid := s.next
		s.h.Connect(sid, "sim", s.now)
		s.chat = append(s.chat, sid)
		s.request(sid, &wire.Frame{Type: wire.TypeHello, Version: wire.Version})
		name := names[s.rng.IntN(len(names))]
		for _, n := range names {
			if s.h.names[n] == nil {
				name = n
				break
			}
		}
		s.request(sid, &wire.Frame{Type: wire.TypeClaim, Name: name})
	case r < 10: // a chat session leaves
		i := s.rng.IntN(len(s.chat))
		sid := s.chat[i]
		s.chat = append(s.chat[:i], s.chat[i+1:]...)
		s.check(s.h.Disconnect(sid, ReasonLost, s.now), 0, "disconnect", 0)
	case r < 12:
		s.request(s.pick(s.chat), &wire.Frame{Type: wire.TypeLogout})
	case r < 15:
		s.request(s.pick(s.chat), &wire.Frame{Type: wire.TypeClaim, Name: names[s.rng.IntN(len(names))]})
	case r < 35:
		s.request(s.pick(s.chat), &wire.Frame{Type: wire.TypeFetch, To: names[s.rng.IntN(len(names))], Name: "f"})
	case r < 55: // a data connection attaches
		s.next++
		sid := s.next
		s.h.Connect(sid, "sim", s.now)
		tok, role := "bogus", wire.Code(1+s.rng.IntN(2))
		if live := s.liveTokens(); len(live) > 0 && s.rng.IntN(10) < 7 {
			tok = live[s.rng.IntN(len(live))]
			if tr := s.h.xfer.byToken[tok]; s.rng.IntN(5) > 0 {
				role = wire.RoleOwner
				if tr.ownerData != 0 {
					role = wire.RoleRequester
				}
			}
		} else if len(s.tokens) > 0 && s.rng.IntN(2) == 0 {
			tok = s.tokens[s.rng.IntN(len(s.tokens))]
		}
		s.request(sid, &wire.Frame{Type: wire.TypeAttach, Token: tok, Code: role})
		if s.h.IsData(sid) {
			s.data = append(s.data, sid)
		} else {
			s.check(s.h.Disconnect(sid, ReasonClosed, s.now), 0, "disconnect", 0)
		}
	case r < 62:
		if len(s.tokens) > 0 {
			tok := s.tokens[s.rng.IntN(len(s.tokens))]
			codes := []wire.Code{wire.ErrNoSuchFile, wire.ErrUnreadable, wire.ErrBusy, wire.OK}
			s.request(s.pick(s.chat), &wire.Frame{Type: wire.TypeRefuse, Token: tok, Code: codes[s.rng.IntN(len(codes))]})
		}
	case r < 80: // a data connection ends
		if len(s.data) > 0 {
			i := s.rng.IntN(len(s.data))
			sid := s.data[i]
			s.data = append(s.data[:i], s.data[i+1:]...)
			if s.rng.IntN(3) == 0 {
				s.check(s.h.Disconnect(sid, ReasonLost, s.now), 0, "disconnect", 0)
			} else {
				s.check(s.h.DataClosed(sid, DataEnd(s.rng.IntN(3)), s.now), 0, "dataclosed", 0)
			}
		}
	case r < 85:
		s.request(s.pick(s.chat), &wire.Frame{Type: wire.TypeBroadcast, Text: "hi"})
	default:
		s.check(s.h.Tick(s.now), 0, "tick", 0)
	}
}

// check verifies one call's outputs; sid and id name the request, if any.
func (s *xsim) check(outs []Output, sid SessionID, what string, id uint32) {
	t := s.t
	t.Helper()
	replies := 0
	failedTo := map[string]int{}
	var sender string
	if what == "broadcast" {
		sender = s.h.Name(sid)
	}
	for _, o := range outs {
		if o.Relay != nil {
			s.stats[fmt.Sprint("relay", o.Relay.Kind)]++
			if o.Relay.Kind == RelayAbort && s.h.IsData(o.To) {
				t.Fatalf("%s: abort of %d, which the hub still keeps", what, o.To)
			}
			if o.Relay.Kind == RelayPipe && (!s.h.IsData(o.To) || !s.h.IsData(o.Relay.Peer)) {
				t.Fatalf("%s: pipe of unknown data sessions %+v", what, o)
			}
			if o.Relay.Kind == RelayAbort {
				for i, d := range s.data {
					if d == o.To {
						s.data = append(s.data[:i], s.data[i+1:]...)
						break
					}
				}
			}
			continue
		}
		f := o.Frame
		if f == nil {
			continue
		}
		s.stats[f.Type.String()+fmt.Sprint(f.Code)]++
		if s.h.IsData(o.To) && !(o.To == sid && f.Type == wire.TypeReply) {
			t.Fatalf("%s: %+v to data session %d", what, f, o.To)
		}
		switch f.Type {
		case wire.TypeReply:
			if o.To != sid || f.ID != id {
				t.Fatalf("%s: stray reply %+v to %d", what, f, o.To)
			}
			replies++
		case wire.TypeFileFailed:
			failedTo[f.Token]++
			if failedTo[f.Token] > 1 || s.h.xfer.byToken[f.Token] != nil {
				t.Fatalf("%s: FileFailed for %s, which goes on or was told twice", what, f.Token)
			}
		case wire.TypeMessage:
			if what == "broadcast" && (o.To == sid || f.From != sender) {
				t.Fatalf("broadcast %+v to %d from %d", f, o.To, sid)
			}
		case wire.TypeFileOffer:
			s.tokens = append(s.tokens, f.Token)
		}
	}
	if id != 0 && replies != 1 {
		t.Fatalf("%s %d of %d: %d replies: %+v", what, id, sid, replies, outs)
	}
	s.invariants()
}

func (s *xsim) invariants() {
	t := s.t
	t.Helper()
	x := &s.h.xfer
	owners, reqs := map[*session]int{}, map[*session]int{}
	attached := 0
	for tok, tr := range x.byToken {
		if tr.token != tok {
			t.Fatalf("transfer %s under %s", tr.token, tok)
		}
		owners[tr.owner]++
		reqs[tr.requester]++
		if s.h.sessions[tr.requester.id] != tr.requester {
			t.Fatalf("transfer %s: requester %d gone", tok, tr.requester.id)
		}
		if !tr.sent && s.h.sessions[tr.owner.id] != tr.owner {
			t.Fatalf("transfer %s: owner %d gone", tok, tr.owner.id)
		}
		if tr.piping != (tr.ownerData != 0 && tr.reqData != 0) && !tr.sent {
			t.Fatalf("transfer %s: piping %v with data %d %d", tok, tr.piping, tr.ownerData, tr.reqData)
		}
		for _, d := range []SessionID{tr.ownerData, tr.reqData} {
			if d != 0 {
				attached++
				if x.data[d] != tr || s.h.sessions[d] != nil {
					t.Fatalf("transfer %s: data session %d", tok, d)
				}
			}
		}
	}
	if attached != len(x.data) {
		t.Fatalf("%d data sessions, %d attached", len(x.data), attached)
	}
	for m, want := range map[string]map[*session]int{"owner": owners, "requester": reqs} {
		got := x.asOwner
		if m == "requester" {
			got = x.asRequester
		}
		if len(got) != len(want) {
			t.Fatalf("%s counts %v, want %v", m, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s count of %d: %d, want %d", m, k.id, got[k], v)
			}
		}
	}
	if len(x.byToken) > s.h.cfg.Transfer.MaxTransfers {
		t.Fatalf("%d transfers", len(x.byToken))
	}
	for _, u := range s.h.names {
		if s.h.IsData(u.id) {
			t.Fatalf("data session %d has a name", u.id)
		}
	}
}
