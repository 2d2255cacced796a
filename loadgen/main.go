package loadgen

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Exit statuses of Main.
const (
	ExitOK       = 0 // the run completed and found nothing wrong
	ExitError    = 1 // the run could not be done
	ExitUsage    = 2
	ExitProblems = 3 // the run completed but found lost, duplicated or reordered deliveries, or sessions that failed
)

const usageText = `usage: loadgen [flags]

Opens many chat sessions to a server, logs them in, spreads them over rooms,
sends room messages at a fixed offered rate (open loop) and reports latency,
throughput, lost/duplicated/reordered deliveries, errors, and the CPU and
memory of the server (-server-pid or -spawn-server; its child processes, such as
its password workers, included) and of loadgen.

Profiles (flags override their defaults):
  idle             hold N sessions for the duration (default rate 0): memory
  rooms            rooms of ~100 (R = N/100), messages at -rate
  bigroom          one room of everyone (default 1000), messages at -rate
  churn            rooms, plus sessions that connect, log in, chat and leave at -churn-rate
  reconnect-storm  after the ramp every session drops at once and reconnects; reports
                   how long until all are back in their rooms
  overload         one room of 1000 at 1000 msgs/s (about 2x what it sustains) for
                   -duration (a sender that fell behind still sends what was due),
                   then nothing more while the sessions stay for -drain;
                   reports the server's RSS before/peak/after, the sessions it cut
                   (Bye slow), losses of cut and of kept sessions apart, and a probe
                   message's latency between two other sessions before and after
  login-storm      a probe session logs in first and pings every 10 ms while all N
                   sessions (default 200) log in at once (-ramp 0 unless given; use
                   -login account for real password hashing); reports logins/s, the
                   login time and the pings' round trip during the storm
  handshake-storm  two probe sessions connect first and send each other a room message
                   every 10 ms while all N sessions (default 1000) connect, say Hello
                   and log in at once, entering no room (-ramp 0 unless given; with
                   -tls a full handshake each, as -tls-resume is off unless given);
                   reports the storm's duration and the probe messages' latency
                   during it (the probe sends 100 messages a second: start the
                   server with -msg-rate -1)
  crash            rooms traffic (default 200 sessions, account logins, 100 msgs/s for 24s)
                   while the server (-spawn-server only) is killed with SIGKILL -kills
                   times (default 3), evenly over -duration, and restarted at once on the
                   same -state directory and address; every session reconnects with
                   backoff, logs in, re-enters its room and asks History after the last
                   Seq it saw, as the chat client does; -away (default 0.1) of them are
                   cut a quarter interval before each kill and come back only after it,
                   so that what they missed is in nothing but the kept history. Then it
                   checks that every acknowledged message reached every member of its
                   room exactly once, in the same Seq order everywhere, and that
                   messages whose Say got no reply before a kill (unknown) are
                   everywhere or nowhere; it lists the violations and exits 3 if there
                   is one. -state none runs the server without a state directory,
                   which must fail the check
  chaos            rooms traffic (default 60 sessions in rooms of 10, account logins,
                   30 msgs/s for 1m) over -servers chat servers (default 3, -spawn-server
                   only) sharing a NATS cluster of 3 nodes that loadgen runs in its own
                   process, with a proxy on every route; each server gets -nats with every
                   node's URL (its own node first) and -server-name cN when it takes it.
                   Each room has members on every server; a session whose server dies
                   fails over to the next one, logs in, re-enters its room and asks
                   History after the last Seq it saw. Faults on a schedule from -seed
                   (0: a new one, printed): SIGKILL of a chat server restarted after a
                   pause, a NATS node stopped and started, a NATS node cut off from the
                   others and healed; at most one of each kind at a time and one NATS
                   node at a time, so the cluster keeps its quorum. Every couple of
                   seconds a takeover probe logs a session's account in on another
                   server: the old session must get Bye (takeover) and stop answering;
                   -faults picks what it does (kill,stop,partition,takeover; none).
                   At the end everything is healed and restarted; it checks what crash
                   checks, plus: no account answering on two servers at once, every
                   session back in its room, every server's who of each room listing its
                   members wherever they are, and no member told another was lost while
                   that one was back in the room; it exits 3 if there is a violation

TLS (-tls): every connection (sessions, churn, reconnects, probes) is a TLS client's
and verifies the server. With -spawn-server loadgen makes a self-signed certificate
for 127.0.0.1 for the run, serves it with -tls-cert/-tls-key and trusts it; against
-addr, -tls-ca FILE names the certificate to trust (the server's own self-signed one
works), or else the system's roots verify it. The connections of each process share
one TLS session cache, so a reconnect resumes its session (-tls-resume=false: every
handshake full).

IRC (-proto irc): the sessions speak IRC (RFC 1459/2812) to any IRC server instead:
NICK and USER (another nick if 433 says it is taken), JOIN of their room's channel
(#ROOM), and once every session has its channel's names (366) the run sends
PRIVMSG #ROOM with the same stamp as the chat protocol's, so loss, duplicates, order
and latency are checked the same way. PING is answered with PONG. The idle, rooms and
bigroom profiles run over IRC, with guest names (-login guest); IRC has no
acknowledgement, so "acknowledged" stays 0. With -spawn-server loadgen opens our
server's IRC listener (-irc, or -irc-tls with -tls) and uses it; give -server-args
"-msg-rate -1" to lift its flood limit, as for the chat protocol.

Examples:
  loadgen -spawn-server bin/chat-server -profile rooms -sessions 2000 -rate 200 -duration 10s
  loadgen -spawn-server bin/chat-server -tls -profile reconnect-storm -sessions 5000
  loadgen -addr chat.example.com:7777 -tls-ca server-cert.pem -profile idle
  loadgen -spawn-server bin/chat-server -proto irc -profile rooms -sessions 2000 -rate 200
  loadgen -spawn-server bin/chat-server -profile crash -kills 10 -duration 66s
  loadgen -spawn-server bin/chat-server -profile chaos -duration 10m -seed 7
  loadgen -addr 127.0.0.1:6667 -server-pid $(pidof ngircd) -proto irc -profile rooms
  loadgen -make-users 10000 -users /tmp/users.db -password pw     (write the file and exit)
  loadgen -addr 127.0.0.1:7777 -server-pid 1234 -login account -users /tmp/users.db -password pw

Exit status: 0 ok, 1 run failed, 2 usage, 3 the run found problems.

Flags:
`

