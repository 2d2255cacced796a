package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"chat/internal/certs"
	"chat/server"
	"chat/server/auth"
)

const usage = `usage:
  chat-server [-addr HOST:PORT] [-users FILE] [-demo] [-guests] [-irc HOST:PORT] [-state DIR]
              [-tls-cert FILE -tls-key FILE [-tls-addr HOST:PORT] [-irc-tls HOST:PORT]]
              [-irc-name NAME] [-irc-password PW | -irc-password-file FILE] [-opers NAME,...] [-chanlimit N]
              [-max-rooms N] [-history N] [-max-per-addr N] [-msg-rate N] [-msg-burst N] [-max-refused N]
              [-ping-interval D] [-peer-timeout D] [-hello-timeout D] [-frame-timeout D] [-metrics HOST:PORT]
              [-login-delay D] [-login-delay-max D] [-shutdown-timeout D] [-poller poll|epoll] [-quiet]
              [-store embedded|memory] [-nats URL,... [-server-name NAME] [-replicas N]]
              [-cluster NAME -cluster-listen HOST:PORT -routes URL,... [-server-name NAME] [-replicas N]] [PORT]
  chat-server useradd [-users FILE] NAME
  chat-server passwd  [-users FILE] NAME
  chat-server userdel [-users FILE] NAME
  chat-server cert -host NAME [-host NAME...] [-cert FILE] [-key FILE] [-days N] [-force]
  chat-server status [-timeout D] HOST:PORT
`

// run is main without the exit, so tests can call it.
func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "useradd", "passwd", "userdel":
			return userCommand(args[0], args[1:], stdin, stdout, stderr)
		case "cert":
			return certCommand(args[1:], stdout, stderr)
		case "status":
			return statusCommand(args[1:], stdout, stderr)
		case hashWorkerCommand:
			return hashWorker(stdin, stdout, stderr)
		}
	}
	return serve(args, stdout, stderr)
}

// serveFlags is what the command line says beyond the server's Config.
type serveFlags struct {
	demo, quiet     bool
	tls             tlsFlags
	ircPasswordFile string
}

