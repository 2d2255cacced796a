// Package client is the terminal chat client: one poll(2) loop over the
// keyboard, the server socket and a wake pipe for signals; a key
// decoder, line editor and renderer that keep typing intact while messages
// arrive; a password prompt with disguised echo; and a
// connection state machine that reconnects, logs in again and re-enters the
// room after any unintended disconnection. What the user types
// and sees is decided by a Mode; the rest is shared by every mode.
package client

import (
	"context"
	"io"
	"net/netip"
	"os"
	"time"

	"chat/internal/term"
	"chat/internal/wire"
)

// Exit statuses of Run.
const (
	ExitOK        = 0   // logout, Ctrl-D, end of input
	ExitError     = 1   // a failure the client cannot recover from
	ExitInterrupt = 130 // Ctrl-C (128 + SIGINT)
)

// Config is what Run needs. Zero durations take the defaults below.
type Config struct {
	// Servers are the addresses of the servers, HOST:PORT each, in the
	// order the client tries them (servers.go): it fails over from one to
	// the next. A host that resolves to several addresses counts as one
	// server for each. Empty means Addr alone.
	Servers []string
	Addr    string // HOST:PORT of the server when Servers is empty
	Mode    Mode
	// RetryMin is the base of the first pause before reconnecting (the
	// pause is jittered between RetryMin and twice that); RetryMax caps the
	// pauses.
	RetryMin, RetryMax time.Duration
	// PingAfter is how long the server may stay silent before the client
	// asks it for a sign of life; silence for twice as long counts as a lost
	// connection (a cut cable sends nothing).
	PingAfter time.Duration
	// ConnectTimeout bounds one connection attempt.
	ConnectTimeout time.Duration
	Stdin          *os.File
	Stdout         io.Writer
	Now            func() time.Time // the clock; nil means time.Now
	Rand           func() float64   // jitter source; nil means math/rand/v2
	// LookupHost resolves a server's host name to its addresses; nil
	// means the system's resolver. Tests inject names of their own.
	LookupHost func(ctx context.Context, host string) ([]netip.Addr, error)
	// ShareDir is the directory whose regular files this client serves
	// when another user asks for them; "" means the current
	// directory.
	ShareDir string
	// DownloadDir is where received files are stored; "" means the
	// current directory.
	DownloadDir string
	// TLS, when set, makes every connection to the server TLS, checked as
	// it says (tls.go); nil means plain TCP.
	TLS *TLSConfig
}

// Defaults.
const (
	DefaultAddr           = "localhost:7777"
	DefaultRetryMin       = time.Second
	DefaultRetryMax       = 30 * time.Second
	DefaultPingAfter      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	// maxReclaims bounds the attempts to claim a guest name again after a
	// reconnection while the server still holds it for the old connection
	// (a silent peer is declared lost only after its liveness timeout,
	// about a minute with the server's defaults; the backoff pauses cover
	// that).
	maxReclaims = 8
	// maxQueue bounds the requests kept while the connection is down.
	maxQueue = 100
	// logoutWait bounds the wait for the server's answer to a logout.
	logoutWait = 3 * time.Second
	// passwordPrompt is the prompt of the password editor.
	passwordPrompt = "Password: "
	clientSoftware = "chat 1"
)

// request is a request sent and not answered yet, or one waiting in the queue.
type request struct {
	frame  wire.Frame // as sent, without the password
	secret string     // the password of a Login, kept until its reply
	auto   bool       // sent by the client itself (hello, re-login, re-enter, ping)
	token  bool       // an automatic Login whose secret is the resume token, not the password
	again  bool       // an automatic Enter after re-creating the room: do not re-create twice
	view   string     // Command.View: how the mode shows the reply
	quiet  bool       // its reply is not shown (a quiet mode's logout on the way out)
	page   pageAsk    // a History the user's client asked for: how to show its page (history.go)
}

