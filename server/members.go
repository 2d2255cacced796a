package server

import (
	"errors"
	"sync"
	"time"

	"chat/internal/store"
)

// This node's members in the store's members bucket: what a node starting
// reads of who is in which room on the others, and what a cleanup finds
// of a dead one. A record lost would leave a user out of their room on
// every node started after, so none is: the loop says what each record
// should be (set), and flush writes the records that are not so yet,
// one write under way per record at a time, again until the store takes
// it. A record that changes while its write is under way is written
// again after; one the store refused waits memberRetry, or for the next
// pass if its queue was full.

// memberRetry is how long a record whose write failed waits before the
// next try.
const memberRetry = time.Second

// memberKey is a record: name in room.
type memberKey struct{ room, name string }

// memberRecord is what the loop wants of a record and how its write goes.
type memberRecord struct {
	in      bool      // name is in room here: recorded as this node's
	writing bool      // a write is under way
	dirty   bool      // the record is not what in says yet
	queued  bool      // in the queue of records to write
	retryAt time.Time // a failed write's next try, zero when none failed
}

// memberSync keeps the members bucket in step with this node's rooms.
// What a pass does grows with the records to write, not with those kept:
// the queue has the records ready to write, later those waiting to try
// again after a failure.
type memberSync struct {
	mu      sync.Mutex
	records map[memberKey]*memberRecord // dirty or under way; the others are forgotten
	queue   []memberKey
	later   []memberKey
	failed  error // the last failure logged, so that each is logged once
}

// set says whether name is in room on this node; flush writes it.
func (m *memberSync) set(room, name string, in bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.records == nil {
		m.records = make(map[memberKey]*memberRecord)
	}
	k := memberKey{room, name}
	r := m.records[k]
	if r == nil {
		r = &memberRecord{}
		m.records[k] = r
	}
	r.in, r.dirty, r.retryAt = in, true, time.Time{}
	m.enqueue(k, r)
}

// enqueue puts a dirty record in the queue unless it is there or its
// write is under way (written queues it again); m.mu held.
func (m *memberSync) enqueue(k memberKey, r *memberRecord) {
	if r.dirty && !r.writing && !r.queued {
		r.queued = true
		m.queue = append(m.queue, k)
	}
}

// pending reports whether a record waits to be written, and when the
// first that failed may be tried again (zero: now, or none failed).
func (m *memberSync) pending() (waiting bool, next time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.queue) > 0 {
		return true, time.Time{}
	}
	for _, k := range m.later {
		if r := m.records[k]; r != nil && !r.retryAt.IsZero() && (!waiting || r.retryAt.Before(next)) {
			waiting, next = true, r.retryAt
		}
	}
	return waiting, next
}

// flushMembers writes the records that are not what the loop said, as
// far as the store has room.
func (s *Server) flushMembers(now time.Time) {
	cl := s.cluster
	if cl == nil {
		return
	}
	st := s.durable.st
	cl.members.flush(now, func(k memberKey, in bool, done func(error)) error {
		if in {
			return st.PutMember(k.room, k.name, cl.node, done)
		}
		return st.DeleteMember(k.room, k.name, cl.node, done)
	}, s.cfg.Logf, s.wakeup.wake)
}

// flush starts the writes of the records that are not what set said,
// through write, until write refuses for a full queue: the next flush
// goes on. Their outcomes come to written, which calls wake.
func (m *memberSync) flush(now time.Time, write func(k memberKey, in bool, done func(error)) error, logf func(string, ...any), wake func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.later[:0]
	for _, k := range m.later {
		r := m.records[k]
		switch {
		case r == nil || r.retryAt.IsZero():
			// Written meanwhile, or set again and queued.
		case now.Before(r.retryAt):
			kept = append(kept, k)
		default:
			r.retryAt = time.Time{}
			m.enqueue(k, r)
		}
	}
	clear(m.later[len(kept):])
	m.later = kept
	for len(m.queue) > 0 {
		k := m.queue[0]
		r := m.records[k]
		if r == nil || r.writing || !r.dirty || !r.retryAt.IsZero() {
			m.queue = m.queue[1:]
			if r != nil {
				r.queued = false
			}
			continue
		}
		in := r.in
		err := write(k, in, func(err error) {
			m.written(k, r, in, err, logf)
			wake()
		})
		if errors.Is(err, store.ErrBusy) {
			return
		}
		m.queue = m.queue[1:]
		r.queued = false
		if err != nil {
			m.failedWrite(k, r, now, err, logf)
			continue
		}
		r.writing, r.dirty = true, false
	}
	m.queue = nil // let go of the array a burst grew
}

// written takes the outcome of a record's write, from a registrar
// goroutine: the record is done with if it is still what was written,
// and written again otherwise.
func (m *memberSync) written(k memberKey, r *memberRecord, in bool, err error, logf func(string, ...any)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.writing = false
	switch {
	case err != nil:
		r.dirty = true
		m.failedWrite(k, r, time.Now(), err, logf)
	case r.in != in || r.dirty:
		r.dirty = true
		m.enqueue(k, r)
	default:
		delete(m.records, k)
		if m.failed != nil && len(m.records) == 0 {
			m.failed = nil
			logf("cluster: the members bucket is up to date again")
		}
	}
}

// failedWrite has a record tried again memberRetry after now; m.mu held.
func (m *memberSync) failedWrite(k memberKey, r *memberRecord, now time.Time, err error, logf func(string, ...any)) {
	r.retryAt = now.Add(memberRetry)
	m.later = append(m.later, k)
	m.noteFailure(err, logf)
}

// noteFailure logs a failure to keep the members bucket, once until it is
// up to date again; m.mu held.
func (m *memberSync) noteFailure(err error, logf func(string, ...any)) {
	if m.failed == nil {
		logf("cluster: cannot keep the members bucket (%v); its records are written again until they are", err)
	}
	m.failed = err
}
