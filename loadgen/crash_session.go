package loadgen

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"chat/internal/wire"
	"chat/internal/wireconn"
)

// A crash session is a member of one room for the whole run, across the
// server's deaths: when its connection ends it reconnects with backoff, logs
// in again, re-enters its room and asks History for what it missed, as the
// chat client's resume protocol does (client/resume.go). When the run has
// several servers (the chaos profile) it moves to the next of its list
// after a loss or a failed attempt, as the client fails over. It keeps
// every Say it sent with what became of it, and every room message it was
// shown, in the order it was shown, for the checker (crash_check.go).
//
// Two goroutines: the reader (life) owns the connection's setup, the resume
// state and the log, and is the only one to replace the connection; the
// sender (say, from the run's pacer) writes Says. mu guards what both
// touch.
type crashSession struct {
	run      *sessionRun
	id       uint32
	name     string
	room     uint32
	roomName string

	// The reader's alone.
	order    []int // indexes in run.addrs: the servers in the order it tries them
	at       int   // the index in order of the server it is on, or tries next
	ups      []upSpan
	rbuf     []byte
	in       wire.Frame
	lastSeq  uint64 // the last Seq of the room seen or acknowledged, as the client's
	token    string // the newest resume token a login gave, "" for none
	resume   crashResume
	log      []crashDelivery
	misroute []string // rooms of messages that were not this session's room's
	historyN []string // History replies whose Count disagreed with the replay
	gaps     []seqGap // resumes whose History was refused
	backoff  backoff

	mu      sync.Mutex
	c       *wireconn.Conn
	server  int           // the index in run.addrs of c's server
	up      bool          // in the room and resumed: Says may go
	upCh    chan struct{} // closed when up turns true
	says    []crashSay
	pending map[uint32]int // Say request id → index in says, until the reply
	sayID   uint32

	ready      atomic.Bool   // came up in the ramp
	backEpoch  atomic.Int64  // the kill count when the connection it last resumed on was dialled
	resuming   atomic.Bool   // lost, not back yet
	fromOthers atomic.Uint64 // log entries from other senders, for the drain
	acked      atomic.Uint64
	unanswered atomic.Uint64 // Says pending when a connection ended
	recreated  atomic.Uint64 // re-entries that found the room gone and made it again
	awayUntil  atomic.Int64  // cut before a kill: reconnect only once this many kills are done
	homeward   atomic.Bool   // cut to go back to its first server: the next attempt goes there
	cutAt      atomic.Int64  // when the run cut its connection (UnixNano), until the reader has seen it
}

// crashResume is the re-entry of the room after a lost connection, as the
// client's resumeState: from the loss until History's reply, the room's
// messages are held, to be shown in order of Seq.
type crashResume struct {
	active    bool
	from      uint64 // the last Seq seen before the loss
	joinSeq   uint64 // the Seq this connection joined the room at
	historyID uint32 // the History request awaited; 0 before it is sent
	epoch     int64  // kills done when this connection was dialled
	held      []crashDelivery
	// paged: the replay stopped short of from (the server replays the
	// latest wire.MaxHistoryPage), and pages before it were asked for.
	paged bool
}

// sayIDBit marks the request ids of Says, which the sender chooses itself
// so that it can record a Say before the reply can arrive; wireconn's own
// counter, which numbers the reader's requests, never gets near it.
const sayIDBit = 1 << 31

// errClosing ends a session's attempts: the run is over.
var errClosing = errors.New("the run is over")

// upSpan is a time the session was in its room: from the end of an entry
// or a resume until the connection ended (zero: it had not at the end).
type upSpan struct{ from, to time.Time }

func newCrashSession(run *sessionRun, id uint32) *crashSession {
	cfg := &run.cfg
	room := id % uint32(cfg.Rooms)
	return &crashSession{
		run: run, id: id, name: cfg.userName(id, false), room: room, roomName: cfg.roomName(room),
		order: serverOrder(id, cfg.Rooms, len(run.addrs)),
		rbuf:  make([]byte, readBufSize), upCh: make(chan struct{}), pending: make(map[uint32]int),
	}
}

