package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"chat/server/hub"

	"github.com/nats-io/nats.go/jetstream"
)

// The reader goroutine runs Replay, Last and SaveRoom one at a time, in
// the order they were asked for.

// enqueue hands job to the reader, or refuses at once.
func (s *Store) enqueue(job func()) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.jobs <- job:
		return nil
	default:
		return ErrBusy
	}
}

func (s *Store) reader() {
	defer s.wg.Done()
	for job := range s.jobs {
		job()
	}
}

// Replay reads the room's stored messages with Seq above afterSeq, oldest
// first, at most limit of them, and calls done with them from the reader
// goroutine. It returns ErrBusy or ErrClosed at once (done not called)
// when it cannot queue the read.
func (s *Store) Replay(room string, afterSeq uint64, limit int, done func([]Stored, error)) error {
	return s.enqueue(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		defer cancel()
		done(s.replay(ctx, room, afterSeq, limit))
	})
}

// Last reads the room's last n stored messages, oldest first. (Fewer when
// a failed Append left a gap among them.)
func (s *Store) Last(room string, n int, done func([]Stored, error)) error {
	return s.enqueue(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		defer cancel()
		last, err := s.lastStored(ctx, Subject(room))
		if err != nil || last == nil || n <= 0 {
			done(nil, err)
			return
		}
		after := uint64(0)
		if last.Seq > uint64(n) {
			after = last.Seq - uint64(n)
		}
		done(s.replay(ctx, room, after, n))
	})
}

// replay finds the first message above afterSeq by a binary search over
// stream sequence numbers (a room's Seqs grow with them), then reads
// forward, each read a direct get of the room's next message: no consumer
// is created.
func (s *Store) replay(ctx context.Context, room string, afterSeq uint64, limit int) ([]Stored, error) {
	subj := Subject(room)
	last, err := s.lastStored(ctx, subj)
	if err != nil || last == nil || last.Seq <= afterSeq || limit <= 0 {
		return nil, err
	}
	first, err := s.nextStored(ctx, subj, 1)
	if err != nil || first == nil {
		return nil, err
	}
	// The wanted message is the room's first at or after stream sequence
	// p for the least p in [lo, hi] whose first is above afterSeq; at is
	// the room's first message at or after hi.
	lo, hi, at := first.StreamSeq, last.StreamSeq, last
	if first.Seq > afterSeq {
		hi, at = lo, first
	}
	for lo < hi {
		m, err := s.nextStored(ctx, subj, lo+(hi-lo)/2)
		if err != nil {
			return nil, err
		}
		if m == nil { // the room's messages went meanwhile (age, limits)
			return nil, nil
		}
		if m.Seq > afterSeq {
			hi, at = lo+(hi-lo)/2, m
		} else {
			lo = m.StreamSeq + 1
		}
	}
	out := []Stored{*at}
	for len(out) < limit && at.StreamSeq < last.StreamSeq {
		if at, err = s.nextStored(ctx, subj, at.StreamSeq+1); err != nil {
			return out, err
		}
		if at == nil {
			break
		}
		out = append(out, *at)
	}
	return out, nil
}

// lastStored is the room subject's last message; nil when it has none.
func (s *Store) lastStored(ctx context.Context, subj string) (*Stored, error) {
	raw, err := s.stream.GetLastMsgForSubject(ctx, subj)
	return stored(raw, err)
}

// nextStored is the subject's first message at or after stream sequence
// seq; nil when there is none.
func (s *Store) nextStored(ctx context.Context, subj string, seq uint64) (*Stored, error) {
	raw, err := s.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
	return stored(raw, err)
}

func stored(raw *jetstream.RawStreamMsg, err error) (*Stored, error) {
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(err)
	}
	m, err := decodeMessage(raw.Data)
	if err != nil {
		return nil, fmt.Errorf("stream sequence %d: %w", raw.Sequence, err)
	}
	return &Stored{Message: m, StreamSeq: raw.Sequence}, nil
}

// SaveRoom records a room's state in the rooms bucket, asynchronously:
// done is called from the reader goroutine. It returns ErrBusy or
// ErrClosed at once (done not called) when it cannot queue the write.
func (s *Store) SaveRoom(st hub.RoomState, done func(error)) error {
	val, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.enqueue(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		defer cancel()
		_, err := s.kv.Put(ctx, Token(st.Name), val)
		done(classify(err))
	})
}

// LoadRooms returns every saved room state, in the order of their tokens.
// It blocks: it is for the server's start, before the loop runs.
func (s *Store) LoadRooms() ([]hub.RoomState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	keys, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", classify(err))
	}
	var rooms []hub.RoomState
	for key := range keys.Keys() {
		e, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("room %s: %w", key, classify(err))
		}
		var st hub.RoomState
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			name, _ := RoomOf(key)
			return nil, fmt.Errorf("room %q: corrupt state: %w", name, err)
		}
		rooms = append(rooms, st)
	}
	slices.SortFunc(rooms, func(a, b hub.RoomState) int { return strings.Compare(Token(a.Name), Token(b.Name)) })
	return rooms, nil
}
