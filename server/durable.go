package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"chat/internal/store"
	"chat/internal/wire"
	"chat/server/hub"
)

// The message store (package store: NATS JetStream, embedded or not)
// under a durable hub. The loop hands each hub.StoreOp to the store, whose
// callbacks run on its goroutines; they only append the outcome to
// durable.done and wake the loop, which takes the outcomes in order
// (collectStore) and gives them to the hub. The room messages the store's
// stream delivers (Follow) come the same way, to Hub.Delivered. So the
// loop never waits on the store, as it never waits on a password check.
//
// With a store the rooms' state is kept in it too (its rooms bucket),
// rather than in the state directory's rooms.json: a room's last Seq is
// its last stored message's, so after any restart the room continues
// exactly where it was.
type durable struct {
	st *store.Store

	mu        sync.Mutex
	done      []*hub.StoreOp // outcomes not yet taken by the loop
	delivered []delivery     // what the stream delivered, in its order
	follow    func()         // stops following the stream

	// Owned by the loop goroutine.
	taken []*hub.StoreOp // collectStore's scratch
	shown []delivery     // collectStore's scratch of delivered
	// Stored room messages whose senders wait for the stream to show
	// them here, and Enters waiting for it to show a room's last stored
	// message (hub.StoreOp.CatchUpSeq), oldest first.
	unshown []*hub.StoreOp
	saved   map[string]hub.RoomState // what the rooms bucket holds, by room
	failed  error                    // the last failure logged, so it is logged once
	// What users saw, not yet handed to the store: a storm of
	// disconnections makes more than its queue takes at once, and the
	// latest for a user and room is all that matters.
	seen map[[2]string]uint64
	// lasts are the reads of rooms' last messages, shared (catchup.go).
	lasts lastReads
}

// storeConfig is the store's configuration from the server's.
func (c *Config) storeConfig() store.Config {
	sc := store.Config{
		URLs:              c.NATS,
		Fsync:             c.Fsync,
		MaxMsgsPerSubject: int64(max(c.HistoryLen, 0)),
		MaxBytes:          c.HistoryBytes,
		MaxAge:            c.HistoryAge,
		MaxStore:          c.StoreMaxBytes,
		InboxLimit:        int64(c.InboxLimit),
		Cluster:           c.Cluster,
		ClusterListen:     c.ClusterListen,
		Routes:            c.Routes,
		ServerName:        c.ServerName,
		Replicas:          c.Replicas,
	}
	if len(c.NATS) == 0 {
		sc.Dir = c.StateDir
	}
	return sc
}

// checkStore says what is wrong with a store's configuration.
func (c *Config) checkStore() error {
	switch {
	case c.Store != StoreEmbedded && c.Store != StoreMemory:
		return fmt.Errorf("unknown message store %q: use %s or %s", c.Store, StoreEmbedded, StoreMemory)
	case c.Store == StoreMemory && len(c.NATS) > 0:
		return errors.New("NATS URLs given with the memory store: leave one out")
	case len(c.NATS) == 0 && c.StateDir == "":
		return errors.New("the embedded message store needs a state directory to keep its files in")
	case c.HistoryLen < 0:
		return errors.New("a message store keeps history: a negative history is for the memory store only")
	case c.StoreMaxBytes > 0 && c.HistoryBytes >= c.StoreMaxBytes:
		return fmt.Errorf("the rooms' history (-history-bytes %d) must be smaller than the store (-store-max-bytes %d), which also keeps private messages and the rooms", c.HistoryBytes, c.StoreMaxBytes)
	}
	return nil
}

