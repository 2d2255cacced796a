package hub

import (
	"cmp"
	"slices"
	"time"

	"chat/internal/wire"
)

// SessionID names one connection for the hub's lifetime. IDs are never
// reused, so a late result for a closed session cannot reach a new one.
type SessionID int64

// Config holds the hub's limits and switches. Zero values take defaults.
type Config struct {
	// MaxRooms bounds the number of rooms (default 1000).
	MaxRooms int
	// MaxJoined bounds the rooms one session may be in at once with Join
	// (default 50); Enter keeps a session in one.
	MaxJoined int
	// IsOperator reports whether a registered account may become a server
	// operator with Oper. Nil means nobody may.
	IsOperator func(name string) bool
	// MaxLoginFailures is how many wrong passwords one connection may send
	// before it is closed with ByeLimit (default 5).
	MaxLoginFailures int
	// Guests allows Claim of a guest name without a password.
	Guests bool
	// IsRegistered reports whether a name is a registered account; a guest
	// cannot claim one. Nil means no name is registered.
	IsRegistered func(name string) bool
	// Resume gives the resume tokens of login replies and tells a Login
	// carrying one (auth.Resume). Nil: no tokens, every Secret is a
	// password.
	Resume Resumer
	// HistoryLen is how many messages each room keeps for History
	// (default 256); negative turns History off (ErrUnavailable).
	HistoryLen int
	// HistoryBytes bounds the text each room keeps (default 1 MiB).
	HistoryBytes int
	// Durable says a message store keeps every room and private message
	// (store.go): nobody is shown a message, nor its sender told it was
	// sent, until the store has it, and the history above is then a cache
	// of the store's, which History reads past. It also keeps private
	// messages for registered accounts that are not connected.
	Durable bool
	// Follows says the store's stream of room messages is what shows them
	// (Delivered): this server's own as every other server's sharing the
	// store, so every member everywhere sees a room's messages in the
	// store's one order. The store numbers them; the acknowledgement of a
	// Say only answers its sender. Only with Durable.
	Follows bool
	// Node names this server in a cluster of servers that are one chat
	// (cluster.go); "" when it stands alone. Only with Follows.
	Node string
	// Software is the Text of the Hello reply (default "chat-server 1").
	Software string
	// Transfer bounds file transfers (transfer.go).
	Transfer TransferConfig
	// Flood control (flood.go): each session may send MsgBurst messages
	// (Say, Tell, Broadcast) at once and MsgRate a second after that; one
	// more gets ErrSlowDown and is not relayed, and MaxRefused refused in a
	// row end the session with ByeLimit. MsgRate zero or negative: no
	// limit. MsgBurst defaults to 100, since a client queues up to 100
	// lines while disconnected and sends them at once when back;
	// MaxRefused to 200.
	MsgRate    float64
	MsgBurst   int
	MaxRefused int
}

// DefaultConfig returns a Config holding every default.
func DefaultConfig() Config {
	var c Config
	c.defaults()
	return c
}

func (c *Config) defaults() {
	if c.MaxRooms <= 0 {
		c.MaxRooms = 1000
	}
	if c.MaxJoined <= 0 {
		c.MaxJoined = 50
	}
	if c.MaxLoginFailures <= 0 {
		c.MaxLoginFailures = 5
	}
	if c.HistoryLen == 0 {
		c.HistoryLen = 256
	}
	if c.HistoryBytes <= 0 {
		c.HistoryBytes = 1 << 20
	}
	if c.Software == "" {
		c.Software = "chat-server 1"
	}
	c.Transfer.defaults()
	if c.MsgBurst <= 0 {
		c.MsgBurst = 100
	}
	if c.MaxRefused <= 0 {
		c.MaxRefused = 200
	}
}

// Output is one effect of a hub call: a frame to send to a session, a
// session to close once its output is flushed, or a password check to run
// off the loop. Several outputs may share one *wire.Frame (a room message to
// every member); the loop may encode it once.
type Output struct {
	To    SessionID
	Frame *wire.Frame
	// Close: after Frame (if any) is flushed, close the session's connection.
	// The hub has already forgotten the session's login and room.
	Close bool
	// Verify asks the loop to check a password on a worker and to call
	// LoginResult with the outcome. Until then the loop must hand the hub no
	// further frames of that session, so replies stay in request order.
	Verify *VerifyRequest
	// Relay is about a data connection of a file transfer (transfer.go).
	Relay *RelayOp
	// Store is work for the message store (store.go). The loop hands its
	// outcome back with StoreDone; while an op that Holds is under way,
	// the loop hands the hub no further frames of that session.
	Store *StoreOp
	// Claim is a step of taking a name in a cluster (cluster.go); the
	// loop hands its outcome back with ClaimDone, holding the session's
	// frames meanwhile.
	Claim *NameClaim
	// Event tells the other nodes of a cluster of a change in rooms.
	Event *RoomEvent
	// Forward is a frame for a user of another node of a cluster.
	Forward *Forward
}