// parseServe reads the command line into a Config that starts from the
// server's defaults, so each default is written once (in the package that
// applies it) and the flags' help shows it. ok false: exit with code.
func parseServe(args []string, stderr io.Writer) (cfg server.Config, f serveFlags, code int, ok bool) {
	cfg = server.DefaultConfig()
	fl := flag.NewFlagSet("chat-server", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, usage)
		fl.PrintDefaults()
	}
	fl.StringVar(&cfg.Addr, "addr", cfg.Addr, "address of the chat protocol, HOST:PORT: over TLS with -tls-cert, unless -tls-addr is given")
	fl.StringVar(&cfg.UsersFile, "users", cfg.UsersFile, "users file (NAME:HASH lines)")
	fl.BoolVar(&f.demo, "demo", false, "run with a temporary users file holding accounts alice and bob with generated passwords")
	fl.BoolVar(&cfg.Guests, "guests", false, "allow guest names without a password (claim); the users file then need not exist yet: no accounts until it does")
	fl.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long a graceful shutdown may flush output")
	fl.IntVar(&cfg.MaxRooms, "max-rooms", cfg.MaxRooms, "most rooms the server holds")
	cfg.HistoryLen, cfg.HistoryBytes = 0, 0 // their defaults depend on -store
	fl.IntVar(&cfg.HistoryLen, "history", 0, "messages each room keeps for history (default 256 in memory, 100000 in a store; negative: none, memory only)")
	fl.Int64Var(&cfg.HistoryBytes, "history-bytes", 0, "bytes of messages kept: each room's in memory (default 1 MiB), all rooms' together in a store (default 1 GiB), the oldest going first")
	fl.DurationVar(&cfg.HistoryAge, "history-age", 0, "how long a store keeps a message (default 1440h: 60 days)")
	fl.StringVar(&cfg.Store, "store", "", "where messages are kept: embedded (NATS JetStream in this process, files in the -state directory: the default with -state) or memory (lost with the process: the default without)")
	fl.Func("nats", "keep messages and rooms on an external NATS with JetStream at `URL[,URL...]` instead", func(v string) error {
		cfg.NATS = append(cfg.NATS, splitList(v)...)
		return nil
	})
	fl.StringVar(&cfg.Cluster, "cluster", "", "make the embedded store a node of the NATS cluster `NAME`, formed with the other chat servers' at -routes (needs -state; every node gives the same name)")
	fl.StringVar(&cfg.ClusterListen, "cluster-listen", "", "with -cluster, listen for the other nodes' routes on `HOST:PORT`, for example :6222 (port 0: one the kernel picks, printed)")
	fl.Func("routes", "with -cluster, the nodes' route addresses, `nats://HOST:PORT[,...]` (scheme optional); this node's own may be among them, so that every node is given the same list", func(v string) error {
		routes := splitList(v)
		if len(routes) == 0 {
			return errors.New("no route: give nats://HOST:PORT[,...]")
		}
		cfg.Routes = append(cfg.Routes, routes...)
		return nil
	})
	fl.StringVar(&cfg.ServerName, "server-name", "", "this node's `name` in its cluster, with -cluster or -nats: one per node, kept across its restarts (default: from -cluster-listen when it names a host and a port, else the host name and -state; with -nats, the host name)")
	fl.DurationVar(&cfg.Lease, "lease", server.DefaultLease, "with -cluster or -nats: how long a server that stopped answering (killed, cut off) keeps its users' names before the others give them out, and a server cut off from NATS keeps its sessions; shorter fails over faster, but must stay longer than NATS takes to elect a leader")
	fl.IntVar(&cfg.Replicas, "replicas", 0, "how many nodes keep each stream and bucket (default: 3 in a cluster of three or more, else its size; 1 standing alone); with -nats give the NATS cluster's, 3 for R3")
	fl.StringVar(&cfg.Fsync, "fsync", "", "the embedded store's sync to disk: always (every write, survives a power cut; slower) or a `period` such as 1s (default: JetStream's, 2m; a killed server loses nothing either way)")
	fl.IntVar(&cfg.InboxLimit, "inbox", 0, "private messages kept for an account while it is away (default 100)")
	fl.Int64Var(&cfg.StoreMaxBytes, "store-max-bytes", 0, "most disk the embedded store may use (default: JetStream's share of the disk); past it messages are refused with an error until room is made")
	fl.DurationVar(&cfg.ResumeTTL, "resume-ttl", cfg.ResumeTTL, "how long the resume token a login is given is good for: a client back from a lost connection logs in again with it, here or on another server of the cluster, without a password check (0: no tokens)")
	fl.DurationVar(&cfg.PingInterval, "ping-interval", cfg.PingInterval, "ping a connection silent this long (negative: never)")
	fl.DurationVar(&cfg.PeerTimeout, "peer-timeout", cfg.PeerTimeout, "declare a pinged connection lost after this much more silence")
	fl.IntVar(&cfg.MaxPerAddr, "max-per-addr", 0, "most connections from one IP address (0: no limit)")
	fl.StringVar(&cfg.StateDir, "state", "", "directory that keeps the rooms and, in the embedded store, their messages across restarts (default: none, everything is forgotten)")
	fl.BoolVar(&f.quiet, "quiet", false, "log nothing on standard error")
	fl.DurationVar(&cfg.HelloTimeout, "hello-timeout", cfg.HelloTimeout, "close a connection that has not said Hello this long after connecting (negative: never)")
	fl.DurationVar(&cfg.FrameTimeout, "frame-timeout", cfg.FrameTimeout, "close a connection that holds a partial frame this long (negative: never)")
	fl.Float64Var(&cfg.MsgRate, "msg-rate", cfg.MsgRate, "messages a second each session may send after its burst (negative: no limit)")
	fl.IntVar(&cfg.MsgBurst, "msg-burst", cfg.MsgBurst, "messages each session may send at once")
	fl.IntVar(&cfg.MaxRefused, "max-refused", cfg.MaxRefused, "close a session after this many messages in a row were refused as too fast")
	fl.DurationVar(&cfg.LoginDelay, "login-delay", cfg.LoginDelay,
		fmt.Sprintf("delay of a login after %d attempts for its name or from its address, doubling with each more (negative: none)", cfg.LoginFree))
	fl.DurationVar(&cfg.LoginDelayMax, "login-delay-max", cfg.LoginDelayMax, "longest login delay")
	fl.StringVar(&cfg.IRCAddr, "irc", "", "also listen for IRC clients (irssi, weechat) on `HOST:PORT`, for example :6667; off when empty")
	fl.StringVar(&f.tls.cert, "tls-cert", "", "serve TLS with the certificate in `FILE` (PEM; read again when it changes), on -addr unless -tls-addr is given")
	fl.StringVar(&f.tls.key, "tls-key", "", "the private key of -tls-cert, in `FILE` (PEM, mode 0600)")
	fl.StringVar(&cfg.TLSAddr, "tls-addr", cfg.TLSAddr, "serve the chat protocol over TLS on `HOST:PORT`, leaving -addr plain; '' for no chat TLS listener (with -irc-tls)")
	fl.StringVar(&cfg.IRCTLSAddr, "irc-tls", "", "also listen for IRC clients over TLS on `HOST:PORT`, for example :6697; off when empty")
	fl.StringVar(&cfg.IRCName, "irc-name", cfg.IRCName, "the server's `name` on IRC")
	fl.StringVar(&cfg.IRCPassword, "irc-password", "", "the server `password` IRC clients must give with PASS (accounts then log in with SASL); see also -irc-password-file")
	fl.StringVar(&f.ircPasswordFile, "irc-password-file", "", "read the IRC server password from the first line of `FILE`, so it is not on the command line")
	fl.IntVar(&cfg.MaxJoined, "chanlimit", cfg.MaxJoined, "most rooms one session may be in at once (IRC's CHANLIMIT; the rooms client is in one)")
	fl.Func("opers", "comma-separated `accounts` that may become server operators (IRC's OPER, with the account's password)", func(v string) error {
		cfg.Operators = append(cfg.Operators, splitList(v)...)
		return nil
	})
	fl.IntVar(&cfg.WriteHelpers, "write-helpers", runtime.NumCPU()-1, "goroutines that share the writes of a busy loop pass with the loop, so a pass writing to many sockets uses every core (0: the loop writes alone; default: one fewer than the CPUs)")
	fl.StringVar(&cfg.MetricsAddr, "metrics", "", "serve GET /metrics (Prometheus), GET /healthz (for a load balancer) and GET /status (which node this is, its peers: chat-server status) over HTTP on `HOST:PORT`, for example 127.0.0.1:9100; off when empty")
	fl.StringVar(&cfg.Poller, "poller", "poll", "how the loop waits for its sockets: poll (poll(2)) or epoll (Linux epoll(7))")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, f, 0, false
		}
		return cfg, f, 2, false
	}
	if cfg.ResumeTTL == 0 {
		cfg.ResumeTTL = -1 // the Config's zero is its default
	}
	switch fl.NArg() {
	case 0:
	case 1:
		port, err := strconv.Atoi(fl.Arg(0))
		if err != nil || port < 0 || port > 65535 {
			fmt.Fprintf(stderr, "chat-server: bad port %q: give a number from 0 to 65535\n", fl.Arg(0))
			return cfg, f, 2, false
		}
		cfg.Addr = ":" + fl.Arg(0)
	default:
		fmt.Fprintf(stderr, "chat-server: too many arguments: %s\n", strings.Join(fl.Args(), " "))
		fl.Usage()
		return cfg, f, 2, false
	}
	if f.ircPasswordFile != "" {
		b, err := os.ReadFile(f.ircPasswordFile)
		pw, _, _ := strings.Cut(string(b), "\n")
		if pw = strings.TrimRight(pw, "\r"); err == nil && pw == "" {
			err = errors.New("its first line is empty")
		}
		if err != nil {
			fmt.Fprintf(stderr, "chat-server: -irc-password-file %s: %v\n", f.ircPasswordFile, err)
			return cfg, f, 2, false
		}
		cfg.IRCPassword = pw
	}
	if msg := checkNode(cfg); msg != "" {
		fmt.Fprintf(stderr, "chat-server: %s\n", msg)
		return cfg, f, 2, false
	}
	tlsAddrGiven := false
	fl.Visit(func(fl *flag.Flag) { tlsAddrGiven = tlsAddrGiven || fl.Name == "tls-addr" })
	if msg := f.tls.placeTLS(&cfg, tlsAddrGiven, f.tls.cert != "" || f.demo); msg != "" {
		fmt.Fprintf(stderr, "chat-server: %s\n", msg)
		return cfg, f, 2, false
	}
	return cfg, f, 0, true
}