// Main is loadgen's command line; cmd/loadgen is a thin wrapper.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == "-"+workerFlag {
		return RunWorkerProcess(stdin, stdout)
	}
	m, code := parseFlags(args, stderr)
	if m == nil {
		return code
	}
	defer m.removeTmp()
	if done, err := m.prepareUsers(stdout); done || err != nil {
		return exitStatus(stderr, err)
	}
	var spawned stoppers // read by the signal goroutine
	defer m.stopOnInterrupt(&spawned, stderr)()
	if m.tlsCA != "" {
		ca, err := readCA(m.tlsCA)
		if err != nil {
			return exitStatus(stderr, err)
		}
		m.cfg.TLS.CAPEM = ca
	}
	switch m.cfg.Profile {
	case ProfileCrash:
		return m.crash(stdout, stderr, &spawned)
	case ProfileChaos:
		return m.chaos(stdout, stderr, &spawned)
	case ProfileFailover:
		return m.failover(stdout, stderr, &spawned)
	}
	if m.cfg.Servers > 1 {
		stop, err := m.startCluster(&spawned, stderr)
		if err != nil {
			return exitStatus(stderr, err)
		}
		defer stop()
	} else if m.spawn != "" {
		_, stop, err := m.startSpawned(spawnArgs(&m.cfg, m.serverArgs), 10*time.Second, &spawned, stderr)
		if err != nil {
			return exitStatus(stderr, err)
		}
		defer stop()
	}
	if err := m.cfg.Validate(); err != nil {
		return exitStatus(stderr, usageError{err})
	}
	exe, err := os.Executable()
	if err != nil {
		return exitStatus(stderr, fmt.Errorf("find own binary for the worker processes: %w", err))
	}
	if m.cpuProfile != "" {
		stop, err := startCPUProfile(m.cpuProfile)
		if err != nil {
			return exitStatus(stderr, err)
		}
		defer stop()
	}
	rep, err := Run(m.cfg, exe, stderr)
	if err != nil {
		return exitStatus(stderr, err)
	}
	WriteTable(stdout, rep)
	return m.finish(stderr, rep)
}

