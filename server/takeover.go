package server

import (
	"errors"
	"time"

	"chat/internal/store"
	"chat/server/hub"
)

// Taking a name over from another node. A login for an account another
// node holds asks that node to close the session (ClaimAsk); a node that
// does not answer may be dead, but its sessions may still be up until its
// lease expires, so the login waits for that: the name is then the
// login's to replace. When a node with thousands of users dies, their
// clients log in on the others at once, and all wait for the one lease:
// what they ask of NATS must not grow with their number. So a node found
// silent is not asked again by every login, only after takeoverRetry, and
// the logins that wonder whether its lease is gone share one read of it.
// When the watch sees the lease end, the logins waiting to ask again ask
// at once: their names are theirs from that moment, and thousands of
// them would otherwise trickle in over the next retry.

// nodeWatch is what the takeovers know of another node beyond the watch.
type nodeWatch struct {
	// silentAt is when an ask found nobody serving the node's takeovers,
	// or no answer: until takeoverRetry after it, logins wait without
	// asking.
	silentAt time.Time
	// reading is set while a read of its lease is under way; waiting are
	// the logins that asked after it began, for the next.
	reading bool
	waiting []func(dead bool)
	// asleep are the logins waiting for their next ask, each by its
	// timer: when the watch sees the node's lease end they ask at once,
	// without waiting for their timers.
	asleep map[*time.Timer]func()
}

// watchOf is the nodeWatch of node, made if there is none; cl.mu held.
func (cl *cluster) watchOf(node string) *nodeWatch {
	w := cl.watched[node]
	if w == nil {
		w = &nodeWatch{}
		if cl.watched == nil {
			cl.watched = make(map[string]*nodeWatch)
		}
		cl.watched[node] = w
	}
	return w
}

// forget drops what the takeovers knew of node, when the watch saw its
// lease end or begin; cl.mu held. A lease read under way goes on with
// those who asked for it. The logins asleep are returned, to be woken
// (out of cl.mu) when the lease ended: the name they wait for is theirs.
func (cl *cluster) forget(node string) (asleep []func()) {
	w := cl.watched[node]
	if w == nil {
		return nil
	}
	delete(cl.watched, node)
	for t, again := range w.asleep {
		// A timer that fired already has its func waiting for cl.mu: it
		// finds itself still asleep, and asks.
		if t.Stop() {
			asleep = append(asleep, again)
			delete(w.asleep, t)
		}
	}
	return asleep
}

// sleep calls again after cl.retry, or sooner, from the watch's wake-up
// when forget finds node's lease ended; exactly once either way.
func (cl *cluster) sleep(node string, again func()) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	w := cl.watchOf(node)
	var t *time.Timer
	t = time.AfterFunc(cl.retry, func() {
		cl.mu.Lock()
		_, mine := w.asleep[t] // not woken by forget
		delete(w.asleep, t)
		cl.mu.Unlock()
		if mine {
			again()
		}
	})
	if w.asleep == nil {
		w.asleep = make(map[*time.Timer]func())
	}
	w.asleep[t] = again
}

// askTakeover asks the node holding c's name to close its session. A node
// that does not answer is asked again until its lease expires (it is then
// dead, and the name is the login's to replace) or until deadline.
func (s *Server) askTakeover(c *hub.NameClaim, deadline time.Time, finish func(*store.Owner, error)) {
	cl := s.cluster
	node := c.From.Node
	s.ifDead(node, func(dead bool) {
		if dead {
			finish(nil, nil)
			return
		}
		cl.mu.Lock()
		silent := time.Since(cl.watchOf(node).silentAt) < cl.retry
		cl.mu.Unlock()
		if silent {
			s.waitForTakeover(c, deadline, finish, nil)
			return
		}
		err := s.durable.st.AskTakeover(node, c.Name, c.From.Session, takeoverWait, func(err error) {
			if err == nil {
				finish(nil, nil)
				return
			}
			if errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrTimeout) {
				cl.mu.Lock()
				cl.watchOf(node).silentAt = time.Now()
				cl.mu.Unlock()
			}
			s.waitForTakeover(c, deadline, finish, err)
		})
		if errors.Is(err, store.ErrBusy) {
			// Too many asks already, most likely of this same node:
			// wait with them.
			s.waitForTakeover(c, deadline, finish, err)
		} else if err != nil {
			finish(nil, err)
		}
	})
}

// waitForTakeover asks again after takeoverRetry, for a node that did not
// answer (why), or gives up with why once deadline has passed: the node
// is gone (no responder) or cut off (no answer), but its lease may not
// be, and its sessions may still be up, so the name is not the login's
// until the lease expires. Meanwhile the waiting client is shown that
// the server is alive.
func (s *Server) waitForTakeover(c *hub.NameClaim, deadline time.Time, finish func(*store.Owner, error), why error) {
	if time.Now().After(deadline) {
		if why == nil {
			why = errors.New("it did not answer")
		}
		finish(nil, why)
		return
	}
	cl := s.cluster
	cl.mu.Lock()
	cl.waiting = append(cl.waiting, c.Session)
	cl.mu.Unlock()
	s.wakeup.wake()
	if errors.Is(why, store.ErrTimeout) {
		s.askTakeover(c, deadline, finish) // it waited already
		return
	}
	cl.sleep(c.From.Node, func() { s.askTakeover(c, deadline, finish) })
}

// ifDead calls then with whether node is dead, its lease gone. The watch's
// word is taken for a lease held; one it saw end is read again from the
// bucket's leader, since the watch may be behind (its consumer on a
// replica cut off, or catching up) and the node may have taken a lease
// again: a name is given to another session only when its node's lease
// is surely gone. A lease that cannot be read is taken as held.
//
// The logins asking about one node share the reads: each read answers
// those who asked before it began (an answer from a read begun earlier
// could predate the session they found holding their name), and one
// read at most is under way for a node.
func (s *Server) ifDead(node string, then func(dead bool)) {
	cl := s.cluster
	cl.mu.Lock()
	if cl.alive[node] {
		cl.mu.Unlock()
		then(false)
		return
	}
	w := cl.watchOf(node)
	w.waiting = append(w.waiting, then)
	start := !w.reading
	w.reading = true
	cl.mu.Unlock()
	if start {
		s.readLease(node, w)
	}
}

// readLease reads node's lease for the logins waiting on w, and again for
// those who came meanwhile, until none wait.
func (s *Server) readLease(node string, w *nodeWatch) {
	cl := s.cluster
	cl.mu.Lock()
	asked := w.waiting
	w.waiting = nil
	cl.mu.Unlock()
	answer := func(dead bool) {
		for _, then := range asked {
			then(dead)
		}
		cl.mu.Lock()
		more := len(w.waiting) > 0
		w.reading = more
		if !more && w.silentAt.IsZero() && len(w.asleep) == 0 && cl.watched[node] == w {
			delete(cl.watched, node)
		}
		cl.mu.Unlock()
		if more {
			s.readLease(node, w)
		}
	}
	err := s.durable.st.Lease(node, func(lease []byte, err error) { answer(err == nil && lease == nil) })
	if err != nil {
		answer(false)
	}
}
