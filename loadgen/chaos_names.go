package loadgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"chat/internal/wire"
	"chat/internal/wireconn"
)

// Observing names and presence across servers. What a server does when
// an account logs in on another is not something loadgen can read from
// one server: it can only watch the sessions. So a takeover probe logs in
// to the account of a session that is up on one server, from another
// server, and asks both sessions to answer a Ping: once the second login
// is acknowledged, the first session must be gone (Bye, takeover) and
// answer nothing. Both answering is the same account logged in on two
// servers at once. The session then comes back as after any loss, which
// takes the name back from the probe.
//
// At the end, an observer logged in on each server asks who is in each
// room (presence), and the Lost notices the sessions were shown during
// the run are judged against when each member was back (chaos_check.go).

// pingIDBit marks the request ids of the probes' Pings on a session's
// connection, whose reader hands their replies to the run (watch);
// wireconn's counter and sayIDBit's Says never get near it.
const pingIDBit = 1 << 30

// probeWait bounds how long a probe waits for the first session's answer
// or Bye, and then for the session to be back.
const probeWait = 5 * time.Second

// presenceWait bounds how long the observers ask again for a room's
// members to be listed right: who is eventually consistent.
const presenceWait = 5 * time.Second

// seenFrame is what a session's reader saw that a probe waits for.
type seenFrame struct {
	typ  wire.Type
	id   uint32
	code wire.Code
}

// nameWatch routes what the sessions' readers see to the probe waiting
// for it. Any goroutine may use it.
type nameWatch struct {
	mu     sync.Mutex
	nextID uint32
	waits  map[uint32]chan seenFrame // by session id
}

func newNameWatch() *nameWatch { return &nameWatch{waits: map[uint32]chan seenFrame{}} }

// await starts watching session id; forget ends it.
func (w *nameWatch) await(id uint32) <-chan seenFrame {
	ch := make(chan seenFrame, 8)
	w.mu.Lock()
	w.waits[id] = ch
	w.mu.Unlock()
	return ch
}

func (w *nameWatch) forget(id uint32) {
	w.mu.Lock()
	delete(w.waits, id)
	w.mu.Unlock()
}

// seen hands f to the probe watching session id, if any; it never blocks.
func (w *nameWatch) seen(id uint32, f seenFrame) {
	w.mu.Lock()
	ch := w.waits[id]
	w.mu.Unlock()
	if ch != nil {
		select {
		case ch <- f:
		default:
		}
	}
}

func (w *nameWatch) pingID() uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextID++
	return pingIDBit | w.nextID&(pingIDBit-1)
}

// watch is the run's sessionRun.aside: it notes the Lost notices, and
// hands a Bye or a probe's Ping reply to the probe.
func (run *chaosRun) watch(s *crashSession, f *wire.Frame) {
	switch {
	case f.Type == wire.TypeNotice && f.Code == wire.NoticeLost:
		if run.closing.Load() {
			return // the run closing its sessions
		}
		n := lostNotice{To: s.name, About: f.Name, Room: f.Room, At: time.Since(run.t0)}
		run.mu.Lock()
		run.lost = append(run.lost, n)
		run.mu.Unlock()
	case f.Type == wire.TypeBye, f.Type == wire.TypeReply && f.ID&pingIDBit != 0:
		run.names.seen(s.id, seenFrame{typ: f.Type, id: f.ID, code: f.Code})
	}
}

// prober runs the takeover probes, one at a time, on its own goroutine.
type prober struct {
	run  *chaosRun
	rng  *rand.Rand    // the choices of session and server; the prober's alone
	wait time.Duration // probeWait, shorter in tests
	done []nameProbe
}

func newProber(run *chaosRun) *prober {
	return &prober{run: run, rng: rand.New(rand.NewPCG(run.seed, 0x6e616d6573)), wait: probeWait} // "names"
}