// finish ends Main once the report is printed: it writes the report to
// -json if asked, and returns the status for what the run found.
func (m *mainFlags) finish(stderr io.Writer, rep interface{ Problems() bool }) int {
	if m.jsonFile != "" {
		if err := writeJSON(m.jsonFile, rep); err != nil {
			return exitStatus(stderr, err)
		}
	}
	if rep.Problems() {
		return ExitProblems
	}
	return ExitOK
}

// validateUnstarted refuses a bad command line before anything is
// started: the address is a started server's, so a stand-in takes its
// place.
func (m *mainFlags) validateUnstarted() error {
	check := m.cfg
	check.Addr = "127.0.0.1:0"
	if err := check.Validate(); err != nil {
		return usageError{err}
	}
	return nil
}

// mainFlags is the command line: the run's Config and what Main does
// around the run.
type mainFlags struct {
	cfg        Config
	usersFile  string
	makeUsers  int
	spawn      string
	serverArgs string
	jsonFile   string
	cpuProfile string
	tlsCA      string // -tls-ca: the certificates to verify an -addr server by
	stateDir   string // -state: the crash profile's server's state directory
	tmpDir     string // made for a spawned server's users file; removed at the end
}

// usageError is a command line Main refuses: it exits with ExitUsage.
type usageError struct{ error }

// exitStatus says what failed, if anything, and returns Main's status for
// err: ExitOK for none.
func exitStatus(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "loadgen: %v\n", err)
	if errors.As(err, new(usageError)) {
		return ExitUsage
	}
	return ExitError
}

