package server

import (
	"sync"

	"chat/internal/store"
)

// Reads of a room's last stored message, for the Enters that wait for
// this server's stream to show it (hub.StoreCatchUp), are shared: when a
// node dies, its thousands of users enter their rooms on the others at
// once, dozens to a room. A read answers every Enter asked before it
// began, as a read of its own would have: the last message it finds is
// at least the one the store held when each was asked. One read at most
// is under way for a room; the Enters that come meanwhile wait for the
// next.

// lastReads are the reads of rooms' last messages under way, by room.
type lastReads struct {
	mu    sync.Mutex
	rooms map[string]*lastRead
}

// lastRead is a room's read under way: the Enters waiting for the next.
type lastRead struct {
	waiting []func([]store.Stored, error)
}

// lastOf reads room's last stored message for done, which is called
// once, from a store goroutine, unless lastOf returns an error (the
// store's refusal, as Store.Page's).
func (d *durable) lastOf(room string, done func([]store.Stored, error)) error {
	l := &d.lasts
	l.mu.Lock()
	if r := l.rooms[room]; r != nil {
		r.waiting = append(r.waiting, done)
		l.mu.Unlock()
		return nil
	}
	if l.rooms == nil {
		l.rooms = make(map[string]*lastRead)
	}
	l.rooms[room] = &lastRead{}
	l.mu.Unlock()
	err := d.st.Page(room, 0, 1, func(msgs []store.Stored, err error) {
		done(msgs, err)
		d.nextRead(room)
	})
	if err != nil {
		d.nextRead(room)
	}
	return err
}

// nextRead reads room again for the Enters that asked while a read was
// under way, until none did.
func (d *durable) nextRead(room string) {
	l := &d.lasts
	l.mu.Lock()
	r := l.rooms[room]
	asked := r.waiting
	r.waiting = nil
	if len(asked) == 0 {
		delete(l.rooms, room)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	answer := func(msgs []store.Stored, err error) {
		for _, done := range asked {
			done(msgs, err)
		}
		d.nextRead(room)
	}
	if err := d.st.Page(room, 0, 1, answer); err != nil {
		answer(nil, err)
	}
}
