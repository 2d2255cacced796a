package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// What the store keeps in JetStream: three streams of messages and five
// KV buckets, each on Config.Replicas servers. A read made after a
// write's acknowledgement must see the write (Inbox relies on it, and
// renumbering a room's message): with one replica, the streams allow
// direct gets, answered by the one server that stored the message; with
// several, they do not, since a direct get may be answered by a replica
// that has not caught up, and every read goes to the stream's leader,
// which has every acknowledged write. The buckets always allow direct
// gets (the KV client asks for them), so a replica behind may answer
// with an older value: an embedded node's Open waits for its replicas to
// catch up, so that the start-up reads of the buckets (LoadRooms,
// LoadSeen) see what the cluster holds; on an external cluster, the
// server a store is connected to may answer them from a replica a moment
// behind.
const (
	roomStream    = "ROOMS"   // room messages, chat.room.<Token(room)>, and events, chat.roomev.<Token(room)>
	privateStream = "PRIVATE" // private messages shown at once, kept as a record
	inboxStream   = "INBOX"   // private messages waiting for an offline recipient
	roomBucket    = "rooms"   // Token(room) → JSON of hub.RoomState
	seenBucket    = "seen"    // UserToken(user).Token(room) → decimal Seq
	namesBucket   = "names"   // UserToken(name) → JSON of Owner (names.go)
	nodesBucket   = "nodes"   // node id → its lease's info; cleanup.<node> → a claim (nodes.go)
	membersBucket = "members" // Token(room).UserToken(name) → node id (members.go)
)

// markerTTL is how long the buckets the nodes of a cluster share (names,
// nodes, members) keep the marker of a key deleted or expired, so that
// they do not grow with every name ever used. A watcher cut off from
// NATS for longer than this misses those deletes: a node that comes back
// after so long must watch again.
const markerTTL = time.Hour

// streamConfigs are the streams Open creates, or updates to the limits of
// Config.
func (s *Store) streamConfigs() []jetstream.StreamConfig {
	replicas := s.replicas()
	direct := replicas == 1
	rooms := jetstream.StreamConfig{
		Name:              roomStream,
		Description:       "chat room messages and events, one subject of each per room",
		Subjects:          []string{roomPrefix + "*", roomEventPrefix + "*"},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: orUnlimited(s.cfg.MaxMsgsPerSubject),
		MaxBytes:          orUnlimited(s.cfg.MaxBytes),
		MaxMsgs:           -1,
		MaxAge:            s.cfg.MaxAge,
		Discard:           jetstream.DiscardOld,
		Replicas:          replicas,
		AllowDirect:       direct,
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
		Replicas:          replicas,
		AllowDirect:       direct,
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
		Replicas:             replicas,
		AllowDirect:          direct,
	}
	return []jetstream.StreamConfig{rooms, private, inbox}
}

// earlierSubjects are the subjects a stream had when an earlier version
// of the store made it, which Open updates in place to today's: they
// hold what today's do, and nothing else.
var earlierSubjects = map[string][][]string{
	roomStream: {{roomPrefix + "*"}}, // before room events
}