// parseFlags reads the command line and fills the profile's defaults. On
// -h or an error (said on stderr) it returns nil and Main's status.
func parseFlags(args []string, stderr io.Writer) (*mainFlags, int) {
	fl := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fl.PrintDefaults()
	}
	m := &mainFlags{}
	cfg := &m.cfg
	fl.StringVar(&cfg.Addr, "addr", "", "server address HOST:PORT (loopback in our tests)")
	fl.StringVar(&cfg.Proto, "proto", ProtoChat, "what the sessions speak: chat, or irc (RFC 2812, to any IRC server; idle, rooms and bigroom)")
	fl.StringVar(&cfg.Profile, "profile", ProfileRooms, "load profile: "+strings.Join(Profiles, ", "))
	fl.IntVar(&cfg.Sessions, "sessions", 0, "concurrent sessions N (default by profile: 1000)")
	fl.IntVar(&cfg.Rooms, "rooms", 0, "rooms R; session i is in room i%R (default by profile: N/100, bigroom 1)")
	fl.Float64Var(&cfg.Rate, "rate", 0, "room messages per second offered by the whole run (default by profile)")
	fl.DurationVar(&cfg.Duration, "duration", 0, "measured run after the ramp (default by profile: 10s, storm 5s)")
	fl.DurationVar(&cfg.Ramp, "ramp", 0, "spread opening the sessions over this long (default N/2000 s)")
	connectRate := fl.Float64("connect-rate", 0, "open this many sessions per second instead of -ramp")
	fl.IntVar(&cfg.SetupInFlight, "setup-in-flight", 0, "at most this many sessions of each process between their dial and their room at once (0: no bound); for servers with a short listen backlog")
	fl.DurationVar(&cfg.Drain, "drain", 5*time.Second, "longest wait for in-flight deliveries after the run")
	fl.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "longest wait for one connect or one reply")
	fl.StringVar(&cfg.Login, "login", LoginGuest, "guest (claim generated names) or account (password login)")
	fl.StringVar(&m.usersFile, "users", "", "users file: account names for -login account, or where -make-users writes")
	fl.StringVar(&cfg.Password, "password", "loadgen-test-only", "password of the load test accounts")
	fl.IntVar(&m.makeUsers, "make-users", 0, "write a users file of this many generated accounts to -users first (alone: write and exit)")
	fl.StringVar(&cfg.Prefix, "prefix", "lg", "prefix of generated user and room names")
	fl.Float64Var(&cfg.ChurnRate, "churn-rate", 0, "churn sessions started per second (churn profile; default 50)")
	fl.IntVar(&cfg.ChurnMsgs, "churn-msgs", 3, "messages each churn session sends before it leaves")
	fl.IntVar(&cfg.Kills, "kills", 3, "crash: kill the server (SIGKILL) this many times, evenly over -duration")
	fl.Float64Var(&cfg.Away, "away", 0.1, "crash: share of the sessions cut a quarter interval before each kill, back only after the restart (so only the kept history can give them what they missed)")
	fl.IntVar(&cfg.Servers, "servers", 3, "chaos, failover, and idle or rooms with -spawn-server: chat servers started on a NATS cluster of three that loadgen runs (idle and rooms: one server unless given)")
	fl.DurationVar(&cfg.KillAfter, "kill-after", 0, "failover: kill the first server this long into the run (default a third of -duration)")
	fl.Uint64Var(&cfg.Seed, "seed", 0, "chaos: seed of the fault schedule and the probes' choices (0: a new one, printed)")
	fl.StringVar(&cfg.Faults, "faults", "kill,stop,partition,takeover", "chaos: what it does, comma-separated: kill (a chat server), stop (a NATS node), partition (a NATS node's routes), takeover (the probes); none for the load alone")
	fl.StringVar(&m.stateDir, "state", "", "crash: the server's -state `DIR` (default: a temporary directory, removed after; none: no -state, rooms and history in memory)")
	fl.IntVar(&cfg.Size, "size", 64, "message text length in bytes (at least the stamp)")
	fl.IntVar(&cfg.Procs, "procs", 0, "processes sharing the sessions (0: enough for the descriptor limit)")
	fl.IntVar(&cfg.ServerPID, "server-pid", 0, "report the RSS and CPU of this process and its children from /proc")
	fl.StringVar(&m.spawn, "spawn-server", "", "start this chat-server binary on 127.0.0.1:0 for the run and stop it after")
	fl.StringVar(&m.serverArgs, "server-args", "", "extra arguments for -spawn-server, space separated")
	fl.StringVar(&m.jsonFile, "json", "", "also write the report as JSON to this file")
	fl.BoolVar(&cfg.Quiet, "quiet", false, "no progress line every second on stderr")
	fl.StringVar(&m.cpuProfile, "cpuprofile", "", "write loadgen's own CPU profile here (the parent process: all of it with -procs 1)")
	useTLS := fl.Bool("tls", false, "connect over TLS; with -spawn-server the server gets a self-signed certificate made for the run")
	fl.StringVar(&m.tlsCA, "tls-ca", "", "PEM `FILE` of the certificates to verify an -addr server by, such as its own self-signed certificate (implies -tls; default: the system's roots)")
	resume := fl.Bool("tls-resume", true, "resume TLS sessions: a process's connections share one session cache (handshake-storm: off unless given)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ExitOK
		}
		return nil, ExitUsage
	}
	if fl.NArg() > 0 {
		return nil, exitStatus(stderr, usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fl.Args(), " "))})
	}
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := applyDefaults(cfg, set, *connectRate); err != nil {
		return nil, exitStatus(stderr, usageError{err})
	}
	if cfg.Profile != ProfileCrash && (set["kills"] || set["state"] || set["away"]) {
		return nil, exitStatus(stderr, usageError{errors.New("-kills, -away and -state are for the crash profile")})
	}
	if cfg.Profile != ProfileChaos && (set["seed"] || set["faults"]) {
		return nil, exitStatus(stderr, usageError{errors.New("-seed and -faults are for the chaos profile")})
	}
	if err := m.clusterFlags(set); err != nil {
		return nil, exitStatus(stderr, usageError{err})
	}
	if err := m.tlsFlags(set, *useTLS, *resume); err != nil {
		return nil, exitStatus(stderr, usageError{err})
	}
	return m, 0
}