// Client is the state of one run of the client. It is driven by the loop in
// loop.go; state.go holds the connection state machine, session.go and
// resume.go what moves it, input.go what the keyboard does.
type Client struct {
	cfg  Config
	mode Mode
	now  func() time.Time
	tty  bool
	inFd int
	rows int // the terminal's height; 0 when unknown (not a terminal)
	r    *Renderer

	// Keyboard.
	ed       Editor
	inbuf    []byte               // bytes not yet decoded (a partial key or line)
	pw       *term.PasswordEditor // non-nil while the password prompt is up
	pwName   string               // the name the password is for
	pwLine   string               // non-terminal: the name whose password is the next line
	stdinEOF bool
	escAt    time.Time // when a lone ESC at the end of inbuf counts as the Escape key

	// Connection (state.go, session.go).
	// servers is where the attempts stand among the run's servers, and
	// server the one the connection is on, or the last attempt went to
	// (servers.go).
	servers       *rotation
	server        server
	conn          *conn     // nil in states offline and backingOff
	state         connState // where the connection stands
	until         time.Time // when the state's timer runs out (zero: it has none)
	everConnected bool      // a Hello was answered once: later connections are "reconnected"
	// failure is what failed last, from a failed attempt or a loss until
	// the connection is re-established; for the reports meanwhile.
	failure    string
	backoff    Backoff
	nextID     uint32
	pending    map[uint32]*request
	queue      []request
	queuedTold int // lines the user was told are queued, for the report after reconnecting
	lastRecv   time.Time
	pingID     uint32 // the client's liveness ping in flight

	// Session: remembered to log in again and re-enter after a reconnection.
	user   string
	secret string // kept only while logged in, for the automatic re-login
	// token is the resume token the server gave with the latest login (""
	// when it gives none): the automatic re-login sends it rather than
	// secret, so that a server taking over the clients of one that died
	// need not check each password again. Like secret it is kept in memory
	// only, never shown.
	token    string
	loggedIn bool
	// claimed: the login is a guest name taken with Claim (modes names and
	// course), to be claimed again after a reconnection rather than logged
	// in with a password.
	claimed  bool
	reclaims int // automatic claims or logins refused since the reconnection
	room     string
	lastSeq  uint64 // the last message of room seen, to ask for what was missed

	// resume is the re-entry of room after a disconnection (resume.go).
	resume resumeState
	// pages is the history the user pages through (history.go).
	pages pageState

	// File transfers (transfer.go): each has a data connection of its
	// own, polled by the same loop.
	xfers  []*transfer
	polled []*transfer // the transfers of the current poll set, in order
	xbuf   []byte      // read buffer of the data connections
	// promptShown is the prompt last printed as a line on an input that is
	// not a terminal (mode menu's prompts, LinePrompter).
	promptShown string

	// tls is the TLS of the run and of each server (tls.go); nil when it
	// speaks plain TCP.
	tls *secure
	// waker wakes the loop from another goroutine (a TLS handshake's);
	// nil until Run makes the wake pipe.
	waker *waker

	// Ending: the run is over (code is its exit status).
	done bool
	code int
}

func newClient(cfg Config, tty bool) *Client {
	if len(cfg.Servers) == 0 {
		addr := cfg.Addr
		if addr == "" {
			addr = DefaultAddr
		}
		cfg.Servers = []string{addr}
	}
	if cfg.Mode == nil {
		cfg.Mode = roomsMode{}
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.PingAfter <= 0 {
		cfg.PingAfter = DefaultPingAfter
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var sec *secure
	if cfg.TLS != nil {
		sec = newSecure(*cfg.TLS)
	}
	return &Client{
		servers: newRotation(cfg.Servers, cfg.LookupHost),
		server:  server{addr: cfg.Servers[0]},
		tls:     sec,
		cfg:     cfg,
		mode:    cfg.Mode,
		now:     now,
		tty:     tty,
		r:       NewRenderer(tty),
		backoff: Backoff{Min: cfg.RetryMin, Max: cfg.RetryMax, Rand: cfg.Rand},
		pending: make(map[uint32]*request),
		xbuf:    make([]byte, chunkSize),
	}
}

// report prints a report of the client itself: "! HH:MM:SS text".
func (c *Client) report(text string) {
	c.r.Print(c.mode.Report(c.now(), text))
}

// exit ends the loop with status code.
func (c *Client) exit(code int) {
	if !c.done {
		c.done, c.code = true, code
	}
}
