package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// What the store keeps in JetStream: three streams of messages and two
// KV buckets. Every stream has one replica and allows direct gets, so the
// one server that stored a message answers the reads of it: a read made
// after a write's acknowledgement sees the write (Inbox relies on it).
const (
	roomStream    = "ROOMS"   // room messages, subject chat.room.<Token(room)>
	privateStream = "PRIVATE" // private messages shown at once, kept as a record
	inboxStream   = "INBOX"   // private messages waiting for an offline recipient
	roomBucket    = "rooms"   // Token(room) → JSON of hub.RoomState
	seenBucket    = "seen"    // UserToken(user).Token(room) → decimal Seq
)

// streamConfigs are the streams Open creates, or updates to the limits of
// Config.
func (s *Store) streamConfigs() []jetstream.StreamConfig {
	rooms := jetstream.StreamConfig{
		Name:              roomStream,
		Description:       "chat room messages, one subject per room",
		Subjects:          []string{roomPrefix + "*"},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: orUnlimited(s.cfg.MaxMsgsPerSubject),
		MaxBytes:          orUnlimited(s.cfg.MaxBytes),
		MaxMsgs:           -1,
		MaxAge:            s.cfg.MaxAge,
		Discard:           jetstream.DiscardOld,
		AllowDirect:       true,
	}
	if s.cfg.DiscardNew {
		rooms.Discard = jetstream.DiscardNew
	}
	private := jetstream.StreamConfig{
		Name:              privateStream,
		Description:       "chat private messages shown at once, kept as a record, one subject per recipient",
		Subjects:          []string{privatePrefix + "*"},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: s.cfg.PrivateKept,
		MaxBytes:          -1,
		MaxMsgs:           -1,
		MaxAge:            s.cfg.MaxAge,
		Discard:           jetstream.DiscardOld,
		AllowDirect:       true,
	}
	// A full inbox refuses the new message: dropping the oldest would
	// lose a message its sender was told was kept. No MaxAge either, for
	// the same reason: a message waits until its recipient comes.
	inbox := jetstream.StreamConfig{
		Name:                 inboxStream,
		Description:          "chat private messages waiting for an offline recipient, one subject per recipient",
		Subjects:             []string{inboxPrefix + "*"},
		Storage:              jetstream.FileStorage,
		Retention:            jetstream.LimitsPolicy,
		MaxMsgsPerSubject:    s.cfg.InboxLimit,
		MaxBytes:             -1,
		MaxMsgs:              -1,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		AllowDirect:          true,
	}
	return []jetstream.StreamConfig{rooms, private, inbox}
}

func orUnlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

func (s *Store) setup() error {
	js, err := jetstream.New(s.nc,
		jetstream.WithPublishAsyncMaxPending(s.cfg.MaxPending),
		jetstream.WithPublishAsyncTimeout(s.cfg.Timeout))
	if err != nil {
		return fmt.Errorf("store: jetstream: %w", err)
	}
	s.js = js
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	streams := []*jetstream.Stream{&s.rooms, &s.private, &s.inbox}
	for i, sc := range s.streamConfigs() {
		if *streams[i], err = s.openStream(ctx, sc); err != nil {
			return err
		}
	}
	buckets := []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&s.roomsKV, jetstream.KeyValueConfig{Bucket: roomBucket, Description: "chat rooms' state",
			History: 1, Storage: jetstream.FileStorage}},
		{&s.seenKV, jetstream.KeyValueConfig{Bucket: seenBucket, Description: "what each user last saw of each room",
			History: 1, Storage: jetstream.FileStorage}},
	}
	for _, b := range buckets {
		if *b.kv, err = js.CreateOrUpdateKeyValue(ctx, b.cfg); err != nil {
			return s.setupError("bucket "+b.cfg.Bucket, err)
		}
	}
	return nil
}

// openStream creates the stream, or updates an existing one to the limits
// of Config. One whose subjects, storage or retention differ from ours was
// made by something else and is left as it is: updating it would take
// over, or lose, what it holds.
func (s *Store) openStream(ctx context.Context, want jetstream.StreamConfig) (jetstream.Stream, error) {
	what := "stream " + want.Name
	old, err := s.js.Stream(ctx, want.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
	case err != nil:
		return nil, s.setupError(what, err)
	default:
		have := old.CachedInfo().Config
		subjects := slices.Sorted(slices.Values(have.Subjects))
		if !slices.Equal(subjects, want.Subjects) || have.Storage != want.Storage || have.Retention != want.Retention {
			return nil, s.incompatible(what, fmt.Errorf("it has subjects %q, %v storage and %v retention, not %q, %v and %v",
				subjects, have.Storage, have.Retention, want.Subjects, want.Storage, want.Retention))
		}
	}
	st, err := s.js.CreateOrUpdateStream(ctx, want)
	if err != nil {
		return nil, s.setupError(what, err)
	}
	return st, s.probe(ctx, st)
}

// probe decodes the stream's last message, so that messages written by
// something else or a newer version are found by Open, which can say what
// to do, rather than by the first read of them.
func (s *Store) probe(ctx context.Context, st jetstream.Stream) error {
	info := st.CachedInfo()
	if info.State.Msgs == 0 {
		return nil
	}
	raw, err := st.GetMsg(ctx, info.State.LastSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // deleted since
	}
	if err != nil {
		return s.setupError("stream "+info.Config.Name, err)
	}
	if _, err := decodeMessage(raw.Data); err != nil {
		return s.incompatible(fmt.Sprintf("stream %s, message %d on %s", info.Config.Name, raw.Sequence, raw.Subject), err)
	}
	return nil
}

// streamOf is the stream that holds subj.
func (s *Store) streamOf(subj string) jetstream.Stream {
	switch {
	case strings.HasPrefix(subj, privatePrefix):
		return s.private
	case strings.HasPrefix(subj, inboxPrefix):
		return s.inbox
	}
	return s.rooms
}