// tlsFlags turns -tls, -tls-ca and -tls-resume into the run's TLSOptions;
// the certificates are read later (Main).
func (m *mainFlags) tlsFlags(set map[string]bool, useTLS, resume bool) error {
	if m.tlsCA != "" && m.spawn != "" {
		return errors.New("-tls-ca is for a server of your own (-addr): loadgen makes the certificate of the server it spawns")
	}
	if !useTLS && m.tlsCA == "" {
		if set["tls-resume"] {
			return errors.New("-tls-resume needs -tls")
		}
		return nil
	}
	if !set["tls-resume"] {
		// A storm of new clients makes full handshakes; returning ones
		// resume.
		resume = m.cfg.Profile != ProfileHandshake
	}
	m.cfg.TLS = &TLSOptions{Resume: resume}
	return nil
}

// prepareUsers sees to the accounts: written by -make-users, made for the
// spawned server, and read from -users for account logins. done is true
// when writing the file was all there was to do.
func (m *mainFlags) prepareUsers(stdout io.Writer) (done bool, err error) {
	cfg := &m.cfg
	if m.makeUsers > 0 {
		if m.usersFile == "" {
			return false, usageError{errors.New("-make-users needs -users FILE to write")}
		}
		if err := WriteUsers(m.usersFile, generatedNames(cfg, m.makeUsers), cfg.Password); err != nil {
			return false, err
		}
		if cfg.Addr == "" && m.spawn == "" {
			fmt.Fprintf(stdout, "loadgen: wrote %d accounts to %s\n", m.makeUsers, m.usersFile)
			return true, nil
		}
	}
	if m.spawn != "" && m.usersFile == "" {
		dir, err := os.MkdirTemp("", "loadgen-")
		if err != nil {
			return false, err
		}
		m.tmpDir = dir
		m.usersFile = filepath.Join(dir, "users.db")
		var names []string
		if cfg.Login == LoginAccount {
			names = generatedNames(cfg, cfg.Sessions+cfg.churnTotal()+cfg.probeAccounts())
		}
		if err := WriteUsers(m.usersFile, names, cfg.Password); err != nil {
			return false, err
		}
	}
	if cfg.Login == LoginAccount && m.usersFile != "" {
		names, err := readUserNames(m.usersFile)
		if err != nil {
			return false, err
		}
		cfg.Names = names
	}
	return false, nil
}

// removeTmp removes the files Main made, if any.
func (m *mainFlags) removeTmp() {
	if m.tmpDir != "" {
		os.RemoveAll(m.tmpDir)
	}
}

// startSpawned starts the server loadgen spawns, with args after its
// own, and points the run at it: its address (the IRC one over IRC), its
// process and its certificate. stop ends it, saying on stderr what went
// wrong if anything did.
func (m *mainFlags) startSpawned(args []string, timeout time.Duration, spawned *stoppers, stderr io.Writer) (srv *SpawnedServer, stop func(), err error) {
	srv, err = SpawnServer(m.spawn, SpawnOptions{
		UsersFile: m.usersFile,
		Guests:    m.cfg.Login == LoginGuest,
		TLS:       m.cfg.TLS != nil,
		IRC:       m.cfg.Proto == ProtoIRC,
		Args:      args,
		Timeout:   timeout,
	})
	if err != nil {
		return nil, nil, err
	}
	spawned.add(func() { srv.Stop() })
	m.cfg.Addr, m.cfg.ServerPID = srv.Addr, srv.PID
	if m.cfg.Proto == ProtoIRC {
		m.cfg.Addr = srv.IRCAddr
	}
	if m.cfg.TLS != nil {
		m.cfg.TLS.CAPEM = srv.CertPEM
	}
	return srv, func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
		}
	}, nil
}

// stopOnInterrupt makes an interrupted run still stop the servers it
// started and remove its files; the workers see their input close and stop
// by themselves. The function it returns ends the watch.
func (m *mainFlags) stopOnInterrupt(spawned *stoppers, stderr io.Writer) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(stderr, "loadgen: interrupted")
		spawned.stopAll()
		m.removeTmp()
		os.Exit(130)
	}()
	return func() {
		signal.Stop(sigs)
		close(sigs)
	}
}

// stoppers are what an interrupted run stops before it exits: the servers
// it spawned, the NATS cluster it started. Any goroutine may add.
type stoppers struct {
	mu    sync.Mutex
	stops []func()
}

func (s *stoppers) add(stop func()) {
	s.mu.Lock()
	s.stops = append(s.stops, stop)
	s.mu.Unlock()
}

