package store

import "sync"

// namesSeen is what the names watch (WatchNames) last saw of each name
// held: the revision of its entry, and its owner. A hand-over or release
// of a name tries its compare-and-set at that revision first, without
// reading the bucket's leader: when the write succeeds, the entry was at
// that revision, so it was what the watch saw, and the write was right.
// When the watch was behind, the write finds another revision and fails,
// and the leader is read as without it. The watch is a hint and never the
// authority; what it saves is a leader read for each of the thousands of
// names a dead node's users take over on the others at once.
//
// A name let go is forgotten, so that it holds an entry for each name
// held, as the hub does; a claim of a free name reads the leader.
type namesSeen struct {
	mu sync.Mutex
	m  map[string]nameSeen // by key
}

type nameSeen struct {
	rev uint64
	o   Owner
}

// saw records key's change at rev: held by o, or let go (o nil).
func (n *namesSeen) saw(key string, rev uint64, o *Owner) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if o == nil {
		delete(n.m, key)
		return
	}
	if n.m == nil {
		n.m = make(map[string]nameSeen)
	}
	n.m[key] = nameSeen{rev, *o}
}

// at is the revision at which the watch last saw o hold key; ok false if
// it did not see o hold it last.
func (n *namesSeen) at(key string, o Owner) (rev uint64, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.m[key]
	if !ok || !e.o.same(o) {
		return 0, false
	}
	return e.rev, true
}

// reset forgets everything, when the watch stops.
func (n *namesSeen) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.m = nil
}

// atSeenRevision makes write, a compare-and-set, at the revision the
// watch last saw o hold key at: errAgain when it saw no such thing (o nil
// too) or the key has moved on since, and the leader must be read.
func (s *Store) atSeenRevision(key string, o *Owner, write func(rev uint64) error) error {
	if o == nil {
		return errAgain
	}
	rev, ok := s.seen.at(key, *o)
	if !ok {
		return errAgain
	}
	return write(rev)
}