// loop probes every second or few from the start of the load until
// until, or until stop is closed.
func (p *prober) loop(until time.Time, stop <-chan struct{}) {
	every := min(max(p.run.cfg.Duration/30, time.Second), 3*time.Second)
	next := p.run.t0
	for {
		// A probe that took long is not made up for with a burst.
		next = later(next, time.Now()).Add(every/2 + time.Duration(p.rng.Int64N(int64(every))))
		if next.After(until) || !sleepUntil(next, stop) {
			return
		}
		p.once()
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// once picks a session that is up and another server that is up, and
// probes; it does nothing when there is none.
func (p *prober) once() {
	run := p.run
	s := run.sessions[p.rng.IntN(len(run.sessions))]
	s.mu.Lock()
	c0, from, up := s.c, s.server, s.up
	s.mu.Unlock()
	if !up || run.servers[from].isDown() {
		return
	}
	var others []int
	for i, cs := range run.servers {
		if i != from && !cs.isDown() {
			others = append(others, i)
		}
	}
	if len(others) == 0 {
		return
	}
	to := others[p.rng.IntN(len(others))]
	np := p.probe(s, c0, from, to)
	np.End = time.Since(run.t0)
	p.done = append(p.done, np)
	if np.Outcome != probeTookOver {
		run.logf("takeover probe of %s from %s on %s: %s (%s)", np.Name, np.From, np.To, np.Outcome, np.Note)
	}
}

// probe logs s's account in on server to while s is on from over c0, and
// judges what follows.
func (p *prober) probe(s *crashSession, c0 *wireconn.Conn, from, to int) nameProbe {
	run := p.run
	cfg := &run.cfg
	np := nameProbe{Name: s.name, From: run.servers[from].name, To: run.servers[to].name, At: time.Since(run.t0)}
	seen := run.names.await(s.id)
	defer run.names.forget(s.id)
	c, err := wireconn.Dial(run.servers[to].srv.Addr, wireconn.Options{Timeout: cfg.Timeout})
	if err != nil {
		np.Outcome, np.Note = probeUnclear, "connect: "+errKind(err)
		return np
	}
	defer c.Close()
	if err := c.Hello("loadgen chaos probe", cfg.Timeout); err != nil {
		np.Outcome, np.Note = probeUnclear, "hello: "+errKind(err)
		return np
	}
	r, err := c.Call(&wire.Frame{Type: wire.TypeLogin, Name: s.name, Secret: cfg.Password}, cfg.Timeout)
	switch {
	case err != nil:
		np.Outcome, np.Note = probeUnclear, "login: "+errKind(err)
		return np
	case r.Code != wire.OK:
		np.Outcome, np.Note = probeRefused, fmt.Sprintf("login refused with code %d: %s", r.Code, r.Text)
		return np
	}
	// The second login is acknowledged: from now on the first session
	// must not answer.
	id := run.names.pingID()
	c0.Send(&wire.Frame{Type: wire.TypePing, ID: id}) // a failure shows as its connection ending
	_, newErr := c.CallOK(&wire.Frame{Type: wire.TypePing}, cfg.Timeout)
	np.Outcome, np.Note = p.judge(s, c0, id, seen, newErr)
	if np.Outcome == probeTookOver {
		// Hold the probe's session until the session has taken its
		// account back, so that the probe's end tells its room nothing.
		p.waitBack(s, c0)
	}
	return np
}

// judge waits for what the first session does after the second login:
// a Bye or its connection ending (took over), or an answer to Ping id
// (held twice if the second session answered too).
func (p *prober) judge(s *crashSession, c0 *wireconn.Conn, id uint32, seen <-chan seenFrame, newErr error) (probeOutcome, string) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(p.wait)
	defer deadline.Stop()
	for {
		select {
		case f := <-seen:
			switch {
			case f.typ == wire.TypeBye && f.code == wire.ByeTakeover:
				return probeTookOver, "Bye, takeover"
			case f.typ == wire.TypeBye:
				return probeTookOver, fmt.Sprintf("Bye code %d", f.code)
			case f.id != id:
				continue // a reply to an earlier probe's Ping
			case f.code != wire.OK:
				return probeTookOver, fmt.Sprintf("its Ping was refused with code %d", f.code)
			case newErr != nil:
				return probeUnclear, "the first session answered its Ping and the second did not: " + errKind(newErr)
			}
			return probeHeldTwice, "no takeover Bye"
		case <-tick.C:
			s.mu.Lock()
			gone := s.c != c0
			s.mu.Unlock()
			if gone {
				return probeTookOver, "its connection closed without a Bye"
			}
		case <-deadline.C:
			return probeUnclear, fmt.Sprintf("the first session neither answered its Ping nor said Bye within %v", p.wait)
		}
	}
}

// waitBack waits, within probeWait, until s is up on a connection other
// than c0.
func (p *prober) waitBack(s *crashSession, c0 *wireconn.Conn) {
	deadline := time.Now().Add(p.wait)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		back := s.up && s.c != c0
		s.mu.Unlock()
		if back {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// observe asks every server, through an observer logged in there, who is
// in each room, until every view is right or presenceWait has passed; it
// returns the last views.
func (run *chaosRun) observe() []presenceView {
	members := run.roomMembers()
	rooms := sortedRooms(members)
	views := make([][]presenceView, len(run.servers))
	var wg sync.WaitGroup
	for k, cs := range run.servers {
		wg.Go(func() { views[k] = run.observeServer(k, cs, rooms, members) })
	}
	wg.Wait()
	return slices.Concat(views...)
}

// observeServer is observe for one server, with observer account k.
func (run *chaosRun) observeServer(k int, cs *chaosServer, rooms []string, members map[string][]string) []presenceView {
	cfg := &run.cfg
	failed := func(err error) []presenceView {
		var views []presenceView
		for _, r := range rooms {
			views = append(views, presenceView{Server: cs.name, Room: r, Err: errKind(err)})
		}
		return views
	}
	c, err := wireconn.Dial(cs.srv.Addr, wireconn.Options{Timeout: cfg.Timeout})
	if err != nil {
		return failed(err)
	}
	defer c.Close()
	if err := c.Hello("loadgen chaos observer", cfg.Timeout); err != nil {
		return failed(err)
	}
	if err := c.Login(cfg.probeName(k), cfg.Password, cfg.Timeout); err != nil {
		return failed(err)
	}
	deadline := time.Now().Add(presenceWait)
	for {
		var views []presenceView
		for _, r := range rooms {
			v := presenceView{Server: cs.name, Room: r}
			reply, err := c.CallOK(&wire.Frame{Type: wire.TypeWho, Room: r}, cfg.Timeout)
			if err != nil {
				v.Err = errKind(err)
			} else {
				for _, u := range reply.Users {
					v.Listed = append(v.Listed, u.Name)
				}
			}
			views = append(views, v)
		}
		if len(checkPresence(views, members)) == 0 || time.Now().After(deadline) {
			return views
		}
		time.Sleep(100 * time.Millisecond)
	}
}
