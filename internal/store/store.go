package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors a done callback or a call may return. Each wraps the underlying
// NATS error, when there is one, so its text says what happened.
var (
	// ErrFull means the store refused a write for lack of room: the
	// stream's MaxBytes with DiscardNew, or JetStream's storage limit.
	// The write was not stored; retry once room is made.
	ErrFull = errors.New("the message store is full")
	// ErrUnavailable means the store could not be reached or did not
	// answer (NATS down, JetStream not ready). The write was not stored.
	ErrUnavailable = errors.New("the message store is unavailable")
	// ErrTimeout means no acknowledgement came within Config.Timeout:
	// the write may or may not have been stored.
	ErrTimeout = errors.New("the message store did not answer in time")
	// ErrBusy means the store's queue is full: the call was refused at
	// once and its callback will not be called.
	ErrBusy = errors.New("the message store is busy")
	// ErrClosed means the store was closed; the callback will not be
	// called.
	ErrClosed = errors.New("the message store is closed")
)

// Names of what the store keeps in JetStream.
const (
	streamName = "ROOMS"
	roomBucket = "rooms"
)

// Config says where the store is and what it keeps.
type Config struct {
	// Dir holds the embedded server's files (in Dir/nats). Used when URLs
	// is empty.
	Dir string
	// URLs of an external NATS deployment; when set, nothing is embedded.
	URLs []string
	// Fsync is the embedded server's sync policy: "always" (fsync every
	// write: survives power loss), "" (JetStream's default, every two
	// minutes) or a duration such as "1s".
	Fsync string
	// History bounds of the room stream: messages kept per room, bytes and
	// age of the whole stream; zero means no bound.
	MaxMsgsPerSubject int64
	MaxBytes          int64
	MaxAge            time.Duration
	// DiscardNew refuses new messages (ErrFull) once MaxBytes is reached,
	// instead of dropping the oldest messages of the stream.
	DiscardNew bool
	// MaxStore bounds the embedded JetStream's disk use (0: JetStream's
	// default, a share of the disk); past it writes get ErrFull.
	MaxStore int64
	// MaxPending bounds the Appends published and not yet acknowledged
	// (default 1024); as many more may wait in the queue before Append
	// says ErrBusy.
	MaxPending int
	// Timeout bounds the wait for each acknowledgement and read (default
	// 5s).
	Timeout time.Duration
}

// Store is an open store; its methods may be called from any goroutine.
type Store struct {
	cfg    Config
	srv    *server.Server // nil with external NATS
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	kv     jetstream.KeyValue

	// mu guards closed against the sends to appends and jobs, so that
	// Close can close those channels.
	mu      sync.RWMutex
	closed  bool
	appends chan appendReq // publisher's input
	acks    chan pending   // acker's input, in Append order
	jobs    chan func()    // reader's input

	roomSeq map[string]uint64 // publisher only: each room's last Seq

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Open starts or connects to NATS and creates or opens the room stream and
// the rooms bucket.
func Open(cfg Config) (*Store, error) {
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1024
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	s := &Store{cfg: cfg, roomSeq: make(map[string]uint64),
		appends: make(chan appendReq, cfg.MaxPending),
		acks:    make(chan pending, cfg.MaxPending),
		jobs:    make(chan func(), 64)}
	if err := s.connect(); err != nil {
		s.shutdown()
		return nil, err
	}
	if err := s.setup(); err != nil {
		s.shutdown()
		return nil, err
	}
	s.wg.Add(3)
	go s.publisher()
	go s.acker()
	go s.reader()
	return s, nil
}

func (s *Store) connect() error {
	cfg := s.cfg
	if len(cfg.URLs) > 0 {
		nc, err := nats.Connect(strings.Join(cfg.URLs, ","), nats.Name("chat-server"), nats.MaxReconnects(-1))
		if err != nil {
			return fmt.Errorf("%w: connect to NATS at %s: %v", ErrUnavailable, strings.Join(cfg.URLs, ","), err)
		}
		s.nc = nc
		return nil
	}
	if cfg.Dir == "" {
		return errors.New("store: no directory and no NATS URLs")
	}
	opts := &server.Options{
		ServerName:        "chat-store",
		JetStream:         true,
		StoreDir:          filepath.Join(cfg.Dir, "nats"),
		JetStreamMaxStore: cfg.MaxStore,
		DontListen:        true, // in-process clients only: no port
		NoSigs:            true,
		NoLog:             true,
	}
	switch cfg.Fsync {
	case "":
	case "always":
		opts.SyncAlways = true
	default:
		d, err := time.ParseDuration(cfg.Fsync)
		if err != nil || d <= 0 {
			return fmt.Errorf("store: fsync %q: want always or a duration", cfg.Fsync)
		}
		opts.SyncInterval = d
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("store: embedded NATS in %s: %w", opts.StoreDir, err)
	}
	s.srv = srv
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		return fmt.Errorf("%w: embedded NATS in %s did not start", ErrUnavailable, opts.StoreDir)
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name("chat-server"))
	if err != nil {
		return fmt.Errorf("%w: connect to embedded NATS: %v", ErrUnavailable, err)
	}
	s.nc = nc
	return nil
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
	sc := jetstream.StreamConfig{
		Name:              streamName,
		Description:       "chat room messages, one subject per room",
		Subjects:          []string{subjectPrefix + "*"},
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
		sc.Discard = jetstream.DiscardNew
	}
	if s.stream, err = js.CreateOrUpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("store: stream %s: %w", streamName, classify(err))
	}
	s.kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: roomBucket, Description: "chat rooms' state", History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return fmt.Errorf("store: bucket %s: %w", roomBucket, classify(err))
	}
	return nil
}

func orUnlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// Close finishes what was queued (every done callback is called), closes
// the connection and stops an embedded server. It may be called more than
// once.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.appends)
		close(s.jobs)
		s.mu.Unlock()
		s.wg.Wait()
		s.shutdown()
	})
}

func (s *Store) shutdown() {
	if s.nc != nil {
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
}

// Write errors JetStream reports when it has no room.
const (
	jsStoreFailed      jetstream.ErrorCode = 10077 // "maximum bytes exceeded" with DiscardNew
	jsInsufficient     jetstream.ErrorCode = 10023
	jsStorageExhausted jetstream.ErrorCode = 10047
)

// classify wraps a NATS error in the store's error that says what it
// means for the caller.
func classify(err error) error {
	var api *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &api) && (api.ErrorCode == jsInsufficient || api.ErrorCode == jsStorageExhausted ||
		api.ErrorCode == jsStoreFailed && strings.Contains(api.Description, "maximum")):
		return fmt.Errorf("%w: %v", ErrFull, err)
	case errors.Is(err, jetstream.ErrAsyncPublishTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, jetstream.ErrTooManyStalledMsgs),
		errors.Is(err, nats.ErrDisconnected):
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}
