package server

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

	"chat/internal/store"
	"chat/internal/wire"
	"chat/server/hub"
)

// Cleaning up after a dead node. One survivor, the one that wins the
// node's cleanup key, waits lostGrace for its users to come back on the
// other nodes, then lets go of the names the dead node's sessions still
// hold, tells the rooms of those users that they were lost, and forgets
// them as members. A node may die with thousands of users: their names,
// members and notices go to the store a window at a time (paced), so
// that none is refused for a full queue.

// cleanupWindow is how many of a cleanup's store calls are under way at
// once.
const cleanupWindow = 64

// busyRetry is how long a cleanup waits before it offers again a call
// the store refused for a full queue.
const busyRetry = 20 * time.Millisecond

// cleanUpAfter tells the rooms of a dead node's users who did not come
// back elsewhere that they were lost, and lets their names go, if this
// node is the one to do it (the first to create its cleanup key). It
// waits lostGrace first, off the loop, for those coming back.
func (s *Server) cleanUpAfter(node string) {
	s.cfg.Logf("cluster: node %s's lease ended: the names its sessions held may be taken here", node)
	st := s.durable.st
	err := st.ClaimCleanup(node, func(won bool, err error) {
		if err != nil || !won {
			return
		}
		time.AfterFunc(lostGrace, func() { s.readDead(st, node) })
	})
	if err != nil {
		s.cfg.Logf("cluster: cannot clean up after dead node %s: %v", node, err)
	}
}

// lostOnly keeps of a dead node's names those of the sessions it lost:
// all, if it holds no lease (lease nil); if it took a new one since, those
// of its sessions before that lease's first, the others being users back
// on it. back says whether it took a new lease.
func lostOnly(names map[string]store.Owner, lease []byte) (back bool, err error) {
	if lease == nil {
		return false, nil
	}
	var li leaseInfo
	if err := json.Unmarshal(lease, &li); err != nil {
		return true, err
	}
	for name, o := range names {
		if hub.SessionID(o.Session) >= li.SessionsFrom {
			delete(names, name)
		}
	}
	return true, nil
}

// readDead reads what a dead node held, its names and its users' rooms,
// and then its lease once more, and hands them to lostAll, on a goroutine
// of its own. It runs after lostGrace, when the server may have closed
// st: its calls then fail.
func (s *Server) readDead(st *store.Store, node string) {
	fail := func(what string, err error) {
		s.cfg.Logf("cluster: cannot read the %s of dead node %s: %v", what, node, err)
	}
	err := st.NamesOf(node, func(names map[string]store.Owner, err error) {
		if err != nil {
			fail("names", err)
			return
		}
		err = st.MembersOf(node, func(members []store.Member, err error) {
			if err != nil {
				fail("members", err)
				return
			}
			err = st.Lease(node, func(lease []byte, err error) {
				if err != nil {
					fail("lease", err)
					return
				}
				go s.lostAll(st, node, names, members, lease)
			})
			if err != nil {
				fail("lease", err)
			}
		})
		if err != nil {
			fail("members", err)
		}
	})
	if err != nil {
		fail("names", err)
	}
}

// lostAll lets go of the names a dead node's sessions still hold (the
// others' users came back elsewhere), tells the rooms of those users that
// they were lost, and forgets them as members. A node cut off from NATS
// for its lease closed its sessions and may have taken a lease again
// since (lease, read after the names): its users are then those of its
// sessions before that lease's first, and what its later sessions hold
// is left alone.
func (s *Server) lostAll(st *store.Store, node string, names map[string]store.Owner, members []store.Member, lease []byte) {
	complain := func(what string, err error) {
		if err != nil {
			s.cfg.Logf("cluster: cleaning up after dead node %s: cannot %s: %v", node, what, err)
		}
	}
	back, err := lostOnly(names, lease)
	if err != nil {
		s.cfg.Logf("cluster: node %s is back, with a lease that cannot be read (%v): its users are left to it", node, err)
		return
	}
	// A user is lost whose name the dead session still held when let go
	// here; one it cannot tell about is taken as lost too, as it was
	// the dead node's when read.
	var mu sync.Mutex
	lost := map[string]bool{}
	var releases []func(done func()) error
	for name, o := range names {
		releases = append(releases, func(done func()) error {
			return st.ReleaseName(name, o, func(released bool, err error) {
				complain("let go of the name "+name, err)
				mu.Lock()
				lost[name] = lost[name] || released || err != nil
				mu.Unlock()
				done()
			})
		})
	}
	complain("let go of the names", paced(releases))

	rooms := map[string][]string{}
	var forgets []func(done func()) error
	for _, m := range members {
		if lost[m.Name] {
			rooms[m.Name] = append(rooms[m.Name], m.Room)
		}
		if lost[m.Name] || !back {
			forgets = append(forgets, func(done func()) error {
				return st.DeleteMember(m.Room, m.Name, node, func(err error) {
					complain("forget "+m.Name+" in "+m.Room, err)
					done()
				})
			})
		}
	}
	var notices []func(done func()) error
	for name, rs := range rooms {
		ev := hub.LostEvent(node, name, rs, time.Now())
		data, _ := json.Marshal(ev)
		notices = append(notices, func(done func()) error {
			return st.PublishEvent(ev.Rooms[0], data, func(err error) {
				complain("tell the rooms of "+name, err)
				done()
			})
		})
	}
	complain("tell the rooms", paced(notices))
	complain("forget the members", paced(forgets))
	if back {
		s.cfg.Logf("cluster: node %s lost its lease and took a new one: %s of its sessions before were lost", node, wire.Plural(len(rooms), "user", "users"))
		return
	}
	s.cfg.Logf("cluster: node %s is gone: %s lost, the others came back elsewhere or were in no room", node, wire.Plural(len(rooms), "user", "users"))
}

// paced makes calls, each an asynchronous store call that calls its done
// once when it returns nil, at most cleanupWindow under way at once, and
// returns once all are done. A call the store refuses for a full queue is
// offered again busyRetry later; the first other refusal is returned,
// once the rest are done.
func paced(calls []func(done func()) error) error {
	window := make(chan struct{}, cleanupWindow)
	var wg sync.WaitGroup
	done := func() {
		<-window
		wg.Done()
	}
	var refused error
	for _, call := range calls {
		window <- struct{}{}
		wg.Add(1)
		err := call(done)
		for errors.Is(err, store.ErrBusy) {
			time.Sleep(busyRetry)
			err = call(done)
		}
		if err != nil {
			if refused == nil {
				refused = err
			}
			done()
		}
	}
	wg.Wait()
	return refused
}
