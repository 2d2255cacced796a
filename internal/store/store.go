package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
	// age of the whole stream; zero means no bound. MaxAge bounds the
	// private messages' record (PRIVATE) too.
	MaxMsgsPerSubject int64
	MaxBytes          int64
	MaxAge            time.Duration
	// DiscardNew refuses new messages (ErrFull) once MaxBytes is reached,
	// instead of dropping the oldest messages of the stream.
	DiscardNew bool
	// PrivateKept bounds the private messages kept as a record per
	// recipient, dropping the oldest (default 1000).
	PrivateKept int64
	// InboxLimit bounds the private messages waiting for an offline
	// recipient; past it AppendPrivate refuses with ErrInboxFull (default
	// 100).
	InboxLimit int64
	// MaxStore bounds the embedded JetStream's disk use (0: JetStream's
	// default, a share of the disk); past it writes get ErrFull.
	MaxStore int64
	// MaxPending bounds the Appends the publisher holds: published and
	// not yet acknowledged, or waiting for their room's message before
	// them (default 1024); as many more may wait in the queue before
	// Append says ErrBusy.
	MaxPending int
	// Timeout bounds the wait for each acknowledgement and read (default
	// 5s), and a room message's renumbering when other servers write to
	// the room too (see Append).
	Timeout time.Duration

	// Cluster names the JetStream cluster the embedded server forms with
	// the servers at Routes; empty, it stands alone. Every node of a
	// cluster gives the same name. Used when URLs is empty (cluster.go).
	Cluster string
	// ClusterListen is the HOST:PORT where the embedded server listens
	// for its peers' routes; port 0 takes one the kernel chooses
	// (Store.RouteURL says which). It still opens no port for clients.
	ClusterListen string
	// Routes are the route URLs of the cluster's servers (nats://HOST:PORT
	// or HOST:PORT). This node's own may be among them, so that every node
	// can be given the same list.
	Routes []string
	// ServerName names this node in the cluster: unique per node, and the
	// same across its restarts, since JetStream knows its peers by name.
	// Default: from ClusterListen when it names a host and a port
	// ("chat-127.0.0.1-6222"), else from the hostname and Dir.
	ServerName string
	// Replicas is how many servers keep each stream and bucket. Default 1
	// for a server standing alone and with URLs; in an embedded cluster,
	// min(3, cluster size), the size counted from Routes and this node.
	// With URLs, give the external cluster's (3 for R3).
	Replicas int
	// OpenTimeout bounds Open's wait for JetStream: a cluster's meta
	// leader, and a leader for every stream and bucket (default 30s).
	OpenTimeout time.Duration
}

// Store is an open store; its methods may be called from any goroutine.
type Store struct {
	cfg Config
	srv *server.Server // nil with external NATS
	nc  *nats.Conn
	js  jetstream.JetStream
	// clusterSize is the embedded cluster's size as Config gives it (1
	// standing alone; 0 with URLs: unknown).
	clusterSize int

	rooms, private, inbox jetstream.Stream
	roomsKV, seenKV       jetstream.KeyValue
	namesKV, nodesKV      jetstream.KeyValue
	membersKV             jetstream.KeyValue

	// mu guards closed against the sends to appends, reads, registry and
	// asks, so that Close can close those channels.
	mu      sync.RWMutex
	closed  bool
	appends chan appendReq // publisher's input
	events  chan event     // publisher's other input: acks, rereads, retries
	rereads chan *item     // rereader's input
	acks    chan outcome   // acker's input, in order per room and recipient
	reads   []chan func()  // the readers' inputs, by shard of a key (reader.go)
	// registry are the registrars' inputs, a key always to the same one
	// (registrar.go).
	registry []chan func()
	asks     chan takeoverAsk // the asker's input (takeover.go)
	answers  chan *nats.Msg   // its other input: the answers to the asks
	askInbox string           // the answers' subjects are askInbox.<ask>

	// seen is what the names watch saw, for compare-and-sets without a
	// leader read (names_seen.go).
	seen namesSeen

	// renumbered counts the room messages published again because
	// another writer had stored one in the room first.
	renumbered atomic.Uint64

	// pipeline counts the publisher, the rereader and the acker, reading
	// the readers: Close waits for the first three before it closes reads,
	// since the acker hands Inbox reads to the readers.
	pipeline, reading sync.WaitGroup
	registering       sync.WaitGroup // the registrars
	asking            sync.WaitGroup // the asker
	// life ends when Close begins: the leases' goroutines (nodes.go) stop
	// writing, and leasing counts them.
	life    context.Context
	end     context.CancelFunc
	leasing sync.WaitGroup
	// watching counts the watches' goroutines (watch.go): they end once
	// the connection closes, if not stopped before.
	watching  sync.WaitGroup
	closeOnce sync.Once
}