// serverOrder is the order session id tries n servers in, as a user's
// chat client is given its list: the first is (id/rooms)%n, so that the
// members of each room are spread over every server; the others follow
// in one of n-1 rotations, so that the sessions of a server that dies
// spread over the others.
func serverOrder(id uint32, rooms, n int) []int {
	first := int(id/uint32(rooms)) % n
	order := []int{first}
	rot := int(id/uint32(rooms*n)) % max(n-1, 1)
	for k := range n - 1 {
		order = append(order, (first+1+(k+rot)%(n-1))%n)
	}
	return order
}

// life is the reader goroutine: the first setup (reported to rampDone
// when it ends), then reading, and after every loss a resume, until the
// run closes.
func (s *crashSession) life(rampDone func()) {
	defer s.run.readers.Done()
	err := s.attempt(false, time.Now().Add(s.run.cfg.Timeout))
	if err != nil {
		s.run.errs.add("setup: " + errKind(err))
		s.closeConn()
		rampDone()
		return
	}
	s.ready.Store(true)
	rampDone()
	for {
		err := s.readLoop()
		s.lost(err)
		if s.run.closing.Load() {
			return
		}
		if err := s.attempt(true, time.Time{}); err != nil {
			return // closing
		}
	}
}

// attempt sets the session up, or resumes it, until it works, with backoff
// between tries; it gives up at deadline (zero: only when the run closes).
func (s *crashSession) attempt(resume bool, deadline time.Time) error {
	s.backoff.reset()
	for s.awayUntil.Load() > s.run.epoch.Load() {
		if !s.run.sleep(10 * time.Millisecond) {
			return errClosing
		}
	}
	for {
		err := s.setup(resume)
		if err == nil {
			return nil
		}
		s.closeConn()
		if s.run.closing.Load() {
			return errClosing
		}
		s.failOver()
		s.run.retries.add(errKind(err))
		d := s.backoff.next()
		if !deadline.IsZero() && time.Now().Add(d).After(deadline) {
			return err
		}
		if !s.run.sleep(d) {
			return errClosing
		}
	}
}

// setup connects, logs in and enters the room. On a resume it then asks
// History for what was said since the last message seen, unless the
// server says nothing was (or made the room anew); the session is up once
// History has replied (finishResume).
func (s *crashSession) setup(resume bool) error {
	cfg := &s.run.cfg
	epoch := s.run.epoch.Load()
	s.resume.held, s.resume.epoch = nil, epoch
	s.resume.joinSeq, s.resume.historyID = 0, 0
	server := s.order[s.at]
	c, err := wireconn.Dial(s.run.addrs[server], wireconn.Options{Timeout: cfg.Timeout, TLS: s.run.tls, ReadBuf: s.rbuf, Aside: s.handle})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	s.mu.Lock()
	s.c, s.server = c, server
	s.mu.Unlock()
	if s.run.closing.Load() {
		return errClosing
	}
	if err := c.Hello("loadgen crash", cfg.Timeout); err != nil {
		return err
	}
	r, err := s.logIn(c)
	if err != nil {
		return err
	}
	if !resume {
		r, err := enterRoomReply(c, s.roomName, cfg.Timeout)
		if err != nil {
			return err
		}
		s.lastSeq = r.Seq
		s.setUp(epoch)
		return nil
	}
	if r.Room != "" && wire.FoldName(r.Room) == wire.FoldName(s.roomName) {
		// A takeover: the old session was still in the room, since Seq.
		s.resume.joinSeq = r.Seq
	}
	r, err = c.Call(&wire.Frame{Type: wire.TypeEnter, Room: s.roomName}, cfg.Timeout)
	if err != nil {
		return err
	}
	switch r.Code {
	case wire.OK:
	case wire.ErrNoSuchRoom:
		// The server lost its rooms: make the room again. A room made anew
		// has a history of its own, so there is nothing to ask for.
		r, err := enterRoomReply(c, s.roomName, cfg.Timeout)
		if err != nil {
			return err
		}
		s.recreated.Add(1)
		s.resume.from, s.resume.joinSeq = 0, 0
		s.lastSeq = r.Seq
		s.finishResume(nil)
		return nil
	default:
		return &wireconn.RefusedError{Req: wire.TypeEnter, Code: r.Code, Text: r.Text}
	}
	if s.resume.joinSeq == 0 {
		s.resume.joinSeq = r.Seq
	}
	if s.resume.joinSeq <= s.resume.from {
		s.finishResume(nil)
		return nil
	}
	// Messages were said while it was away: ask for them from the last one
	// seen, whatever arrives live meanwhile; readLoop gets the reply.
	id, err := c.Request(&wire.Frame{Type: wire.TypeHistory, Room: s.roomName, Seq: s.resume.from})
	if err != nil {
		return fmt.Errorf("send history: %w", err)
	}
	s.resume.historyID = id
	return nil
}

