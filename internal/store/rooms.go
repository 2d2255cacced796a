package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"chat/server/hub"

	"github.com/nats-io/nats.go/jetstream"
)

// SaveRoom records a room's state in the rooms bucket, asynchronously:
// done is called from a reader goroutine. It returns ErrBusy or
// ErrClosed at once (done not called) when it cannot queue the write.
func (s *Store) SaveRoom(st hub.RoomState, done func(error)) error {
	val, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.enqueue(roomJob(st.Name), func() {
		ctx, cancel := s.timeout()
		defer cancel()
		_, err := s.roomsKV.Put(ctx, Token(st.Name), val)
		done(classify(err))
	})
}

// LoadRooms returns every saved room state, in the order of their tokens.
// It blocks: it is for the server's start, before the loop runs.
func (s *Store) LoadRooms() ([]hub.RoomState, error) {
	ctx, cancel := s.timeout()
	defer cancel()
	keys, err := s.roomsKV.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", classify(err))
	}
	var rooms []hub.RoomState
	for key := range keys.Keys() {
		e, err := s.roomsKV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("room %s: %w", key, classify(err))
		}
		var st hub.RoomState
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			name, _ := RoomOf(key)
			return nil, s.incompatible(fmt.Sprintf("bucket %s, room %q", roomBucket, name), err)
		}
		rooms = append(rooms, st)
	}
	slices.SortFunc(rooms, func(a, b hub.RoomState) int { return strings.Compare(Token(a.Name), Token(b.Name)) })
	return rooms, nil
}