// openStore opens the message store and restores from it the rooms, their
// last Seqs and what users last saw. A state directory that still holds
// the rooms.json of a server without a store gives its rooms the first
// time. It runs in New, before the loop.
func (s *Server) openStore() error {
	where := "NATS at " + fmt.Sprint(s.cfg.NATS)
	if len(s.cfg.NATS) == 0 {
		where = filepath.Join(s.cfg.StateDir, "nats")
	}
	st, err := store.Open(s.cfg.storeConfig())
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			st.Close()
		}
	}()
	// Read before the rooms' last Seqs: what is stored after it is
	// followed, and what was counted twice (stored meanwhile) is dropped
	// by the hub, which shows no Seq twice.
	after, err := retry(st, st.LastStreamSeq)
	if err != nil {
		return fmt.Errorf("cannot read the message store (%s): %w", where, err)
	}
	rooms, err := retry(st, st.LoadRooms)
	if err != nil {
		return fmt.Errorf("cannot read the rooms from the message store (%s): %w", where, err)
	}
	migrated := false
	if len(rooms) == 0 && s.cfg.StateDir != "" {
		if rooms, _, err = LoadState(s.cfg.StateDir); err != nil {
			return err
		}
		migrated = len(rooms) > 0
	}
	for i := range rooms {
		last, err := retry(st, func() (uint64, error) { return st.LastSeq(rooms[i].Name) })
		if err != nil {
			return fmt.Errorf("cannot read room %s from the message store (%s): %w", rooms[i].Name, where, err)
		}
		if last > 0 {
			// Exact: the room goes on after its last stored message. With
			// none stored (all aged out) the saved mark keeps numbers from
			// going back.
			rooms[i].Seq = last
		}
	}
	if err := s.hub.Restore(rooms, true); err != nil {
		if migrated {
			return fmt.Errorf("corrupt state file %s: %v (repair it, or move it away to start with no rooms)",
				filepath.Join(s.cfg.StateDir, StateFileName), err)
		}
		return fmt.Errorf("bad room in the message store (%s): %v (move it away to start with an empty store)", where, err)
	}
	seen, err := retry(st, st.LoadSeen)
	if err != nil {
		return fmt.Errorf("cannot read what users last saw from the message store (%s): %w", where, err)
	}
	s.hub.RestoreSeen(seen)
	waiting, err := retry(st, st.InboxUsers)
	if err != nil {
		return fmt.Errorf("cannot read whose private messages are kept in the message store (%s): %w", where, err)
	}
	s.hub.RestoreKept(waiting)
	d := &durable{st: st, saved: make(map[string]hub.RoomState), seen: make(map[[2]string]uint64)}
	if d.follow, err = st.Follow(after, func(m store.Stored, err error) { d.deliver(s, m, err) }); err != nil {
		return fmt.Errorf("cannot follow the message store (%s): %w", where, err)
	}
	s.durable = d
	if !migrated {
		for _, rs := range rooms {
			s.durable.saved[rs.Name] = rs
		}
	}
	s.savedVer = s.hub.StateVersion() - 1 // the rooms are saved at the loop's first pass
	ok = true
	s.cfg.Logf("messages kept in %s: %s restored", where, wire.Plural(len(rooms), "room", "rooms"))
	return nil
}

// retry is read, repeated while the store does not answer, within its
// open timeout (store.Store.Retry): for the reads of a server's start.
func retry[T any](st *store.Store, read func() (T, error)) (T, error) {
	var v T
	err := st.Retry(func() (err error) {
		v, err = read()
		return err
	})
	return v, err
}

// storeOp hands op to the store. An op the store refuses at once (its
// queue full, closed) fails at once, through the same way back.
func (s *Server) storeOp(op *hub.StoreOp) {
	d := s.durable
	start := time.Now() // for the metrics' latency
	var err error
	switch op.Kind {
	case hub.StoreMessage:
		m := storedMessage(op.Frame)
		if op.Frame.Type == wire.TypePrivate {
			err = d.st.AppendPrivate(op.Frame.To, m, op.Away, func(st store.Stored, err error) { d.finish(s, op, nil, err, start) })
		} else {
			err = d.st.Append(op.Frame.Room, m, func(st store.Stored, err error) {
				if err == nil {
					// The store numbers it: the hub's Seq was a floor.
					op.Frame.Seq = st.Seq
				}
				d.finish(s, op, nil, err, start)
			})
		}
	case hub.StoreReadBefore, hub.StoreReadAfter, hub.StoreCatchUp:
		err = d.read(s, op, start, false)
	case hub.StoreInbox:
		err = d.st.Inbox(op.Name, func(msgs []store.Stored, err error) { d.finish(s, op, msgs, err, start) })
	case hub.StoreRoom:
		// Saved here, the room need not be saved again by saveToStore.
		d.saved[op.State.Name] = *op.State
		err = d.st.SaveRoom(*op.State, func(err error) { d.finish(s, op, nil, err, start) })
	case hub.StoreClearInbox:
		err = d.st.ClearInbox(op.Name, op.Through, func(err error) {
			s.metrics.storeOpDone(opClearInbox, start, err)
			if err != nil {
				s.cfg.Logf("message store: cannot clear the delivered private messages of %s: %v", op.Name, err)
			}
		})
		if err != nil {
			s.metrics.storeError(err)
			s.cfg.Logf("message store: cannot clear the delivered private messages of %s: %v", op.Name, err)
		}
		return
	}
	if err != nil {
		d.finish(s, op, nil, err, time.Time{})
	}
}

// readPatience is how long a read of a room's history is tried again
// while the store does not answer, and readRetry the pause between tries.
// A client resuming after a cut asks for what it missed: refused because
// NATS was electing a leader for a moment, it would miss it for good.
const (
	readPatience = 10 * time.Second
	readRetry    = 250 * time.Millisecond
)

