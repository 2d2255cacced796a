package server

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"chat/internal/poller"
	"chat/internal/wire"
	"chat/server/auth"
	"chat/server/hub"
)

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	// Addr is where the chat protocol is served in plain TCP, HOST:PORT
	// (default ":7777" unless TLSAddr is set; empty then: no plain
	// listener).
	Addr string
	// TLSAddr, when set, serves the chat protocol over TLS there.
	TLSAddr string
	// TLS is the TLS configuration of TLSAddr and IRCTLSAddr, needed with
	// either: the certificate (GetCertificate or Certificates) at least.
	// TLS 1.2 is the least version accepted unless it says more.
	TLS *tls.Config
	// HandshakeWorkers bounds the TLS handshakes that compute at once, the
	// others waiting their turn (default: GOMAXPROCS less one, at least
	// one, so that a storm of handshakes leaves the loop a P).
	HandshakeWorkers int
	// UsersFile is the users file (default "users.db"). It must exist,
	// unless Guests is set: then a file that does not exist is no accounts
	// until it appears.
	UsersFile string
	// ShutdownTimeout bounds the graceful shutdown: how long output is
	// flushed before every socket is closed anyway (default 2s). It also
	// bounds how long one connection that was told Bye may linger.
	ShutdownTimeout time.Duration
	// Guests allows guest names without a password (Claim).
	Guests bool
	// MaxRooms bounds the number of rooms (default: hub.DefaultConfig).
	MaxRooms int
	// MaxJoined bounds the rooms one session may be in at once, IRC's
	// CHANLIMIT (default: hub.DefaultConfig).
	MaxJoined int
	// Operators are the accounts that may become server operators (IRC's
	// OPER, with the account's password).
	Operators []string
	// HistoryLen is how many messages a room keeps for History: in memory
	// (default: hub.DefaultConfig; negative turns History off), or in the
	// message store (default 100,000).
	HistoryLen int
	// Store says where messages are kept: "memory" (the hub's, lost with
	// the process) or "embedded" (a NATS JetStream in this process, its
	// files in StateDir/nats: what was acknowledged survives kill -9). The
	// default is embedded when StateDir is set, memory otherwise; NATS
	// set means an external NATS keeps them. See durable.go.
	Store string
	// NATS lists the URLs of an external NATS deployment with JetStream
	// that keeps the messages and the rooms instead of an embedded one.
	NATS []string
	// Fsync is the embedded store's sync to disk: "always" (every write:
	// survives a power cut, at a cost BENCHMARKS.md gives) or a period
	// such as "1s" (default: JetStream's, two minutes; a killed process
	// loses nothing either way, the data being in the kernel's cache).
	Fsync string
	// HistoryBytes bounds the bytes of messages kept: each room's in
	// memory (default: hub.DefaultConfig), all rooms' together in the
	// store (default 1 GiB), the oldest going first.
	HistoryBytes int64
	// HistoryAge is how long the store keeps a message (default 60 days).
	HistoryAge time.Duration
	// InboxLimit bounds the private messages kept for one account while it
	// is not connected (default 100); past it a sender is told so.
	InboxLimit int
	// Cluster, ClusterListen and Routes make the embedded store a node of
	// a NATS cluster formed with the other chat servers' embedded stores
	// (its name, where it listens for their routes, their route URLs), so
	// that several chat servers are one chat without a NATS deployment.
	// With NATS, the external deployment's cluster serves instead.
	Cluster       string
	ClusterListen string
	Routes        []string
	// ServerName names this server in the cluster: its embedded NATS
	// node's name, kept across restarts, and the node its users are on
	// (default: from ClusterListen, or the host name).
	ServerName string
	// Lease is how long a server of a cluster that stopped answering (killed,
	// cut off) keeps its users' names before other servers give them out,
	// and how long one cut off from NATS keeps its sessions (default
	// DefaultLease). Shorter fails over faster; it must stay longer than
	// NATS takes to elect a leader.
	Lease time.Duration
	// Replicas is how many copies the store keeps of each stream and
	// bucket (default: 3 in a cluster of three or more, else 1).
	Replicas int
	// StoreMaxBytes bounds the embedded store's disk use (default:
	// JetStream's, a share of the disk); past it messages are refused
	// with a clear error until room is made.
	StoreMaxBytes int64
	// ResumeTTL is how long the resume token of a login's reply is good
	// for: a client back from a lost connection logs in again with it, on
	// this server or another of the cluster, without a password check
	// (resume.go). Default auth.DefaultResumeTTL; negative: no tokens.
	ResumeTTL time.Duration
	// MaxOutput bounds the bytes queued for one connection (default 1 MiB).
	// A connection that does not read its output past this is closed.
	MaxOutput int
	// PingInterval is how long a connection may stay silent before the
	// server sends it a Ping (default 30s; negative: never).
	PingInterval time.Duration
	// PeerTimeout is how long after that Ping a still silent connection is
	// declared lost (a cut cable sends no FIN): it gets Bye ByeTimeout and
	// its room is told contact was lost (default 30s).
	PeerTimeout time.Duration
	// MaxPerAddr bounds the connections from one IP address; one more gets
	// Bye ByeLimit and is closed (default 0: no bound).
	MaxPerAddr int
	// StateDir is the directory where the room list is kept across
	// restarts (file rooms.json, see state.go); it is created if missing.
	// Empty: nothing is kept, a restarted server has no rooms.
	StateDir string
	// IRCAddr, when set, opens a second listener that speaks the IRC
	// client protocol (package irc): IRC users log in and share rooms
	// and private messages with everyone else.
	IRCAddr string
	// IRCTLSAddr, when set, serves IRC over TLS there (6697 is usual).
	IRCTLSAddr string
	// IRCName is the server's name on IRC (default "chat.server").
	IRCName string
	// IRCPassword, when set, is the server password IRC clients must give
	// with PASS; accounts then log in with SASL.
	IRCPassword string
	// Poller is how the loop waits for its sockets: "poll" (poll(2), the
	// default) or "epoll" (Linux epoll(7), cheaper with many idle sessions).
	Poller string
	// Workers is the number of password-checking goroutines (default 2).
	Workers int
	// HashWorker is the command line of a child process that checks
	// passwords for each worker ("chat-server hash-worker", which runs
	// ServeHashWorker), so argon2 runs outside the server's process at
	// the lowest priority. Nil: the workers hash in this process.
	HashWorker []string
	// WriteHelpers is the number of goroutines that share a loop pass's
	// writes with the loop when many sockets have output (writers.go).
	// 0 (the default): the loop writes alone.
	WriteHelpers int
	// Signals makes Run handle SIGINT and SIGTERM with a graceful shutdown.
	// SIGINT is reset to its default action when the shutdown starts, so a
	// second Ctrl-C ends the process at once even if the shutdown hangs.
	Signals bool
	// MetricsAddr, when set, serves over HTTP on HOST:PORT GET /healthz
	// (200 while the loop runs and the message store answers, for a load
	// balancer) and GET /metrics (Prometheus's text format): metrics.go.
	MetricsAddr string
	// Logf receives the log: connections, logins by name, disconnections.
	// Passwords are never logged. Nil discards the log.
	Logf func(format string, args ...any)
	// Transfer bounds file transfers: how many, the attach timeout, the
	// token source (hub.TransferConfig). Zero values take defaults.
	Transfer hub.TransferConfig

	// Defences (defences.go, hub/flood.go, auth.Gate).

	// HelloTimeout: a connection that has not said Hello this long after
	// connecting gets Bye ByeTimeout and is closed (default 10s; negative:
	// no limit).
	HelloTimeout time.Duration
	// FrameTimeout: a connection that holds a partial frame this long,
	// however many bytes trickle in, gets Bye ByeTimeout and is closed, its
	// room told contact was lost (default 30s; negative: no limit).
	FrameTimeout time.Duration
	// MsgRate and MsgBurst bound each session's messages (Say, Tell,
	// Broadcast): MsgBurst at once, MsgRate a second after that; one more
	// is refused with ErrSlowDown. MaxRefused refused in a row close the
	// session with ByeLimit. Defaults: MsgRate 10/s, the others
	// hub.DefaultConfig's; MsgRate negative: no limit.
	MsgRate    float64
	MsgBurst   int
	MaxRefused int
	// Login throttling: once LoginFree attempts were made for an account
	// or from an address, the next one's password check waits LoginDelay,
	// doubling with each further attempt up to LoginDelayMax; counts halve
	// every LoginQuiet without an attempt (defaults: auth.DefaultGateConfig);
	// LoginDelay negative: no throttling.
	LoginFree     int
	LoginDelay    time.Duration
	LoginDelayMax time.Duration
	LoginQuiet    time.Duration
	// MaxPendingChecks bounds the password checks queued or running; a
	// login past it is answered at once with ErrUnavailable (default:
	// auth.DefaultGateConfig).
	MaxPendingChecks int
}