// VerifyRequest is a password check the hub needs.
type VerifyRequest struct {
	Session SessionID
	ReqID   uint32
	Name    string
	Secret  string
	// Oper: the check is of an Oper request, not a login.
	Oper bool
	// Token: Secret is a resume token (Config.Resume), to be checked with
	// its MAC rather than as a password.
	Token bool
}

// Resumer gives and recognises resume tokens: a client that logs in again
// after a reconnection sends its last login's token instead of its
// password, which the loop checks in microseconds where a password takes
// an argon2id hash.
type Resumer interface {
	// Issue returns a token for name, "" if none is given.
	Issue(name string, now time.Time) string
	// IsToken reports whether a Login's Secret is a token.
	IsToken(secret string) bool
}

// Verdict is the outcome of a password check.
type Verdict int

const (
	// VerdictWrong: unknown name or wrong password.
	VerdictWrong Verdict = iota
	// VerdictOK: the password is right.
	VerdictOK
	// VerdictUnavailable: the check could not run (users file unreadable,
	// workers overloaded); it does not count as a failed attempt.
	VerdictUnavailable
	// VerdictBusy: the check was not run because too many are under way
	// (a login flood); it does not count as a failed attempt.
	VerdictBusy
)

// DisconnectReason says why a connection ended, for the room's notice.
type DisconnectReason int

const (
	// ReasonLost: the peer went away without logging out (EOF, reset,
	// timeout, a malformed stream, a slow reader). The room is told the
	// contact was lost.
	ReasonLost DisconnectReason = iota
	// ReasonClosed: the connection closed after the hub asked for it
	// (logout then close, takeover, shutdown); nothing more is announced.
	ReasonClosed
)

// session is the hub's state of one connection. The flags come last, in one
// word, because every idle session holds one of these.
type session struct {
	id   SessionID
	addr string
	name string // logged-in name; "" before login
	// node is the node of a remote session: a user of another server of
	// the cluster (cluster.go); "" for this server's own.
	node string
	// joined are the rooms the session is in, in the order it entered
	// them (rooms.go).
	joined []membership
	// ident, real and away are what others see of the user in who and
	// whois (users.go).
	ident, real, away string
	// mark is the hub's notice generation this session was last told of
	// (rooms.go, tellSharers): a notice about a user reaches each session
	// sharing a room with them once.
	mark     uint64
	failures int
	// Flood control (flood.go): the message tokens left at tokensAt, and
	// how many messages in a row were refused.
	tokens    float64
	tokensAt  time.Time
	refused   int
	hello     bool
	guest     bool
	verifying bool
	operCheck bool // the check under way is an Oper's
	oper      bool // a server operator (Oper)
	standing  bool // a guest who was made an operator or invited somewhere (forgetGuest)
	closing   bool // Bye sent: the hub sends it nothing more
	// tokenCheck: the check under way is of a resume token, not a
	// password; ircHello: the IRC codec said Hello for the session, which
	// is given no tokens and has none taken (PASS and SASL are passwords).
	tokenCheck bool
	ircHello   bool
}

type room struct {
	name    string
	members []*session // in order of entry
	// seq is the last Seq the room's members were shown; with a durable
	// store, next is the last handed to a message on its way to the store
	// (store.go), so seq ≤ next and the messages between are not yet
	// stored.
	seq     uint64
	next    uint64
	history history
	channel // topic, modes, operators (channel.go)
	// Persistence (state.go): reserved is the Seq high-water mark the
	// state records; restartSeq is the Seq the room had when it was
	// restored (older messages are not kept), exact when that was its true
	// last Seq rather than a high-water mark.
	reserved     uint64
	restartSeq   uint64
	restartExact bool
}

// Hub is the chat state machine. It is not safe for concurrent use: the
// loop goroutine owns it.
type Hub struct {
	cfg      Config
	sessions map[SessionID]*session
	names    map[string]*session
	rooms    map[string]*room // by folded name (fold)
	shutdown bool
	mark     uint64     // the last notice generation (session.mark)
	departed []departed // who was here (whowas.go)
	// serial numbers the messages that have no room Seq (private ones,
	// tags alone), in Count: with their time, an IRC msgid.
	serial   uint64
	spare    outputs // a slice for Handle to reuse (Recycle)
	handling outputs // the outputs of the request Handle is handling
	stateVer uint64  // changes with the persistent state (state.go)
	// What registered users last saw of each room (seen.go), and the
	// changes the loop has not taken yet.
	seen        map[string]map[string]uint64
	seenChanged []Seen
	// The accounts that may have private messages waiting (store.go), each
	// with the serial of the last one kept for it.
	kept       map[string]uint64
	keptSerial uint64
	xfer       transferState
	// The cluster (cluster.go): the last remote session's ID (they count
	// down from -1, apart from the loop's), and names let go.
	remoteSerial int64
	releases     []NameClaim
}

// NewHub returns an empty hub.
func New(cfg Config) *Hub {
	cfg.defaults()
	return &Hub{
		cfg:      cfg,
		sessions: make(map[SessionID]*session),
		names:    make(map[string]*session),
		rooms:    make(map[string]*room),
		seen:     make(map[string]map[string]uint64),
		kept:     make(map[string]uint64),
	}
}

