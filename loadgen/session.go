package loadgen

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"chat/internal/wire"
)

// readBufSize is each session's read buffer. Loopback reads rarely return
// more; a bigger buffer would only multiply loadgen's memory by thousands.
const readBufSize = 4096

// session is one connection of loadgen: a stable member of a room for the
// whole run, or a churn session that comes, chats and goes. One goroutine
// reads it (setup included); writes from the reader (Pong) and from the
// sender goroutine go through mu.
type session struct {
	w      *worker
	id     uint32 // global index; churn sessions count from cfg.Sessions up
	name   string
	room   uint32
	stable bool
	chk    *checker

	mu     sync.Mutex // guards conn, nextID and wbuf
	conn   net.Conn
	nextID uint32
	wbuf   []byte

	dec    wire.Decoder
	rbuf   []byte
	in     wire.Frame
	readAt time.Time // when the bytes being decoded arrived

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

// write sends one frame; requests get the next id.
func (s *session) write(f *wire.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return net.ErrClosed
	}
	if f.Type.IsRequest() {
		s.nextID++
		f.ID = s.nextID
	}
	s.wbuf = wire.Append(s.wbuf[:0], f)
	_, err := s.conn.Write(s.wbuf)
	return err
}

// closeConn closes the connection, which ends a blocked read or write.
func (s *session) closeConn() {
	s.mu.Lock()
	if s.conn != nil {
		s.conn.Close()
	}
	s.mu.Unlock()
}

// dial connects, replacing any previous connection, and records the
// connect time.
func (s *session) dial() error {
	start := time.Now()
	conn, err := net.DialTimeout("tcp", s.w.cfg.Addr, s.w.cfg.Timeout)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	s.w.connectHist.record(s.id, time.Since(start))
	s.mu.Lock()
	if s.conn != nil {
		s.conn.Close()
	}
	s.conn, s.nextID = conn, 0
	s.mu.Unlock()
	if s.w.closing.Load() {
		// The worker closed every connection while this one was dialling.
		s.closeConn()
		return fmt.Errorf("connect: %w", net.ErrClosed)
	}
	s.dec = wire.Decoder{}
	if s.rbuf == nil {
		s.rbuf = make([]byte, readBufSize)
	}
	return nil
}

// next returns the next frame from the server. The frame is s.in, valid
// until the next call. Room messages, nearly all of what arrives, are
// delivered here from the bytes read, without decoding them into a Frame
// (three strings copied each). A malformed body is counted and skipped.
func (s *session) next() (*wire.Frame, time.Time, error) {
	for {
		body, ok, err := s.dec.NextBody()
		if ok {
			if text, isMsg := wire.MessageText(body); isMsg {
				s.w.deliver(s, text, s.readAt)
				continue
			}
			err = wire.Unmarshal(body, &s.in)
		}
		switch {
		case ok && err == nil:
			return &s.in, s.readAt, nil
		case errors.Is(err, wire.ErrMalformed):
			s.w.errs.add("malformed frame from server")
			continue
		case err != nil:
			return nil, time.Time{}, fmt.Errorf("framing: %w", err)
		}
		s.mu.Lock()
		conn := s.conn
		s.mu.Unlock()
		n, err := conn.Read(s.rbuf)
		if n > 0 {
			s.readAt = time.Now()
			s.dec.Feed(s.rbuf[:n])
			continue
		}
		if err != nil {
			return nil, time.Time{}, err
		}
	}
}

// call sends a request and waits for its reply, handling whatever else
// arrives meanwhile. A reply with a nonzero code is a *replyError.
func (s *session) call(f *wire.Frame) (*wire.Frame, error) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	conn.SetReadDeadline(time.Now().Add(s.w.cfg.Timeout))
	defer conn.SetReadDeadline(time.Time{})
	if err := s.write(f); err != nil {
		return nil, fmt.Errorf("send %s: %w", f.Type, err)
	}
	id := f.ID
	for {
		in, now, err := s.next()
		if err != nil {
			return nil, fmt.Errorf("wait for the reply to %s: %w", f.Type, err)
		}
		if in.Type == wire.TypeReply && in.ID == id {
			if in.Code != wire.OK {
				return in, &replyError{req: f.Type, code: in.Code, text: in.Text}
			}
			return in, nil
		}
		if err := s.handle(in, now); err != nil {
			return nil, err
		}
	}
}

// handle deals with a frame nobody waits for: the server's ping, the reply
// to a Say, a notice, a Bye. (Deliveries never get here: next hands them
// to deliver.)
func (s *session) handle(f *wire.Frame, now time.Time) error {
	switch f.Type {
	case wire.TypeServerPing:
		// An unanswered ping gets an idle session declared lost.
		if err := s.write(&wire.Frame{Type: wire.TypePong}); err != nil {
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
	for {
		f, now, err := s.next()
		if err != nil {
			return err
		}
		if err := s.handle(f, now); err != nil {
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
	if _, err := s.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version, Text: "loadgen 1"}); err != nil {
		return err
	}
	if err := s.login(); err != nil {
		return err
	}
	s.w.loginHist.record(s.id, time.Since(start))
	return s.enter()
}

// loginRetries bounds retries of a login the server could not do yet: a
// guest name still held by the connection the storm just cut, or a password
// check refused because the server's queue was full. With the backoff below
// they give up after about 3.5 s.
const loginRetries = 20

func (s *session) login() error {
	cfg := &s.w.cfg
	for attempt := 1; ; attempt++ {
		f := &wire.Frame{Type: wire.TypeClaim, Name: s.name}
		retry := wire.ErrNameTaken
		if cfg.Login == LoginAccount {
			f = &wire.Frame{Type: wire.TypeLogin, Name: s.name, Secret: cfg.Password}
			retry = wire.ErrUnavailable
		}
		_, err := s.call(f)
		var re *replyError
		if err == nil || !errors.As(err, &re) || re.code != retry || attempt == loginRetries {
			return err
		}
		s.w.retries.add(re.kind())
		time.Sleep(min(time.Duration(attempt)*20*time.Millisecond, 200*time.Millisecond))
	}
}

// enter enters the session's room, creating it first if it does not exist
// yet: whichever member comes first creates it, and a Create that loses the
// race gets ErrRoomExists, which is fine.
func (s *session) enter() error {
	room := s.w.cfg.roomName(s.room)
	_, err := s.call(&wire.Frame{Type: wire.TypeEnter, Room: room})
	var re *replyError
	if !errors.As(err, &re) || re.code != wire.ErrNoSuchRoom {
		return err
	}
	if _, err := s.call(&wire.Frame{Type: wire.TypeCreate, Room: room}); err != nil &&
		(!errors.As(err, &re) || re.code != wire.ErrRoomExists) {
		return err
	}
	_, err = s.call(&wire.Frame{Type: wire.TypeEnter, Room: room})
	return err
}

// say sends message seq of this session, stamped with its due time.
func (s *session) say(seq uint32, due time.Time, text []byte) ([]byte, error) {
	text = appendStamp(text[:0], stamp{Sender: s.id, Seq: seq, Intended: due.UnixNano()}, s.w.cfg.Size)
	s.w.sendLag.record(s.id, time.Since(due))
	if err := s.write(&wire.Frame{Type: wire.TypeSay, Text: string(text)}); err != nil {
		return text, err
	}
	s.sent.Add(1)
	return text, nil
}