// DefaultConfig returns a Config holding every default, for those who
// show the defaults (the command's flags).
func DefaultConfig() Config {
	var c Config
	c.defaults()
	return c
}

// The server's own defaults. Those of the rules the hub applies (rooms,
// history, flood control, transfers) are the hub's, and login throttling's
// are auth's: each is written once, where it is used.
const (
	defaultAddr            = ":7777"
	defaultShutdownTimeout = 2 * time.Second
	defaultMaxOutput       = 1 << 20
	defaultPingInterval    = 30 * time.Second
	defaultPeerTimeout     = 30 * time.Second
	defaultWorkers         = 2
	defaultHelloTimeout    = 10 * time.Second
	defaultFrameTimeout    = 30 * time.Second
	defaultMsgRate         = 10 // a second; the hub's zero is no limit
	defaultIRCName         = "chat.server"
	defaultStoreHistory    = 100_000 // a room's messages: weeks of a busy one
	defaultStoreBytes      = 1 << 30
	defaultStoreAge        = 60 * 24 * time.Hour
	defaultInboxLimit      = 100
)

// Where messages are kept (Config.Store).
const (
	StoreMemory   = "memory"
	StoreEmbedded = "embedded"
)

// durable reports whether a message store keeps the messages.
func (c *Config) durable() bool { return c.Store != StoreMemory || len(c.NATS) > 0 }