// logIn claims the session's guest name, or logs its account in: after
// the first login with the newest resume token it was given
// (loginAccount), which a session back from a lost connection needs not
// to queue for a password check behind every other.
func (s *crashSession) logIn(c *wireconn.Conn) (*wire.Frame, error) {
	cfg := &s.run.cfg
	if cfg.Login != LoginAccount {
		return c.CallOK(&wire.Frame{Type: wire.TypeClaim, Name: s.name}, cfg.Timeout)
	}
	if s.run.passwordOnly {
		return c.CallOK(&wire.Frame{Type: wire.TypeLogin, Name: s.name, Secret: cfg.Password}, cfg.Timeout)
	}
	r, refused, err := loginAccount(c, s.name, cfg.Password, &s.token, cfg.Timeout)
	if refused {
		s.run.retries.add(errTokenRefused)
	}
	return r, err
}

// readLoop handles frames until the connection ends.
func (s *crashSession) readLoop() error {
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	for {
		if err := c.Next(&s.in); err != nil {
			return err
		}
		if err := s.handle(&s.in); err != nil {
			return err
		}
	}
}

// handle deals with one frame from the server, during setup (as
// wireconn's Aside) or after it.
func (s *crashSession) handle(f *wire.Frame) error {
	switch {
	case f.Type == wire.TypeMessage:
		s.deliver(f)
	case f.Type == wire.TypeReply && f.ID&sayIDBit != 0:
		s.sayReply(f)
	case f.Type == wire.TypeReply && s.resume.active && f.ID == s.resume.historyID:
		s.finishResume(f)
	case f.Type == wire.TypeServerPing:
		s.mu.Lock()
		c := s.c
		s.mu.Unlock()
		if err := c.Send(&wire.Frame{Type: wire.TypePong}); err != nil {
			return fmt.Errorf("send pong: %w", err)
		}
	default:
		// Notices, a Bye, replies to requests another made on this
		// connection: the run may watch them.
		if s.run.aside != nil {
			s.run.aside(s, f)
		}
		if f.Type == wire.TypeBye {
			s.run.errs.add(fmt.Sprintf("bye code %d", f.Code))
			return fmt.Errorf("%w: %s", errBye, f.Text)
		}
	}
	return nil
}

// deliver records a room message: held while resuming, shown otherwise.
func (s *crashSession) deliver(f *wire.Frame) {
	if wire.FoldName(f.Room) != wire.FoldName(s.roomName) {
		s.misroute = append(s.misroute, f.Room)
		return
	}
	st, ok := parseStamp(f.Text)
	if !ok {
		s.run.errs.add("message without a loadgen stamp")
		return
	}
	d := crashDelivery{Seq: f.Seq, Sender: st.Sender, SSeq: st.Seq, Sum: textSum(f.From, f.Text)}
	if s.resume.active {
		if s.resume.paged && d.Seq <= s.resume.from {
			return // a page back reaches past what was missed: seen before
		}
		s.resume.held = append(s.resume.held, d)
		return
	}
	s.show(d)
	s.lastSeq = max(s.lastSeq, d.Seq)
}