// messageSubjects are the subjects of a stream's messages (not its
// events), for probe.
func messageSubjects(stream string) string {
	switch stream {
	case privateStream:
		return privatePrefix + "*"
	case inboxStream:
		return inboxPrefix + "*"
	}
	return roomPrefix + "*"
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
		jetstream.WithPublishAsyncTimeout(s.cfg.Timeout),
		// Every async publish ends in exactly one of these, on a NATS
		// goroutine; the publisher takes it from there (append.go).
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
			s.events <- event{msg: m, ack: ack}
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			s.events <- event{msg: m, err: err}
		}))
	if err != nil {
		return fmt.Errorf("store: jetstream: %w", err)
	}
	s.js = js
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.OpenTimeout)
	defer cancel()
	if err := s.waitMeta(ctx); err != nil {
		return err
	}
	streams := []*jetstream.Stream{&s.rooms, &s.private, &s.inbox}
	for i, sc := range s.streamConfigs() {
		if *streams[i], err = untilReady(ctx, s, s.cfg.Timeout, func(ctx context.Context) (jetstream.Stream, error) {
			return s.openStream(ctx, sc)
		}); err != nil {
			return s.setupError("stream "+sc.Name, err)
		}
		if err := s.waitLeader(ctx, "stream "+sc.Name, sc.Name); err != nil {
			return err
		}
		// What it holds is probed once it has a leader to answer.
		if err := s.probe(ctx, *streams[i]); err != nil {
			return err
		}
	}
	buckets := []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&s.roomsKV, jetstream.KeyValueConfig{Bucket: roomBucket, Description: "chat rooms' state",
			History: 1, Storage: jetstream.FileStorage, Replicas: s.replicas()}},
		{&s.seenKV, jetstream.KeyValueConfig{Bucket: seenBucket, Description: "what each user last saw of each room",
			History: 1, Storage: jetstream.FileStorage, Replicas: s.replicas()}},
		{&s.namesKV, jetstream.KeyValueConfig{Bucket: namesBucket, Description: "chat names taken, by which node and session",
			History: 1, Storage: jetstream.FileStorage, Replicas: s.replicas(), LimitMarkerTTL: markerTTL}},
		{&s.nodesKV, jetstream.KeyValueConfig{Bucket: nodesBucket, Description: "chat nodes' leases, and claims on cleaning up after dead ones",
			History: 1, Storage: jetstream.FileStorage, Replicas: s.replicas(), LimitMarkerTTL: markerTTL}},
		{&s.membersKV, jetstream.KeyValueConfig{Bucket: membersBucket, Description: "chat rooms' members, by the node each is on",
			History: 1, Storage: jetstream.FileStorage, Replicas: s.replicas(), LimitMarkerTTL: markerTTL}},
	}
	for _, b := range buckets {
		if *b.kv, err = untilReady(ctx, s, s.cfg.Timeout, func(ctx context.Context) (jetstream.KeyValue, error) {
			return s.openBucket(ctx, b.cfg)
		}); err != nil {
			return s.setupError("bucket "+b.cfg.Bucket, err)
		}
		if err := s.waitLeader(ctx, "bucket "+b.cfg.Bucket, "KV_"+b.cfg.Bucket); err != nil {
			return err
		}
	}
	return nil
}

// openStream creates the stream, or updates an existing one to the limits
// of Config, and to today's subjects from those of an earlier version
// (earlierSubjects). One whose subjects, storage or retention differ
// otherwise from ours was made by something else and is left as it is:
// updating it would take over, or lose, what it holds. Its errors are
// JetStream's, but for ErrIncompatible (setupError says what they mean).
//
// It asks to create first: in a cluster, only the meta leader answers
// about a stream that does not exist, so asking about it first may get
// no answer at all; a create goes to the meta leader, and succeeds as
// well when an identical stream is there (made by another node
// meanwhile, or at an earlier start).
func (s *Store) openStream(ctx context.Context, want jetstream.StreamConfig) (jetstream.Stream, error) {
	st, err := s.js.CreateStream(ctx, want)
	if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return st, err
	}
	old, err := s.js.Stream(ctx, want.Name)
	if err != nil {
		return nil, err
	}
	have := old.CachedInfo().Config
	subjects := slices.Sorted(slices.Values(have.Subjects))
	known := slices.Equal(subjects, slices.Sorted(slices.Values(want.Subjects))) ||
		slices.ContainsFunc(earlierSubjects[want.Name], func(earlier []string) bool { return slices.Equal(subjects, earlier) })
	if !known || have.Storage != want.Storage || have.Retention != want.Retention {
		return nil, s.incompatible("stream "+want.Name, fmt.Errorf("it has subjects %q, %v storage and %v retention, not %q, %v and %v",
			subjects, have.Storage, have.Retention, want.Subjects, want.Storage, want.Retention))
	}
	return s.js.UpdateStream(ctx, want)
}

// openBucket creates the bucket, or updates an existing one, creating
// first for the reason openStream does.
func (s *Store) openBucket(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := s.js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		return s.js.UpdateKeyValue(ctx, cfg)
	}
	return kv, err
}

// probe decodes the stream's last message (not an event: those are the
// hub's to read), so that messages written by something else or a newer
// version are found by Open, which can say what to do, rather than by the
// first read of them.
func (s *Store) probe(ctx context.Context, st jetstream.Stream) error {
	info := st.CachedInfo()
	if info.State.Msgs == 0 {
		return nil
	}
	raw, err := st.GetLastMsgForSubject(ctx, messageSubjects(info.Config.Name))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // deleted since, or only events
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