func (c *Config) defaults() {
	if c.TLSAddr == "" {
		setDefault(&c.Addr, defaultAddr)
	}
	setPositive(&c.HandshakeWorkers, max(runtime.GOMAXPROCS(0)-1, 1))
	setDefault(&c.UsersFile, auth.DefaultUsersFile)
	setPositive(&c.ShutdownTimeout, defaultShutdownTimeout)
	setPositive(&c.MaxOutput, defaultMaxOutput)
	setDefault(&c.PingInterval, defaultPingInterval)
	setDefault(&c.Lease, DefaultLease)
	setDefault(&c.ResumeTTL, auth.DefaultResumeTTL)
	setPositive(&c.PeerTimeout, defaultPeerTimeout)
	setPositive(&c.Workers, defaultWorkers)
	setDefault(&c.HelloTimeout, defaultHelloTimeout)
	setDefault(&c.FrameTimeout, defaultFrameTimeout)
	setDefault(&c.MsgRate, defaultMsgRate)
	setDefault(&c.IRCName, defaultIRCName)
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	h := hub.DefaultConfig()
	setPositive(&c.MaxRooms, h.MaxRooms)
	setPositive(&c.MaxJoined, h.MaxJoined)
	if c.Store == "" && (c.StateDir != "" || len(c.NATS) > 0) {
		c.Store = StoreEmbedded
	}
	setDefault(&c.Store, StoreMemory)
	if c.durable() {
		setDefault(&c.HistoryLen, defaultStoreHistory)
		if c.StoreMaxBytes > 0 && c.HistoryBytes == 0 {
			// JetStream reserves the room stream's bytes out of the
			// store's: the rest is for private messages and room state.
			c.HistoryBytes = min(defaultStoreBytes, c.StoreMaxBytes/2)
		}
		setDefault(&c.HistoryBytes, defaultStoreBytes)
		setPositive(&c.HistoryAge, defaultStoreAge)
		setPositive(&c.InboxLimit, defaultInboxLimit)
	} else {
		setDefault(&c.HistoryLen, h.HistoryLen)
		setDefault(&c.HistoryBytes, int64(h.HistoryBytes))
	}
	setPositive(&c.MsgBurst, h.MsgBurst)
	setPositive(&c.MaxRefused, h.MaxRefused)
	g := auth.DefaultGateConfig()
	setPositive(&c.LoginFree, g.Free)
	setDefault(&c.LoginDelay, g.Delay)
	setPositive(&c.LoginDelayMax, g.DelayMax)
	setPositive(&c.LoginQuiet, g.Quiet)
	setPositive(&c.MaxPendingChecks, g.MaxPending)
}