// read hands a read of a room's history to the store: the page before a
// Seq, the messages after one, or the room's last message (from the
// stream's leader). One that fails for want of an answer is asked again,
// from a timer's goroutine, until readPatience from start has passed;
// the first time (again false) is logged.
func (d *durable) read(s *Server, op *hub.StoreOp, start time.Time, again bool) error {
	done := func(msgs []store.Stored, err error) {
		if (errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrTimeout)) && time.Since(start) < readPatience {
			if !again {
				s.cfg.Logf("message store: reading the history of %s again until it answers: %v", op.Room, err)
			}
			time.AfterFunc(readRetry, func() {
				if err := d.read(s, op, start, true); err != nil {
					d.finish(s, op, nil, err, start)
				}
			})
			return
		}
		d.finish(s, op, msgs, err, start)
	}
	switch op.Kind {
	case hub.StoreReadBefore:
		return d.st.Page(op.Room, op.Before, op.Count, done)
	case hub.StoreReadAfter:
		return d.st.Replay(op.Room, op.After, op.Count, done)
	default:
		return d.lastOf(op.Room, done)
	}
}

// finish records op's outcome for the loop and wakes it; it runs on a
// store goroutine (or the loop's, for a refusal: start zero, no latency
// counted).
func (d *durable) finish(s *Server, op *hub.StoreOp, msgs []store.Stored, err error, start time.Time) {
	s.metrics.storeOpDone(storeOpKind(op), start, err)
	op.Failure, op.Detail = storeFailure(err)
	for _, m := range msgs {
		op.Msgs = append(op.Msgs, storedFrame(m))
		op.Through = max(op.Through, m.StreamSeq)
	}
	d.mu.Lock()
	d.done = append(d.done, op)
	d.mu.Unlock()
	s.wakeup.wake()
}

// deliver hands a room message the stream delivered to the loop; it runs
// on a NATS goroutine, one message at a time.
func (d *durable) deliver(s *Server, m store.Stored, err error) {
	if err != nil {
		s.cfg.Logf("message store: a stored message cannot be shown: %v", err)
		return
	}
	var dl delivery
	if m.Event != nil {
		dl.ev = new(hub.RoomEvent)
		if err := json.Unmarshal(m.Event, dl.ev); err != nil || len(dl.ev.Rooms) == 0 {
			s.cfg.Logf("message store: a room event cannot be read: %v", err)
			return
		}
	} else {
		dl.m = storedFrame(m)
	}
	d.mu.Lock()
	d.delivered = append(d.delivered, dl)
	d.mu.Unlock()
	s.wakeup.wake()
}

// storeFailure says what a store error means to the hub.
func storeFailure(err error) (hub.StoreFailure, string) {
	switch {
	case err == nil:
		return hub.StoreOK, ""
	case errors.Is(err, store.ErrInboxFull):
		return hub.StoreInboxFull, err.Error()
	case errors.Is(err, store.ErrFull):
		return hub.StoreFull, err.Error()
	case errors.Is(err, store.ErrTimeout):
		return hub.StoreUnknown, err.Error()
	}
	return hub.StoreUnavailable, err.Error()
}

// storedMessage is what the store keeps of a hub frame.
func storedMessage(f *wire.Frame) store.Message {
	return store.Message{From: f.From, To: f.To, Room: f.Room, Text: f.Text, Time: f.Time, Seq: f.Seq, Code: f.Code, Tags: f.Tags}
}

// storedFrame is the frame a stored message is shown as.
func storedFrame(m store.Stored) *wire.Frame {
	f := &wire.Frame{Type: wire.TypeMessage, From: m.From, Room: m.Room, Text: m.Text, Time: m.Time, Seq: m.Seq, Code: m.Code, Tags: m.Tags}
	if m.To != "" {
		// A private message: its place in the store numbers it for IRC's
		// msgid, as the hub's serial numbers live ones.
		f.Type, f.To, f.Room, f.Seq, f.Count = wire.TypePrivate, m.To, "", 0, m.StreamSeq
	}
	return f
}

// collectStore gives the hub the store's outcomes, in the order they came,
// and lets each session held for one read its frames again.
func (s *Server) collectStore(now time.Time) {
	d := s.durable
	if d == nil {
		return
	}
	d.mu.Lock()
	d.taken, d.done = d.done, d.taken[:0]
	d.shown, d.delivered = d.delivered, d.shown[:0]
	d.mu.Unlock()
	for i, dl := range d.shown {
		d.shown[i] = delivery{}
		var outs []hub.Output
		if dl.ev != nil {
			outs = s.hub.Event(dl.ev, now)
		} else {
			outs = s.hub.Delivered(dl.m, now)
		}
		s.stats.delivered(outs)
		s.apply(outs, now)
		s.reap(now)
	}
	d.showWaiting(s, now)
	for i, op := range d.taken {
		d.taken[i] = nil
		if room, seq := op.CatchUpSeq(); seq > 0 && !s.hub.Shown(room, seq) {
			d.unshown = append(d.unshown, op)
			continue
		}
		s.storeDone(op, now)
	}
}