// stopAll stops what was added, the last first.
func (s *stoppers) stopAll() {
	s.mu.Lock()
	stops := slices.Clone(s.stops)
	s.mu.Unlock()
	for _, stop := range slices.Backward(stops) {
		stop()
	}
}

// startCPUProfile profiles loadgen's own CPU into path, to show where it
// goes and that loadgen is not the bottleneck; stop ends the profile.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeJSON writes the report as JSON to path.
func writeJSON(path string, rep any) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err == nil {
		err = os.WriteFile(path, append(data, '\n'), 0o644)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Problems reports whether the run found something wrong with the server.
func (r *Report) Problems() bool {
	return r.Failed > 0 || r.Lost > 0 || r.Duplicates > 0 || r.OutOfOrder > 0 || r.Misrouted > 0 ||
		r.Unexpected > 0 || (r.Storm != nil && !r.AllBack()) || r.probeFailed()
}

// applyDefaults fills what the flags left unset from the profile, and
// derives the ramp and the process count.
func applyDefaults(cfg *Config, set map[string]bool, connectRate float64) error {
	def, ok := profileDefaults[cfg.Profile]
	if !ok {
		return fmt.Errorf("unknown profile %q: use one of %s", cfg.Profile, strings.Join(Profiles, ", "))
	}
	if !set["sessions"] {
		cfg.Sessions = def.Sessions
	}
	if !set["rooms"] {
		cfg.Rooms = def.Rooms
		switch {
		case cfg.Profile == ProfileChaos && set["sessions"]:
			cfg.Rooms = max(1, cfg.Sessions/10) // rooms of ten
		case cfg.Rooms == 0:
			cfg.Rooms = roomsFor(cfg.Sessions)
		}
	}
	if !set["rate"] {
		cfg.Rate = def.Rate
	}
	if !set["duration"] {
		cfg.Duration = def.Duration
	}
	if !set["churn-rate"] {
		cfg.ChurnRate = def.ChurnRate
	}
	if !set["login"] && def.Login != "" {
		cfg.Login = def.Login
	}
	switch {
	case set["ramp"]:
	case (cfg.Profile == ProfileLogin || cfg.Profile == ProfileHandshake) && connectRate == 0:
		cfg.Ramp = 0 // as fast as possible
	case connectRate > 0:
		cfg.Ramp = time.Duration(float64(cfg.Sessions) / connectRate * float64(time.Second))
	default:
		cfg.Ramp = time.Duration(cfg.Sessions) * time.Second / 2000
	}
	if cfg.Procs == 0 {
		cfg.Procs = autoProcs(cfg)
		if cfg.Profile == ProfileCrash || cfg.Profile == ProfileChaos || cfg.Profile == ProfileFailover {
			cfg.Procs = 1 // Validate refuses more sessions than one process holds
			if autoProcs(cfg) > 1 {
				return fmt.Errorf("%s runs in one process, whose descriptor limit holds fewer than %d sessions", cfg.Profile, cfg.Sessions)
			}
		}
	}
	return nil
}

// descriptorHeadroom is what each process keeps for itself below its
// descriptor limit: the runtime, pipes, and sessions that overlap while
// they reconnect.
const descriptorHeadroom = 1000

// autoProcs is the number of processes whose descriptor limits hold the
// run's sessions (churn sessions in flight included).
func autoProcs(cfg *Config) int {
	var lim syscall.Rlimit
	limit := uint64(1024)
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		// Go raises the soft limit to the hard one at startup, in children too.
		limit = max(lim.Cur, lim.Max)
	}
	per := int(max(limit, 2*descriptorHeadroom) - descriptorHeadroom)
	need := cfg.Sessions
	if cfg.Profile == ProfileChurn {
		need += maxChurnInFlight
	}
	return max(1, (need+per-1)/per)
}

// spawnArgs are the extra server arguments: room limit raised when the run
// needs more than the server's default, then the user's.
func spawnArgs(cfg *Config, extra string) []string {
	var args []string
	if cfg.Rooms > 1000 {
		args = append(args, "-max-rooms", fmt.Sprint(cfg.Rooms))
	}
	return append(args, strings.Fields(extra)...)
}
