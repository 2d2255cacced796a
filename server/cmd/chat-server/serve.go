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
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"chat/server"
	"chat/server/auth"
)

const usage = `usage:
  chat-server [-addr HOST:PORT] [-users FILE] [-demo] [-guests] [-shutdown-timeout 2s]
              [-ping-interval 30s] [-peer-timeout 30s] [-max-rooms 1000] [-history 256] [-max-per-addr 0]
              [-state DIR] [-hello-timeout 10s] [-frame-timeout 30s] [-msg-rate 10] [-msg-burst 100]
              [-max-refused 200] [-login-delay 1s] [-login-delay-max 30s] [-poller poll|epoll] [-quiet] [PORT]
  chat-server useradd [-users FILE] NAME
  chat-server passwd  [-users FILE] NAME
  chat-server userdel [-users FILE] NAME
`

// run is main without the exit, so tests can call it.
func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "useradd", "passwd", "userdel":
			return userCommand(args[0], args[1:], stdin, stdout, stderr)
		case hashWorkerCommand:
			return hashWorker(stdin, stdout, stderr)
		}
	}
	return serve(args, stdout, stderr)
}

func serve(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("chat-server", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, usage)
		fl.PrintDefaults()
	}
	addr := fl.String("addr", ":7777", "address to listen on, HOST:PORT")
	users := fl.String("users", "users.db", "users file (NAME:HASH lines)")
	demo := fl.Bool("demo", false, "run with a temporary users file holding accounts alice and bob with generated passwords")
	guests := fl.Bool("guests", false, "allow guest names without a password (claim)")
	timeout := fl.Duration("shutdown-timeout", 2*time.Second, "how long a graceful shutdown may flush output")
	maxRooms := fl.Int("max-rooms", 1000, "most rooms the server holds")
	history := fl.Int("history", 256, "messages each room keeps for history (negative: none)")
	pingInterval := fl.Duration("ping-interval", 30*time.Second, "ping a connection silent this long (negative: never)")
	peerTimeout := fl.Duration("peer-timeout", 30*time.Second, "declare a pinged connection lost after this much more silence")
	maxPerAddr := fl.Int("max-per-addr", 0, "most connections from one IP address (0: no limit)")
	stateDir := fl.String("state", "", "directory that keeps the room list across restarts (default: none, rooms are forgotten)")
	quiet := fl.Bool("quiet", false, "log nothing on standard error")
	helloTimeout := fl.Duration("hello-timeout", 10*time.Second, "close a connection that has not said Hello this long after connecting (negative: never)")
	frameTimeout := fl.Duration("frame-timeout", 30*time.Second, "close a connection that holds a partial frame this long (negative: never)")
	msgRate := fl.Float64("msg-rate", 10, "messages a second each session may send after its burst (negative: no limit)")
	msgBurst := fl.Int("msg-burst", 100, "messages each session may send at once")
	maxRefused := fl.Int("max-refused", 200, "close a session after this many messages in a row were refused as too fast")
	loginDelay := fl.Duration("login-delay", time.Second, "delay of a login after 3 attempts for its name or from its address, doubling with each more (negative: none)")
	loginDelayMax := fl.Duration("login-delay-max", 30*time.Second, "longest login delay")
	ircAddr := fl.String("irc", "", "also listen for IRC clients (irssi, weechat) on `HOST:PORT`, for example :6667; off when empty")
	ircName := fl.String("irc-name", "chat.server", "the server's `name` on IRC")
	writeHelpers := fl.Int("write-helpers", runtime.NumCPU()-1, "goroutines that share the writes of a busy loop pass with the loop, so a pass writing to many sockets uses every core (0: the loop writes alone; default: one fewer than the CPUs)")
	pollerName := fl.String("poller", "poll", "how the loop waits for its sockets: poll (poll(2)) or epoll (Linux epoll(7))")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch fl.NArg() {
	case 0:
	case 1:
		port, err := strconv.Atoi(fl.Arg(0))
		if err != nil || port < 0 || port > 65535 {
			fmt.Fprintf(stderr, "chat-server: bad port %q: give a number from 0 to 65535\n", fl.Arg(0))
			return 2
		}
		*addr = ":" + fl.Arg(0)
	default:
		fmt.Fprintf(stderr, "chat-server: too many arguments: %s\n", strings.Join(fl.Args(), " "))
		fl.Usage()
		return 2
	}

	logger := log.New(stderr, "chat-server: ", log.LstdFlags)
	logf := logger.Printf
	if *quiet {
		logf = func(string, ...any) {}
	}

	if *demo {
		dir, err := os.MkdirTemp("", "chat-server-demo-")
		if err != nil {
			fmt.Fprintf(stderr, "chat-server: cannot create the demo users file: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		*users = filepath.Join(dir, "users.db")
		var u auth.Users
		var shown []string
		for _, name := range []string{"alice", "bob"} {
			pw := randomPassword(12)
			hash, err := auth.HashPassword(pw)
			if err == nil {
				err = u.Add(name, hash)
			}
			if err != nil {
				fmt.Fprintf(stderr, "chat-server: cannot create the demo users file: %v\n", err)
				return 1
			}
			shown = append(shown, name+" "+pw)
		}
		if err := u.Save(*users); err != nil {
			fmt.Fprintf(stderr, "chat-server: cannot create the demo users file: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "chat-server: demo accounts (passwords shown once): %s\n", strings.Join(shown, ", "))
	}

	if _, err := auth.LoadUsers(*users); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "chat-server: cannot read users file %s: %v (create it with: chat-server useradd -users %s NAME, or try chat-server -demo)\n",
				*users, unwrapAll(err), *users)
		} else if _, isPath := errors.AsType[*fs.PathError](err); isPath {
			fmt.Fprintf(stderr, "chat-server: cannot read users file %s: %v\n", *users, unwrapAll(err))
		} else {
			fmt.Fprintf(stderr, "chat-server: bad users file: %v\n", err)
		}
		return 1
	}
	// Passwords are checked by child processes, this binary with the
	// hash-worker subcommand (server/hashproc.go).
	hashArgv, err := hashWorkerArgv()
	if err != nil {
		logf("cannot find this program to start password workers (%v): checking passwords in this process", err)
		moreProcs.Do(func() {
			// The workers then hash on threads of the lowest priority,
			// each holding a Go P meanwhile (server/verifier.go): one P
			// more for each, so the loop keeps as many as there are cores.
			runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + workers)
		})
	}
	srv, err := server.New(server.Config{
		Addr:            *addr,
		UsersFile:       *users,
		ShutdownTimeout: *timeout,
		Guests:          *guests,
		MaxRooms:        *maxRooms,
		HistoryLen:      *history,
		PingInterval:    *pingInterval,
		PeerTimeout:     *peerTimeout,
		MaxPerAddr:      *maxPerAddr,
		StateDir:        *stateDir,
		HelloTimeout:    *helloTimeout,
		FrameTimeout:    *frameTimeout,
		MsgRate:         *msgRate,
		MsgBurst:        *msgBurst,
		MaxRefused:      *maxRefused,
		LoginDelay:      *loginDelay,
		LoginDelayMax:   *loginDelayMax,
		Poller:          *pollerName,
		Workers:         workers,
		HashWorker:      hashArgv,
		WriteHelpers:    *writeHelpers,
		IRCAddr:         *ircAddr,
		IRCName:         *ircName,
		Signals:         true,
		Logf:            logf,
	})
	if err != nil {
		if strings.HasPrefix(err.Error(), "listen on") {
			fmt.Fprintf(stderr, "chat-server: cannot listen on %s: %v (is another server running there? choose another with -addr HOST:PORT or PORT)\n",
				*addr, unwrapAll(err))
		} else {
			fmt.Fprintf(stderr, "chat-server: %v\n", err)
		}
		return 1
	}
	heapLimit.Do(func() { tightenHeap(srv.Hashing, srv.OutputBytes) })
	if a := srv.IRCAddr(); a != "" {
		// Before the ready line, so whoever waits for that has both.
		fmt.Fprintf(stdout, "chat-server: IRC listening on %s\n", a)
	}
	fmt.Fprintf(stdout, "chat-server: listening on %s\n", srv.Addr())
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	if err := srv.Run(); err != nil {
		fmt.Fprintf(stderr, "chat-server: %v\n", err)
		return 1
	}
	return 0
}

// workers is the number of password-checking goroutines.
const workers = 2

// GOMAXPROCS and the memory limit are set once per process (tests call
// serve many times).
var moreProcs, heapLimit sync.Once

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