// delivery is what the stream delivered: a room message or a room event.
type delivery struct {
	m  *wire.Frame
	ev *hub.RoomEvent
}

// showWaiting answers the senders of stored room messages the stream has
// now shown here, in the order they were stored. A sender is answered
// only once the room here was shown its message, so that what it does
// next (a private word to a member, a ping) comes after the message for
// everyone on this server; and however long the stream lags (its
// consumer made again elsewhere, a NATS server cut off), since the
// answer's Seq is where the sender's client resumes from after a lost
// connection: answered sooner, it would skip the messages before its own
// that this server had not shown it yet. Meanwhile the session is held,
// and kept alive with pings.
func (d *durable) showWaiting(s *Server, now time.Time) {
	kept := d.unshown[:0]
	for _, op := range d.unshown {
		if s.hub.Shown(op.CatchUpSeq()) {
			s.storeDone(op, now)
		} else {
			kept = append(kept, op)
		}
	}
	clear(d.unshown[len(kept):])
	d.unshown = kept
}

// nextUnshown is when a waiting sender must be answered whatever the
// stream shows: never, since only a delivery (which wakes the loop)
// answers one.
func (d *durable) nextUnshown() time.Time { return time.Time{} }

// storeDone gives the hub op's outcome and lets the session it held read
// its frames again.
func (s *Server) storeDone(op *hub.StoreOp, now time.Time) {
	s.noteStoreHealth(op)
	s.outcome(op.Session, op.Holds(), func() []hub.Output {
		outs := s.hub.StoreDone(op, now)
		s.stats.storeDone(op, outs)
		return outs
	}, now)
}

// outcome applies the outputs of a hub call, done, that takes the outcome
// of work off the loop for session sid, and lets sid read its frames
// again if the work held them.
func (s *Server) outcome(sid hub.SessionID, holds bool, done func() []hub.Output, now time.Time) {
	c := s.bySid[sid]
	held := holds && c != nil && !c.dead && !c.closing && c.held
	if held {
		c.held = false
	}
	s.apply(done(), now)
	if held && !c.held {
		// Its outcome is out; a new op (a private message kept
		// instead) would have held it again.
		c.held = true
		s.resume(c, now)
	}
	s.reap(now)
}

// noteStoreHealth logs the store's failures once each, and its recovery.
func (s *Server) noteStoreHealth(op *hub.StoreOp) {
	d := s.durable
	switch {
	case op.Failure == hub.StoreOK && d.failed != nil:
		s.cfg.Logf("message store: works again")
		d.failed = nil
	case op.Failure != hub.StoreOK && (d.failed == nil || d.failed.Error() != op.Detail):
		d.failed = errors.New(op.Detail)
		s.cfg.Logf("message store: %s", op.Detail)
	}
}

// saveToStore keeps what changed of the rooms and of what users saw in
// the store. Rooms change rarely (a new room, a topic, a block of Seqs
// reserved); each changed one is one write of the rooms bucket.
func (s *Server) saveToStore() {
	d := s.durable
	for _, sn := range s.hub.TakeSeen() {
		d.seen[[2]string{sn.Name, sn.Room}] = sn.Seq
	}
	for key, seq := range d.seen {
		err := d.st.SaveSeen(key[0], key[1], seq, nil)
		if errors.Is(err, store.ErrBusy) {
			break // the next pass goes on
		}
		if err != nil {
			s.metrics.storeError(err)
			s.cfg.Logf("message store: cannot note what %s saw of %s: %v", key[0], key[1], err)
		}
		delete(d.seen, key)
	}
	if s.hub.StateVersion() == s.savedVer {
		return
	}
	s.savedVer = s.hub.StateVersion()
	for _, rs := range s.hub.RoomStates(false) {
		if old, ok := d.saved[rs.Name]; ok && reflect.DeepEqual(old, rs) {
			continue
		}
		name := rs.Name
		err := d.st.SaveRoom(rs, func(err error) {
			s.metrics.storeError(err)
			if err != nil {
				s.cfg.Logf("message store: cannot save room %s: %v", name, err)
			}
		})
		if err != nil {
			// Saved at the next change.
			s.metrics.storeError(err)
			s.cfg.Logf("message store: cannot save room %s: %v", name, err)
			continue
		}
		d.saved[rs.Name] = rs
	}
}

// closeStore saves the last changes and closes the store once the loop
// has ended: every outcome still due is waited for, and dropped.
func (s *Server) closeStore() {
	if s.durable == nil {
		return
	}
	s.saveToStore()
	s.leaveCluster()
	s.durable.follow()
	s.durable.st.Close()
	s.durable = nil
}