func serve(args []string, stdout, stderr io.Writer) int {
	cfg, f, code, ok := parseServe(args, stderr)
	if !ok {
		return code
	}
	logger := log.New(stderr, "chat-server: ", log.LstdFlags)
	cfg.Logf = logger.Printf
	if f.quiet {
		cfg.Logf = func(string, ...any) {}
	}
	var d *demo
	if f.demo {
		var err error
		if d, err = startDemo(&cfg, &f.tls); err != nil {
			fmt.Fprintf(stderr, "chat-server: %v\n", err)
			return 1
		}
		defer d.remove()
	}
	if !usersFileReadable(cfg.UsersFile, cfg.Guests, cfg.Logf, stderr) {
		return 1
	}
	var store *certs.Store
	if f.tls.cert != "" {
		if cfg.TLS, store, ok = loadCertificate(f.tls.cert, f.tls.key, cfg.Logf, stderr); !ok {
			return 1
		}
	}
	cfg.HashWorker = hashWorkers(cfg.Workers, cfg.Logf)
	cfg.Signals = true
	srv, err := server.New(cfg)
	if err != nil {
		if addr, flagName, ok := listenFailure(cfg, f.tls, err); ok {
			hint := "choose another with " + flagName
			if errors.Is(err, syscall.EADDRINUSE) {
				hint = "is another server running there? " + hint
			}
			fmt.Fprintf(stderr, "chat-server: cannot listen on %s: %v (%s)\n", addr, unwrapAll(err), hint)
		} else {
			fmt.Fprintf(stderr, "chat-server: %v\n", err)
		}
		return 1
	}
	heapLimit.Do(func() { tightenHeap(srv.Hashing, srv.OutputBytes, srv.ReleasedBytes) })
	printListening(stdout, srv, store, d)
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	if err := srv.Run(); err != nil {
		fmt.Fprintf(stderr, "chat-server: %v\n", err)
		return 1
	}
	return 0
}

