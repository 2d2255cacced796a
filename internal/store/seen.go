package store

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// What each user last saw of each room is a KV bucket, seen, keyed by
// UserToken(user) + "." + Token(room), its value the decimal Seq: one
// small value per user and room, overwritten (History 1).

func seenKey(user, room string) string { return UserToken(user) + "." + Token(room) }

// SaveSeen records that user has seen room up to seq, asynchronously:
// done, if not nil, is called from a reader goroutine. It returns
// ErrBusy or ErrClosed at once (done not called) when it cannot queue the
// write.
func (s *Store) SaveSeen(user, room string, seq uint64, done func(error)) error {
	if user == "" {
		return errNoUser
	}
	key, val := seenKey(user, room), []byte(strconv.FormatUint(seq, 10))
	return s.enqueue(userJob(user), func() {
		ctx, cancel := s.timeout()
		defer cancel()
		_, err := s.seenKV.Put(ctx, key, val)
		if err != nil {
			err = fmt.Errorf("save what %q saw of %q: %w", user, room, classify(err))
		}
		if done != nil {
			done(err)
		}
	})
}

// LoadSeen returns what each user last saw of each room: user → folded
// room name → Seq. It blocks: it is for the server's start, before the
// loop runs. It reads the bucket through one watcher rather than a get
// per key, since it holds a key per user and room.
func (s *Store) LoadSeen() (map[string]map[string]uint64, error) {
	ctx, cancel := s.timeout()
	defer cancel()
	w, err := s.seenKV.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("read bucket %s: %w", seenBucket, classify(err))
	}
	defer w.Stop()
	seen := make(map[string]map[string]uint64)
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return nil, fmt.Errorf("read bucket %s: %w", seenBucket, classify(ctx.Err()))
		}
		if e == nil { // the watcher's mark: every value so far is read
			return seen, nil
		}
		user, room, seq, err := parseSeen(e.Key(), e.Value())
		if err != nil {
			return nil, s.incompatible(fmt.Sprintf("bucket %s, key %s", seenBucket, e.Key()), err)
		}
		if seen[user] == nil {
			seen[user] = make(map[string]uint64)
		}
		seen[user][room] = seq
	}
}

func parseSeen(key string, val []byte) (user, room string, seq uint64, err error) {
	ut, rt, ok := strings.Cut(key, ".")
	if !ok {
		return "", "", 0, fmt.Errorf("key %q is not USER.ROOM", key)
	}
	if user, err = UserOf(ut); err != nil {
		return "", "", 0, err
	}
	if room, err = RoomOf(rt); err != nil {
		return "", "", 0, err
	}
	if seq, err = strconv.ParseUint(string(val), 10, 64); err != nil {
		return "", "", 0, fmt.Errorf("value %q: %w", val, err)
	}
	return user, room, seq, nil
}