// Connect registers a new connection.
func (h *Hub) Connect(sid SessionID, remoteAddr string, now time.Time) {
	h.sessions[sid] = &session{id: sid, addr: remoteAddr}
}

// Sessions returns the number of connected sessions.
func (h *Hub) Sessions() int { return len(h.sessions) }

// Name returns the logged-in name of a session, "" if none.
func (h *Hub) Name(sid SessionID) string {
	if s := h.sessions[sid]; s != nil {
		return s.name
	}
	return ""
}

// Disconnect forgets a connection that has ended. A logged-in user who was
// in a room and had not logged out is announced as lost to its members.
func (h *Hub) Disconnect(sid SessionID, reason DisconnectReason, now time.Time) []Output {
	return h.DisconnectWhy(sid, reason, "", now)
}

// DisconnectWhy is Disconnect with the cause of a lost contact ("ping
// timeout: ..."), which the room's notice then gives.
func (h *Hub) DisconnectWhy(sid SessionID, reason DisconnectReason, why string, now time.Time) []Output {
	s := h.sessions[sid]
	if s == nil {
		return h.dataGone(sid, now)
	}
	delete(h.sessions, sid)
	var out outputs
	h.endTransfersOf(&out, s, now)
	if !s.closing && len(s.joined) > 0 {
		words := partingWords(why)
		h.tellShared(&out, s, func(r *room) *wire.Frame {
			if reason == ReasonClosed {
				return h.quitNotice(now, s, r, "")
			}
			text := "contact with " + s.name + " was lost"
			if words != "" {
				text += " (" + words + ")"
			}
			n := h.notice(now, wire.NoticeLost, s.name, r.name, text)
			n.Words = words
			return n
		})
	}
	h.leaveAll(s)
	h.dropName(s)
	return out
}

// Shutdown tells every session the server is stopping, says Bye and asks
// for every connection to be closed.
func (h *Hub) Shutdown(now time.Time) []Output {
	h.shutdown = true
	var out outputs
	h.shutdownTransfers(&out, now)
	notice := h.notice(now, wire.NoticeShutdown, "", "", "the server is shutting down")
	bye := h.bye(now, wire.ByeShutdown, "the server is shutting down")
	for _, s := range h.sortedSessions() {
		if s.closing {
			continue
		}
		out.send(s.id, notice)
		out.send(s.id, bye)
		out = append(out, Output{To: s.id, Close: true})
		h.detach(s)
	}
	return out
}

// detach marks s as closing and silently drops its login and room: used
// when the hub itself ends a session (takeover, shutdown, limits).
func (h *Hub) detach(s *session) {
	s.closing = true
	h.leaveAll(s)
	h.dropName(s)
}

// dropName forgets s's name, if it still holds it, and a guest's standing
// in the rooms (a guest name is anyone's once let go).
func (h *Hub) dropName(s *session) {
	if s.name == "" || h.names[s.name] != s {
		return
	}
	h.release(s)
	delete(h.names, s.name)
	h.remember(s)
	if s.guest && s.standing {
		h.forgetGuest(s.name)
	}
}

// outputs collects a call's effects.
type outputs []Output

func (o *outputs) send(to SessionID, f *wire.Frame) {
	*o = append(*o, Output{To: to, Frame: f})
}

// toRoom sends f to every member of r except skip.
func (o *outputs) toRoom(r *room, skip *session, f *wire.Frame) {
	*o = slices.Grow(*o, len(r.members))
	for _, m := range r.members {
		if m != skip && !m.closing && m.local() {
			o.send(m.id, f)
		}
	}
}

func ms(now time.Time) int64 { return now.UnixMilli() }

func (h *Hub) reply(now time.Time, id uint32, code wire.Code, text string) *wire.Frame {
	return &wire.Frame{Type: wire.TypeReply, ID: id, Code: code, From: wire.ServerName, Text: text, Time: ms(now)}
}

func (h *Hub) notice(now time.Time, kind wire.Code, name, roomName, text string) *wire.Frame {
	return &wire.Frame{Type: wire.TypeNotice, Code: kind, From: wire.ServerName, Name: name, Room: roomName, Text: text, Time: ms(now)}
}

func (h *Hub) bye(now time.Time, reason wire.Code, text string) *wire.Frame {
	return &wire.Frame{Type: wire.TypeBye, Code: reason, From: wire.ServerName, Text: text, Time: ms(now)}
}

func (r *room) remove(s *session) {
	for i, m := range r.members {
		if m == s {
			r.members = slices.Delete(r.members, i, i+1)
			return
		}
	}
}

// replace puts s in old's place, keeping the order (takeover).
func (r *room) replace(old, s *session) {
	for i, m := range r.members {
		if m == old {
			r.members[i] = s
			return
		}
	}
}

// sortedSessions returns the sessions in ID order, so that outputs that
// cover every session come in a deterministic order.
func (h *Hub) sortedSessions() []*session {
	ss := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		ss = append(ss, s)
	}
	slices.SortFunc(ss, func(a, b *session) int { return cmp.Compare(a.id, b.id) })
	return ss
}