// pageBack asks for the page before the oldest message replayed when the
// replay (or the last page) was a whole page that stopped short of what
// was missed, as a user would go back with history more; it reports
// whether it asked.
func (s *crashSession) pageBack(f *wire.Frame, held []crashDelivery) bool {
	if f == nil || f.Code != wire.OK || f.Count < wire.MaxHistoryPage {
		return false
	}
	oldest := s.resume.joinSeq + 1
	for _, d := range held {
		if d.Seq > s.resume.from && d.Seq <= s.resume.joinSeq {
			oldest = min(oldest, d.Seq)
		}
	}
	if oldest <= s.resume.from+1 || oldest > s.resume.joinSeq {
		return false
	}
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	id, err := c.Request(&wire.Frame{Type: wire.TypeHistory, Room: s.roomName, Code: wire.HistoryBefore,
		Seq: oldest, Count: wire.MaxHistoryPage})
	if err != nil {
		return true // the connection is going: the next resume asks again
	}
	s.resume.historyID, s.resume.paged = id, true
	return true
}

// show appends d to the log: the session has shown it.
func (s *crashSession) show(d crashDelivery) {
	s.log = append(s.log, d)
	if d.Sender != s.id {
		s.fromOthers.Add(1)
	}
}

// finishResume ends a re-entry once History replied (f; nil when none was
// asked): the held messages, the replay and the first live ones, are shown
// in order of Seq, as the client shows them. Unlike the client it drops
// none: a message the server sent twice is the checker's to find.
func (s *crashSession) finishResume(f *wire.Frame) {
	held := s.resume.held
	slices.SortStableFunc(held, func(a, b crashDelivery) int { return cmp.Compare(a.Seq, b.Seq) })
	if s.pageBack(f, held) {
		return
	}
	if f != nil && !s.resume.paged {
		if f.Code != wire.OK {
			s.run.errs.add(fmt.Sprintf("history code %d", f.Code))
			s.gaps = append(s.gaps, seqGap{From: s.resume.from, To: s.resume.joinSeq, Code: f.Code})
		}
		var replayed uint64
		for _, d := range held {
			if d.Seq > s.resume.from && d.Seq <= s.resume.joinSeq {
				replayed++
			}
		}
		if f.Code == wire.OK && f.Count != replayed {
			s.historyN = append(s.historyN, fmt.Sprintf("History after Seq %d (joined at %d) replied Count %d, but %d messages of that range came",
				s.resume.from, s.resume.joinSeq, f.Count, replayed))
		}
	}
	for _, d := range held {
		s.show(d)
		s.lastSeq = max(s.lastSeq, d.Seq)
	}
	s.lastSeq = max(s.lastSeq, s.resume.joinSeq)
	epoch := s.resume.epoch
	s.resume = crashResume{}
	s.setUp(epoch)
}

// setUp lets the sender go on: the session is in its room, on a
// connection dialled after epoch kills.
func (s *crashSession) setUp(epoch int64) {
	s.ups = append(s.ups, upSpan{from: time.Now()})
	s.backEpoch.Store(epoch)
	s.mu.Lock()
	s.up = true
	close(s.upCh)
	s.mu.Unlock()
	s.resuming.Store(false)
}

// lost handles the end of a connection: the Says without a reply become
// unknown, the sender waits, and the next connection resumes from the last
// Seq seen (or from where an unfinished resume began).
func (s *crashSession) lost(err error) {
	s.mu.Lock()
	if s.up {
		s.up = false
		s.upCh = make(chan struct{})
	}
	s.unanswered.Add(uint64(len(s.pending)))
	clear(s.pending)
	c := s.c
	s.mu.Unlock()
	c.Close()
	if s.run.closing.Load() {
		return // the run closed it: the session stays a member
	}
	if n := len(s.ups); n > 0 && s.ups[n-1].to.IsZero() {
		// A cut the run made ended the stretch when it was made: the
		// server may tell the room before this reader hears of it.
		s.ups[n-1].to = time.Now()
		if at := time.Unix(0, s.cutAt.Swap(0)); at.After(s.ups[n-1].from) {
			s.ups[n-1].to = at
		}
	}
	s.failOver()
	s.resuming.Store(true)
	s.run.losses.add(errKind(err))
	if !s.resume.active {
		s.resume = crashResume{active: true, from: s.lastSeq}
	}
	s.resume.held = nil // replayed on the next connection
}

