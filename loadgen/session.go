package loadgen

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"chat/internal/wire"
	"chat/internal/wireconn"
)

// readBufSize is each session's read buffer. Loopback reads rarely return
// more; a bigger buffer would only multiply loadgen's memory by thousands.
const readBufSize = 4096

// session is one connection of loadgen: a stable member of a room for the
// whole run, or a churn session that comes, chats and goes. One goroutine
// reads it (setup included) and is the only one to replace its connection;
// the sender goroutine writes to it too, and the worker closes it.
type session struct {
	w      *worker
	id     uint32 // global index; churn sessions count from cfg.Sessions up
	name   string
	room   uint32
	stable bool
	chk    *checker

	mu   sync.Mutex     // guards c and irc
	c    *wireconn.Conn // the chat protocol's connection
	irc  *ircConn       // the IRC connection, with -proto irc
	rbuf []byte         // the read buffer, kept from one connection to the next
	in   wire.Frame     // the frame readLoop handles
	// token is the newest resume token a login gave, with which the
	// session logs in again after the storm cut it; the reader's alone.
	token string

	up        atomic.Bool // set up and in its room
	reconnect atomic.Bool // the worker cut it for the storm: reconnect, do not report
	cut       atomic.Bool // the server cut it as a slow consumer (Bye slow)
	expected  uint64      // deliveries it should get from stable senders (set before the run)
	// Counters read by progress reports while the session runs.
	sent, acked, deliveries atomic.Uint64
	// First deliveries from stable and from churn senders, at a stable session.
	unique, uniqueChurn atomic.Uint64
}

func newSession(w *worker, id uint32, stable bool) *session {
	cfg := &w.cfg
	room := id % uint32(cfg.Rooms)
	name := cfg.userName(id, false)
	if !stable {
		name = cfg.userName(id-uint32(cfg.Sessions), true)
	}
	return &session{
		w:      w,
		id:     id,
		name:   name,
		room:   room,
		stable: stable,
		chk:    newChecker(room, uint32(cfg.Rooms), uint32(cfg.Sessions)),
	}
}

// conn is the current connection; nil before the first dial.
func (s *session) conn() *wireconn.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// request sends f as the next request, without waiting for its reply.
func (s *session) request(f *wire.Frame) error {
	c := s.conn()
	if c == nil {
		return net.ErrClosed
	}
	_, err := c.Request(f)
	return err
}

// closeConn closes the connection, in whichever protocol, which ends a
// blocked read or write.
func (s *session) closeConn() {
	s.mu.Lock()
	c, ic := s.c, s.irc
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
	if ic != nil {
		ic.Close()
	}
}

// dial connects, replacing any previous connection, and records the
// connect time (the TLS handshake's included) and the handshake's kind.
func (s *session) dial() error {
	if s.rbuf == nil {
		s.rbuf = make([]byte, readBufSize)
	}
	start := time.Now()
	c, err := wireconn.Dial(s.w.cfg.addrFor(s.id), wireconn.Options{
		Timeout:   s.w.cfg.Timeout,
		TLS:       s.w.tls,
		ReadBuf:   s.rbuf,
		Intercept: s.intercept,
		Malformed: s.malformed,
		Aside:     s.handle,
	})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	s.w.connectHist.record(s.id, time.Since(start))
	if isTLS, resumed := tlsState(c); isTLS {
		s.w.handshakes.Add(1)
		if resumed {
			s.w.resumed.Add(1)
		}
	}
	s.mu.Lock()
	if s.c != nil {
		s.c.Close()
	}
	s.c = c
	s.mu.Unlock()
	if s.w.closing.Load() {
		// The worker closed every connection while this one was dialling.
		s.closeConn()
		return fmt.Errorf("connect: %w", net.ErrClosed)
	}
	return nil
}

// intercept takes the room messages, nearly all of what arrives, from the
// bytes read, without decoding them into a Frame (three strings copied
// each), and delivers them.
func (s *session) intercept(body []byte, readAt time.Time) bool {
	text, ok := wire.MessageText(body)
	if ok {
		s.w.deliver(s, text, readAt)
	}
	return ok
}

// malformed counts a malformed frame from the server, which is skipped.
func (s *session) malformed(error) { s.w.errs.add("malformed frame from server") }

// call sends a request and waits for its reply, handling whatever else
// arrives meanwhile. A reply with a nonzero code is a
// *wireconn.RefusedError.
func (s *session) call(f *wire.Frame) (*wire.Frame, error) {
	return s.conn().CallOK(f, s.w.cfg.Timeout)
}

// handle deals with a frame nobody waits for: the server's ping, the reply
// to a Say, a notice, a Bye. (Deliveries never get here: intercept takes
// them.)
func (s *session) handle(f *wire.Frame) error {
	switch f.Type {
	case wire.TypeServerPing:
		// An unanswered ping gets an idle session declared lost.
		if err := s.conn().Send(&wire.Frame{Type: wire.TypePong}); err != nil {
			return fmt.Errorf("send pong: %w", err)
		}
	case wire.TypeReply:
		// Only Says are in flight outside call.
		if f.Code == wire.OK {
			s.acked.Add(1)
		} else {
			s.w.errs.add(fmt.Sprintf("say code %d", f.Code))
		}
	case wire.TypeBye:
		if f.Code == wire.ByeSlow {
			s.cut.Store(true)
		}
		s.w.errs.add(fmt.Sprintf("bye code %d", f.Code))
		return fmt.Errorf("%w: %s", errBye, f.Text)
	}
	return nil
}