// Open starts or connects to NATS and creates or opens the streams and
// buckets (setup.go).
func Open(cfg Config) (*Store, error) {
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1024
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.PrivateKept <= 0 {
		cfg.PrivateKept = 1000
	}
	if cfg.InboxLimit <= 0 {
		cfg.InboxLimit = 100
	}
	if cfg.OpenTimeout <= 0 {
		cfg.OpenTimeout = 30 * time.Second
	}
	if err := cfg.checkCluster(); err != nil {
		return nil, err
	}
	// Every message the publisher holds has at most one event on its way
	// (an ack, a reread, a retry) and at most one reread asked, so
	// neither channel ever makes its sender wait (append.go).
	s := &Store{cfg: cfg,
		appends: make(chan appendReq, cfg.MaxPending),
		events:  make(chan event, cfg.MaxPending),
		rereads: make(chan *item, cfg.MaxPending),
		acks:    make(chan outcome, cfg.MaxPending),
		asks:    make(chan takeoverAsk, 64),
		answers: make(chan *nats.Msg, cfg.MaxPending)}
	s.life, s.end = context.WithCancel(context.Background())
	for range readers {
		// Each as deep as the whole: a room's or a node's jobs all go to
		// one, and a thousand users coming back into a few rooms at once
		// must not find it full.
		s.reads = append(s.reads, make(chan func(), max(cfg.MaxPending, 64)))
	}
	for range registrars {
		s.registry = append(s.registry, make(chan func(), max(cfg.MaxPending, 64)))
	}
	if err := s.connect(); err != nil {
		s.shutdown()
		return nil, err
	}
	if err := s.setup(); err != nil {
		s.shutdown()
		return nil, err
	}
	if err := s.startAsker(); err != nil {
		s.shutdown()
		return nil, err
	}
	s.pipeline.Add(3)
	go s.publisher()
	go s.rereader()
	go s.acker()
	s.reading.Add(readers)
	for _, jobs := range s.reads {
		go s.reader(jobs)
	}
	s.registering.Add(registrars)
	for _, jobs := range s.registry {
		go s.registrar(jobs)
	}
	return s, nil
}

func (s *Store) connect() error {
	cfg := s.cfg
	if len(cfg.URLs) > 0 {
		// No reconnect buffer: a message published while NATS is away
		// must fail at once (ErrUnavailable, "not sent"), not wait in a
		// buffer, time out as unknown, and be stored after the sender was
		// told it may not have been.
		nc, err := nats.Connect(strings.Join(cfg.URLs, ","), nats.Name("chat-server"), nats.MaxReconnects(-1),
			nats.ReconnectBufSize(-1))
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
	s.clusterSize = 1
	if cfg.Cluster != "" {
		if err := s.clusterOptions(opts); err != nil {
			return err
		}
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
	if cfg.Cluster != "" {
		startRouting(srv)
	}
	if !srv.ReadyForConnections(30 * time.Second) {
		if cfg.Cluster != "" {
			return fmt.Errorf("%w: embedded NATS in %s did not start: cannot listen for routes on %s?",
				ErrUnavailable, opts.StoreDir, cfg.ClusterListen)
		}
		return fmt.Errorf("%w: embedded NATS in %s did not start", ErrUnavailable, opts.StoreDir)
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name("chat-server"))
	if err != nil {
		return fmt.Errorf("%w: connect to embedded NATS: %v", ErrUnavailable, err)
	}
	s.nc = nc
	return nil
}

// Close finishes what was queued (every done callback is called), closes
// the connection and stops an embedded server. It may be called more than
// once.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.appends)
		for _, jobs := range s.registry {
			close(jobs)
		}
		close(s.asks)
		s.mu.Unlock()
		s.end()
		s.leasing.Wait()
		s.pipeline.Wait()
		for _, jobs := range s.reads {
			close(jobs)
		}
		s.reading.Wait()
		s.registering.Wait()
		s.asking.Wait()
		s.shutdown()
		s.watching.Wait()
	})
}

func (s *Store) shutdown() {
	if s.end != nil {
		s.end()
	}
	if s.nc != nil {
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
}