// listenFailure tells which address a listen error of server.New is
// about, and names the flag that moves that listener.
func listenFailure(cfg server.Config, t tlsFlags, err error) (addr, flagName string, ok bool) {
	var le *server.ListenError
	if !errors.As(err, &le) {
		return "", "", false
	}
	addr = le.Addr
	switch addr {
	case cfg.IRCAddr:
		flagName = "-irc HOST:PORT"
	case cfg.IRCTLSAddr:
		flagName = "-irc-tls HOST:PORT"
	case cfg.TLSAddr:
		flagName = "-tls-addr HOST:PORT"
		if t.onAddr {
			flagName = "-addr HOST:PORT or PORT"
		}
	default:
		flagName = "-addr HOST:PORT or PORT"
	}
	return addr, flagName, true
}

// usersFileReadable reports whether the users file reads, saying why not
// and what to do about it otherwise. With guests a file that does not exist
// will do: the server serves guests, no one can log in until the file
// appears, and logf says so once.
func usersFileReadable(path string, guests bool, logf func(string, ...any), stderr io.Writer) bool {
	_, err := auth.LoadUsers(path)
	switch {
	case err == nil:
		return true
	case errors.Is(err, fs.ErrNotExist) && guests:
		logf("no users file %s: no accounts are registered; guests only (create one with: chat-server useradd -users %s NAME; it is read without a restart)",
			path, path)
		return true
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stderr, "chat-server: cannot read users file %s: %v (create it with: chat-server useradd -users %s NAME, or try chat-server -demo)\n",
			path, unwrapAll(err), path)
	default:
		if _, isPath := errors.AsType[*fs.PathError](err); isPath {
			fmt.Fprintf(stderr, "chat-server: cannot read users file %s: %v\n", path, unwrapAll(err))
		} else {
			fmt.Fprintf(stderr, "chat-server: bad users file: %v\n", err)
		}
	}
	return false
}

// GOMAXPROCS and the memory limit are set once per process (tests call
// serve many times).
var moreProcs, heapLimit sync.Once

// splitList is a comma-separated flag's items, trimmed, empty ones left
// out.
func splitList(v string) []string {
	var items []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// unwrapAll returns the innermost error, whose text is the plain cause
// ("no such file or directory", "address already in use").
func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// randomPassword returns n characters from an alphabet without look-alikes.
func randomPassword(n int) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randIndex(len(alphabet))]
	}
	return string(b)
}

func randIndex(n int) int {
	// Rejection sampling keeps every character equally likely.
	limit := 256 - 256%n
	var one [1]byte
	for {
		if _, err := rand.Read(one[:]); err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		if int(one[0]) < limit {
			return int(one[0]) % n
		}
	}
}