// setDefault sets *v to def if it is zero. A negative value is kept: for
// the fields that take one it means "none" (no pings, no history).
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// setPositive sets *v to def unless it is positive.
func setPositive[T cmp.Ordered](v *T, def T) {
	var zero T
	if *v <= zero {
		*v = def
	}
}

// Server is the chat server: one goroutine (Run) owns every descriptor and
// waits on them all with poll(2).
type Server struct {
	cfg Config
	hub *hub.Hub
	ver *auth.Verifier
	// checks is the way of password checks to ver and back (login
	// throttling, the bound on checks under way).
	checks *auth.Gate
	// tokens gives and checks resume tokens (resume.go); its key is set
	// in New, before the loop, and only read after.
	tokens *auth.Resume
	// hashing is ver.Hashing, kept apart because ver is cleared when Run
	// ends while Hashing may be called from any goroutine.
	hashing func() bool
	// queued counts the bytes of hub output (messages, notices) queued to
	// sessions; the loop publishes it in queuedOut once per pass with
	// output, for OutputBytes.
	queued    uint64
	queuedOut atomic.Uint64
	// released counts the bytes the loop let go of on its own (quiet TLS
	// connections' ciphers and buffers), for ReleasedBytes.
	released atomic.Uint64

	// listeners: the chat protocol's, plain then TLS, then IRC's
	// (listen.go), those the Config asks for.
	listeners []*listener
	wakeup    wakePipe
	stop      atomic.Bool
	running   atomic.Bool

	// Owned by the loop goroutine.
	poll        poller.Poller
	shutting    bool
	deadline    time.Time // of the graceful shutdown
	rbuf        []byte    // every read goes here first
	stopSignals func()

	// Accepting (loop.go).
	nextSid      hub.SessionID
	acceptPaused bool // out of descriptors: until acceptRetry or a close
	acceptRetry  time.Time
	acceptLogged bool

	// The connections (loop.go, conn.go).
	conns      map[int]*conn // by descriptor
	bySid      map[hub.SessionID]*conn
	perAddr    map[string]int     // open connections by peer IP
	closingSet map[*conn]struct{} // closing in order, within their deadline
	dying      []*conn            // killed, closed by reap

	// Handing requests to the hub and carrying out its outputs (loop.go).
	frame     wire.Frame // the request process decodes into
	direct    []byte     // a protocol's answers of its own (process)
	applying  int        // depth of apply calls under way
	requested []*conn    // connections with requests made while encoding (applied)

	// The pass's output (loop.go, writers.go).
	dirty      []*conn // connections with output queued this pass (flushPass)
	dirtySpare []*conn
	urgent     []*conn        // those of them with a reply queued: written first
	passEvs    []poller.Event // the events of a capped pass (passEvents)
	nextEvent  int            // where the next capped pass starts
	writers    *writePool     // write helpers; nil: the loop writes alone
	flushing   []flushJob     // flushParallel's scratch
	freeOut    []*outBuf      // idle output buffers (afterWrite, enqueue)
	freeBytes  int            // their total capacity

	// Timers, the state directory and the relay.
	nextSweep time.Time    // next liveness check (loop.go)
	nextGuard time.Time    // next Hello and frame deadline check (defences.go)
	state     *stateWriter // nil without Config.StateDir, or with a store (state.go)
	durable   *durable     // the message store; nil: messages in memory (durable.go)
	cluster   *cluster     // this server's part in a cluster; nil: it stands alone (cluster.go)
	savedVer  uint64       // hub.StateVersion() last handed to state
	relay     relayState   // file transfer relay (relay.go)
	tls       *tlsState    // nil without TLS listeners (tls.go)
	stats     loopStats    // the loop's counts for the metrics (metrics.go)
	metrics   *metrics     // nil without Config.MetricsAddr (metrics.go)
}

