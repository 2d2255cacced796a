package server

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"chat/internal/store"
)

// memberWrites is a fake store for memberSync: it takes writes while it
// has room, and keeps them until the test finishes them.
type memberWrites struct {
	room    int
	started []string
	done    []func(error)
}

func (w *memberWrites) write(k memberKey, in bool, done func(error)) error {
	if w.room == 0 {
		return store.ErrBusy
	}
	w.room--
	w.started = append(w.started, fmt.Sprintf("%s/%s=%v", k.room, k.name, in))
	w.done = append(w.done, done)
	return nil
}

// finish ends the write i started with err.
func (w *memberWrites) finish(i int, err error) { w.done[i](err) }

// No record of this node's members is lost: a write the store has no
// room for waits for the next flush, one that failed is tried again
// after memberRetry, one write at a time per record, and a record
// changed while its write was under way is written again with what it
// is now.
func TestMemberSyncWritesEveryRecordUntilTaken(t *testing.T) {
	var m memberSync
	w := &memberWrites{room: 1}
	now := time.Now()
	flush := func() { m.flush(now, w.write, t.Logf, func() {}) }
	pending := func() bool { waiting, _ := m.pending(); return waiting }

	m.set("lounge", "alice", true)
	m.set("lounge", "bob", true)
	flush()
	if len(w.started) != 1 || !pending() {
		t.Fatalf("one write with room for one: %v, pending %v", w.started, pending())
	}
	w.room = 10
	flush()
	if len(w.started) != 2 || pending() {
		t.Fatalf("the other on the next flush: %v, pending %v", w.started, pending())
	}
	// alice leaves while her entry is being written: one write at a time,
	// then the leave.
	first := w.started[0]
	m.set("lounge", first[len("lounge/"):len(first)-len("=true")], false)
	flush()
	if len(w.started) != 2 {
		t.Fatalf("a second write of a record under way: %v", w.started)
	}
	w.finish(0, nil)
	flush()
	if len(w.started) != 3 || w.started[2] != first[:len(first)-len("true")]+"false" {
		t.Fatalf("after the entry, the leave: %v", w.started)
	}
	// A failed write is tried again, after memberRetry.
	w.finish(1, errors.New("the message store is unavailable"))
	flush()
	if len(w.started) != 3 {
		t.Fatalf("a failed write tried again at once: %v", w.started)
	}
	if waiting, retry := m.pending(); !waiting || retry.IsZero() {
		t.Fatalf("a failed write not pending with its retry: %v %v", waiting, retry)
	}
	now = now.Add(memberRetry + time.Second)
	flush()
	if len(w.started) != 4 || w.started[3] != w.started[1] {
		t.Fatalf("the failed write again: %v", w.started)
	}
	w.finish(2, nil)
	w.finish(3, nil)
	if len(m.records) != 0 || pending() {
		t.Errorf("records left once every write was taken: %d", len(m.records))
	}
}

// What the loop hands the store fire and forget (names let go, room
// events) is offered in order until the store's queue is full; the rest,
// the refused one first, waits for the next pass, and one refused for
// another reason is reported and dropped.
func TestOfferInOrderKeepsWhatTheStoreHadNoRoomFor(t *testing.T) {
	room := 3
	var offered, dropped []int
	offer := func(n int) error {
		switch {
		case n == 2:
			return errors.New("no such room")
		case room == 0:
			return store.ErrBusy
		}
		room--
		offered = append(offered, n)
		return nil
	}
	refused := func(n int, err error) { dropped = append(dropped, n) }
	left := offerInOrder([]int{1, 2, 3, 4, 5, 6}, offer, refused)
	if fmt.Sprint(offered, dropped, left) != "[1 3 4] [2] [5 6]" {
		t.Fatalf("first pass: offered %v, dropped %v, left %v", offered, dropped, left)
	}
	room = 10
	left = offerInOrder(append(left, 7), offer, refused)
	if fmt.Sprint(offered, left) != "[1 3 4 5 6 7] []" {
		t.Fatalf("next pass: offered %v, left %v", offered, left)
	}
}