// sayReply records the outcome of a Say.
func (s *crashSession) sayReply(f *wire.Frame) {
	s.mu.Lock()
	i, ok := s.pending[f.ID]
	delete(s.pending, f.ID)
	if ok {
		say := &s.says[i]
		if f.Code == wire.OK {
			say.Outcome, say.Seq = sayAcked, f.Seq
		} else {
			say.Outcome, say.Code = sayRefused, f.Code
		}
	}
	s.mu.Unlock()
	if !ok {
		s.run.errs.add("reply to a Say not sent")
		return
	}
	if f.Code == wire.OK {
		s.acked.Add(1)
		s.lastSeq = max(s.lastSeq, f.Seq)
	} else {
		s.run.errs.add(fmt.Sprintf("say code %d", f.Code))
	}
}

// say sends message seq of this session, waiting first until the session
// is up; it returns errClosing once stop is closed.
func (s *crashSession) say(seq uint32, due time.Time, stop <-chan struct{}) error {
	text := string(appendStamp(nil, stamp{Sender: s.id, Seq: seq, Intended: due.UnixNano()}, s.run.cfg.Size))
	for {
		s.mu.Lock()
		if s.up {
			break // holding mu
		}
		ch := s.upCh
		s.mu.Unlock()
		select {
		case <-ch:
		case <-stop:
			return errClosing
		}
	}
	s.sayID++
	id := sayIDBit | s.sayID
	s.pending[id] = len(s.says)
	s.says = append(s.says, crashSay{SSeq: seq, Sum: textSum(s.name, text)})
	c := s.c
	s.mu.Unlock()
	// A write that fails leaves the Say pending: the reader, which sees
	// the connection end too, makes it unknown (part of it may have gone).
	c.Send(&wire.Frame{Type: wire.TypeSay, ID: id, Room: s.roomName, Text: text})
	return nil
}

// pendingSays is how many Says await their reply.
func (s *crashSession) pendingSays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// failOver makes the next attempt go to the next server, as the chat
// client does after a loss or a failed attempt, or to the first when the
// run sent it home.
func (s *crashSession) failOver() {
	if s.homeward.Swap(false) {
		s.at = 0
		return
	}
	s.at = (s.at + 1) % len(s.order)
}

// closeConn closes the current connection, which ends a blocked read.
func (s *crashSession) closeConn() {
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// member is what the checker needs of the session, once its goroutines
// are done.
func (s *crashSession) member() crashMember {
	return crashMember{
		ID: s.id, Name: s.name, Room: s.room, Throughout: s.ready.Load() && !s.resuming.Load(),
		Says: s.says, Log: s.log, Misrouted: s.misroute, HistoryCounts: s.historyN, Unreplayed: s.gaps,
	}
}

// backoff is the pause before each attempt to reconnect: from 20 ms,
// doubling up to 1 s, each a uniform point in [base, 2×base) (capped), so
// that sessions cut at once do not come back at once; the chat client's
// (client/backoff.go), which loadgen may not import.
type backoff struct{ n int }

const (
	backoffMin = 20 * time.Millisecond
	backoffMax = time.Second
)

func (b *backoff) reset() { b.n = 0 }

func (b *backoff) next() time.Duration {
	base := backoffMin
	for i := 0; i < b.n && base < backoffMax; i++ {
		base *= 2
	}
	b.n++
	return min(base+time.Duration(rand.Float64()*float64(base)), backoffMax)
}