// readLoop handles frames until the connection ends.
func (s *session) readLoop() error {
	c := s.conn()
	for {
		if err := c.Next(&s.in); err != nil {
			return err
		}
		if err := s.handle(&s.in); err != nil {
			return err
		}
	}
}

// setup connects, says hello, logs in and enters the session's room.
func (s *session) setup() error {
	if err := s.dial(); err != nil {
		return err
	}
	start := time.Now()
	if err := s.conn().Hello("loadgen 1", s.w.cfg.Timeout); err != nil {
		return err
	}
	if err := s.login(); err != nil {
		return err
	}
	s.w.loginHist.record(s.id, time.Since(start))
	if s.w.cfg.Profile == ProfileHandshake {
		// The storm is the connections': entering rooms of a hundred would
		// add a notice to every member for each entry, a join storm of its
		// own that would swamp the handshakes' cost.
		return nil
	}
	return enterRoom(s.conn(), s.w.cfg.roomName(s.room), s.w.cfg.Timeout)
}

// loginRetries bounds retries of a login the server could not do yet: a
// guest name still held by the connection the storm just cut, a password
// check refused because the server's queue was full, or in a cluster a
// name the servers' record of names did not settle in time. With the
// backoff below they give up after about 3.5 s.
const loginRetries = 20

func (s *session) login() error {
	cfg := &s.w.cfg
	retry := func(c wire.Code) bool {
		return c == wire.ErrUnavailable || c == wire.ErrNameTaken && cfg.Login != LoginAccount
	}
	for attempt := 1; ; attempt++ {
		var err error
		if cfg.Login == LoginAccount {
			var refused bool
			_, refused, err = loginAccount(s.conn(), s.name, cfg.Password, &s.token, cfg.Timeout)
			if refused {
				s.w.retries.add(errTokenRefused)
			}
		} else {
			err = cfg.logIn(s.conn(), s.name)
		}
		var re *wireconn.RefusedError
		if err == nil || !errors.As(err, &re) || !retry(re.Code) || attempt == loginRetries {
			return err
		}
		s.w.retries.add(refusedKind(re))
		time.Sleep(min(time.Duration(attempt)*20*time.Millisecond, 200*time.Millisecond))
	}
}

// logIn logs wc in as name: a guest's Claim, or with the run's password for
// account logins.
func (c *Config) logIn(wc *wireconn.Conn, name string) error {
	if c.Login == LoginAccount {
		return wc.Login(name, c.Password, c.Timeout)
	}
	return wc.Claim(name, c.Timeout)
}

// enterRoom enters room, creating it first if it does not exist yet:
// whichever member comes first creates it, and a Create that loses the
// race gets ErrRoomExists, which is fine.
func enterRoom(wc *wireconn.Conn, room string, timeout time.Duration) error {
	_, err := enterRoomReply(wc, room, timeout)
	return err
}

// enterRoomReply is enterRoom, returning the Enter's reply, which holds the
// room's last Seq.
func enterRoomReply(wc *wireconn.Conn, room string, timeout time.Duration) (*wire.Frame, error) {
	enter := func() (*wire.Frame, error) {
		return wc.CallOK(&wire.Frame{Type: wire.TypeEnter, Room: room}, timeout)
	}
	r, err := enter()
	var re *wireconn.RefusedError
	if !errors.As(err, &re) || re.Code != wire.ErrNoSuchRoom {
		return r, err
	}
	if _, err := wc.CallOK(&wire.Frame{Type: wire.TypeCreate, Room: room}, timeout); err != nil &&
		(!errors.As(err, &re) || re.Code != wire.ErrRoomExists) {
		return nil, err
	}
	return enter()
}

// say sends message seq of this session, stamped with its due time.
func (s *session) say(seq uint32, due time.Time, text []byte) ([]byte, error) {
	text = appendStamp(text[:0], stamp{Sender: s.id, Seq: seq, Intended: due.UnixNano()}, s.w.cfg.Size)
	s.w.sendLag.record(s.id, time.Since(due))
	if err := s.w.proto.say(s, text); err != nil {
		return text, err
	}
	s.sent.Add(1)
	return text, nil
}

// protocol is what a run's stable sessions speak to the server: the chat
// protocol, or IRC (irc_conn.go). The worker picks one for the run; the
// session's goroutine calls setup and readLoop, its sender say.
type protocol interface {
	// setup connects, logs in (or registers) and enters the session's
	// room; on return the session gets every message of its room.
	setup(s *session) error
	// readLoop handles what arrives until the connection ends.
	readLoop(s *session) error
	// say sends a room message with text, without waiting for a reply.
	say(s *session, text []byte) error
}

// protocolFor is the protocol of -proto name.
func protocolFor(name string) protocol {
	if name == ProtoIRC {
		return ircProtocol{}
	}
	return chatProtocol{}
}

// chatProtocol runs a session over the chat protocol (docs/PROTOCOL.md).
type chatProtocol struct{}

func (chatProtocol) setup(s *session) error    { return s.setup() }
func (chatProtocol) readLoop(s *session) error { return s.readLoop() }
func (chatProtocol) say(s *session, text []byte) error {
	return s.request(&wire.Frame{Type: wire.TypeSay, Text: string(text)})
}