// New opens the listening socket, the wake pipe and the users file, and
// starts the password workers. A bad address or an unreadable users file
// fails here. Run must be called to serve and to release everything.
func New(cfg Config) (_ *Server, err error) {
	cfg.defaults()
	s := &Server{
		cfg:        cfg,
		wakeup:     wakePipe{r: -1, w: -1},
		conns:      make(map[int]*conn),
		bySid:      make(map[hub.SessionID]*conn),
		closingSet: make(map[*conn]struct{}),
		perAddr:    make(map[string]int),
		rbuf:       make([]byte, 64<<10),
	}
	defer func() {
		if err != nil {
			s.closeFds()
		}
	}()
	switch cfg.Poller {
	case "", "poll":
		s.poll = poller.New()
	case "epoll":
		ep, err := poller.NewEpoll()
		if err != nil {
			return nil, err
		}
		s.poll = ep
	default:
		return nil, fmt.Errorf("unknown poller %q: use poll or epoll", cfg.Poller)
	}
	if err = s.openListeners(); err != nil {
		return nil, err
	}
	if err = s.wakeup.open(); err != nil {
		return nil, err
	}
	if cfg.MetricsAddr != "" {
		if s.metrics, err = s.newMetrics(cfg.MetricsAddr); err != nil {
			return nil, err
		}
	}
	newVerifier := auth.NewVerifier
	if cfg.Guests {
		// Guests need no accounts, so a guests server is of use before
		// anyone has run useradd.
		newVerifier = auth.NewVerifierAllowMissing
	}
	s.ver, err = newVerifier(cfg.UsersFile, cfg.Workers, cfg.HashWorker, s.wakeup.wake, cfg.Logf)
	if err != nil {
		return nil, err
	}
	s.tokens = s.newResume()
	s.checks = auth.NewGate(s.ver, auth.GateConfig{Free: cfg.LoginFree, Delay: cfg.LoginDelay,
		DelayMax: cfg.LoginDelayMax, Quiet: cfg.LoginQuiet, MaxPending: cfg.MaxPendingChecks, Logf: cfg.Logf,
		Resume: s.tokens})
	s.hashing = s.ver.Hashing
	historyLen, historyBytes := cfg.HistoryLen, int(cfg.HistoryBytes)
	if cfg.durable() {
		if err = cfg.checkStore(); err != nil {
			return nil, err
		}
		// The hub keeps a room's latest messages, a cache of the store's.
		h := hub.DefaultConfig()
		historyLen, historyBytes = min(historyLen, h.HistoryLen), h.HistoryBytes
	}
	if cfg.clustered() {
		s.cluster = &cluster{node: cfg.nodeName(), alive: make(map[string]bool), retry: takeoverRetry}
	}
	s.hub = hub.New(s.hubConfig(historyLen, historyBytes))
	switch {
	case cfg.durable():
		if err = s.openStore(); err != nil {
			return nil, err
		}
		s.loadResumeKey()
		if s.cluster != nil {
			if err = s.joinCluster(); err != nil {
				s.closeStore()
				return nil, fmt.Errorf("cannot join the cluster as node %s: %w", s.cluster.node, err)
			}
		}
	case cfg.StateDir != "":
		if err = s.restoreState(); err != nil {
			return nil, err
		}
	}
	if cfg.Signals {
		// From here on (before any ready line is printed) a signal means a
		// graceful shutdown, even if Run has not started yet.
		s.stopSignals = s.handleSignals()
	}
	return s, nil
}

// hubConfig is the hub's configuration, its history bounded as given.
func (s *Server) hubConfig(historyLen, historyBytes int) hub.Config {
	cfg := s.cfg
	return hub.Config{
		MaxRooms:     cfg.MaxRooms,
		MaxJoined:    cfg.MaxJoined,
		IsOperator:   func(name string) bool { return slices.Contains(cfg.Operators, name) },
		Guests:       cfg.Guests,
		IsRegistered: s.ver.Registered,
		Resume:       s.tokens,
		HistoryLen:   historyLen,
		HistoryBytes: historyBytes,
		Durable:      cfg.durable(),
		Follows:      cfg.durable(),
		Transfer:     cfg.Transfer,
		MsgRate:      max(cfg.MsgRate, 0),
		MsgBurst:     cfg.MsgBurst,
		MaxRefused:   cfg.MaxRefused,
		Node:         s.nodeOf(),
	}
}

// nodeOf is the server's node in a cluster, "" when it stands alone.
func (s *Server) nodeOf() string {
	if s.cluster == nil {
		return ""
	}
	return s.cluster.node
}

// Hashing reports whether a password is being checked (argon2id, 19 MiB
// of memory each) at the moment. It is safe from any goroutine.
func (s *Server) Hashing() bool { return s.hashing() }

// OutputBytes returns how many bytes of messages and notices the server has
// queued to its sessions since it started, as of the last pass of its loop
// that had any. Safe from any goroutine; the memory trimmer uses it to tell
// a server that is relaying from one that idles.
func (s *Server) OutputBytes() uint64 { return s.queuedOut.Load() }

// ReleasedBytes returns about how many bytes the loop has let go of since
// it started without anything being allocated (quiet TLS connections'
// ciphers and buffers): garbage the memory trimmer should count as it
// counts allocations. Safe from any goroutine.
func (s *Server) ReleasedBytes() uint64 { return s.released.Load() }

// Addr returns the address where the chat protocol is served, HOST:PORT:
// the plain listener's, or the TLS listener's if there is no plain one.
func (s *Server) Addr() string {
	if a := s.listenerAddr(false, false); a != "" {
		return a
	}
	return s.TLSAddr()
}

// TLSAddr returns the address of the chat protocol's TLS listener, "" if
// there is none.
func (s *Server) TLSAddr() string { return s.listenerAddr(false, true) }

// IRCAddr returns the address of the plain IRC listener, "" if none.
func (s *Server) IRCAddr() string { return s.listenerAddr(true, false) }

// IRCTLSAddr returns the address of the IRC listener over TLS, "" if none.
func (s *Server) IRCTLSAddr() string { return s.listenerAddr(true, true) }

// Shutdown asks Run to shut down gracefully. It is safe from any goroutine,
// returns at once, and does nothing once Run has returned.
func (s *Server) Shutdown() {
	s.stop.Store(true)
	s.wakeup.wake()
}

// closeFds releases the descriptors New opened.
func (s *Server) closeFds() {
	if s.poll != nil {
		s.poll.Close()
	}
	if s.ver != nil {
		s.ver.Close()
		s.ver = nil
	}
	for _, l := range s.listeners {
		l.close()
	}
	s.metrics.close()
	s.wakeup.close()
}

// Run serves until Shutdown (or SIGINT/SIGTERM with Config.Signals), then
// shuts down gracefully: every session is told, output is flushed within
// ShutdownTimeout, every socket is closed, the workers stop. It returns nil
// after a graceful shutdown and releases everything in every case.
func (s *Server) Run() (err error) {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("server: Run called twice")
	}
	if s.stopSignals != nil {
		defer s.stopSignals()
	}
	defer s.closeFds()
	s.writers = newWritePool(s.cfg.WriteHelpers)
	defer s.writers.stop()
	defer s.closeAll()
	defer s.closeStore()
	defer func() { s.finishState(err == nil) }()
	// Before the store closes: the health check probes it.
	s.startMetrics()
	defer s.stopMetrics()
	for _, l := range s.listeners {
		if err := s.poll.Add(l.fd); err != nil {
			return err
		}
	}
	if err := s.poll.Add(s.wakeup.r); err != nil {
		return err
	}
	// The chat listener's line last: whoever waits for it has them all.
	for _, l := range slices.Backward(s.listeners) {
		s.cfg.Logf("%slistening on %s", l.what, l.addr)
	}
	return s.loop()
}

// handleSignals turns SIGINT and SIGTERM into Shutdown calls. The returned
// function stops that and waits for the goroutine to end.
func (s *Server) handleSignals() func() {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case sig := <-ch:
				s.cfg.Logf("got %v", sig)
				s.Shutdown()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		wg.Wait()
	}
}
