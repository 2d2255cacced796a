package wire

// Version is the protocol version this package speaks. A client states it in
// its Hello; the server refuses a version it does not know.
const Version = 1

// Limits shared by every peer. The server enforces them; clients check them
// before sending so a user gets the error without a round trip.
const (
	// MaxFrameSize bounds the body of one frame (the length field's value).
	// It leaves room for a message of MaxTextRunes four-byte characters.
	MaxFrameSize = 1 << 19
	// MaxTextRunes is the longest message text, in characters.
	MaxTextRunes = 65535
	// MaxNameRunes is the longest user or room name, in characters.
	MaxNameRunes = 20
	// MaxSecretBytes bounds a password.
	MaxSecretBytes = 1024
	// ServerName is the name the server speaks as.
	ServerName = "*"
)

// Type says what a frame is. Requests (client to server) are below 64,
// server frames are 64 and above.
type Type uint8

// Requests. Each carries a nonzero ID and is answered by exactly one Reply
// with the same ID.
const (
	TypeHello   Type = 1  // Version, Text (client software); first frame on a connection
	TypeLogin   Type = 2  // Name, Secret
	TypeClaim   Type = 3  // Name: a guest name without a password
	TypeLogout  Type = 4  // ends the login; the connection stays open
	TypeCreate  Type = 5  // Room
	TypeEnter   Type = 6  // Room, Secret (key): leaves every room the session is in first
	TypeLeave   Type = 7  // Room (optional: every room), Text (parting words)
	TypeWho     Type = 8  // answered with Users
	TypeSay     Type = 9  // Text, Room (optional when in one room)
	TypeTell    Type = 10 // To, Text: a private message
	TypeRooms   Type = 11 // answered with Rooms
	TypeHistory Type = 12 // Room, Seq: room messages after Seq
	TypePing    Type = 13 // liveness probe from the client
	// TypePong answers the server's Ping. It is the one client frame that is
	// not a request: it has no ID and gets no reply.
	TypePong Type = 14
)

// TypeBroadcast sends Text to every other logged-in user, whatever their
// room (the menu client's message, seed 002).
const TypeBroadcast Type = 15

// Channel requests (docs/PROTOCOL.md, "Rooms and channels"): what an IRC
// client, and the chat client's own commands, use to be in several rooms
// and to run them.
const (
	TypeJoin  Type = 16 // Room, Secret (key): enter Room keeping the others; created if missing
	TypeTopic Type = 17 // Room; Code TopicSet with Text sets it (empty clears), else reads it
	TypeKick  Type = 18 // Room, Name, Text (reason)
	TypeMode  Type = 19 // Room, Mode (a change such as "+o-v bob ann"; empty reads the modes)
)

// More requests; types 20 to 39 are the file transfer's.
const (
	TypeInvite Type = 40 // Room, Name
	TypeAway   Type = 41 // Text: the away message; empty: back
	TypeWhois  Type = 42 // Name: answered with one User and the user's Rooms
	TypeNick   Type = 43 // Name: a guest takes another name
	TypeOper   Type = 44 // Name, Secret: become a server operator (an account listed as one)
	TypeWhowas Type = 45 // Name, Count: who held the name lately, newest first, in Users
	TypeKill   Type = 46 // Name, Text: a server operator ends Name's connection
)

// TopicSet is the Code of a Topic request that sets the topic.
const TopicSet Code = 1

// Codes of a History request asking for a page of a room's history rather
// than what came after Seq: up to Count messages (at most MaxHistoryPage)
// before Seq, or when Seq is 0 sent before At (Unix ms; 0: now), or after
// them, whatever the session's own joining; the requester must be in the
// room.
const (
	HistoryBefore Code = 1
	HistoryAfter  Code = 2
)

// MaxHistoryPage bounds the messages of one page of history.
const MaxHistoryPage = 1000

// AsNotice, the Code of a Say or Tell, makes the message a notice (IRC's
// NOTICE, which clients never answer automatically); the Message or
// Private frame carries it on.
const AsNotice Code = 1

// File transfer requests (docs/PROTOCOL.md, "File transfer"). Types 20 to 39
// are reserved for them.
const (
	TypeFetch  Type = 20 // To (owner), Name (file): ask an owner for a file; Reply carries Token
	TypeAttach Type = 21 // Token, Code (Role): the first frame of a data connection
	TypeRefuse Type = 22 // Token, Code, Text: the owner cannot serve a requested file
)

// Frames of a data connection after Attach, sent by the owner and passed to
// the requester unchanged: a FileHeader, exactly Count bytes of the file, a
// FileEnd. The server relays them as bytes without decoding.
const (
	TypeFileHeader Type = 24 // Name, Count (size in bytes)
	TypeFileEnd    Type = 25 // Text: SHA-256 of the file, lower-case hex
)

// Server frames.
const (
	TypeReply      Type = 64 // ID, Code, Text, Time and the data the request asked for
	TypeMessage    Type = 65 // From, Room, Text, Time, Seq: a room message
	TypePrivate    Type = 66 // From, To, Text, Time: a private message
	TypeNotice     Type = 67 // From "*", Code (a Notice kind), Name, Room, Text, Time
	TypeServerPing Type = 68 // Time: the server asks for a Pong
	TypeBye        Type = 69 // Code, Text, Time: the server is closing this connection
	TypeFileOffer  Type = 70 // From (requester), Name (file), Token: the owner is asked for a file
	TypeFileFailed Type = 71 // From (owner), Name, Token, Code, Text: a requested transfer will not happen
)

// Roles of a data connection (Code of an Attach).
const (
	RoleOwner     Code = 1 // sends the file
	RoleRequester Code = 2 // receives it
)

// MaxTokenBytes bounds a transfer token.
const MaxTokenBytes = 64

var typeNames = map[Type]string{
	TypeHello: "hello", TypeLogin: "login", TypeClaim: "claim", TypeLogout: "logout",
	TypeCreate: "create", TypeEnter: "enter", TypeLeave: "leave", TypeWho: "who",
	TypeSay: "say", TypeTell: "tell", TypeRooms: "rooms", TypeHistory: "history",
	TypePing: "ping", TypePong: "pong", TypeBroadcast: "broadcast",
	TypeJoin: "join", TypeTopic: "topic", TypeKick: "kick", TypeMode: "mode",
	TypeInvite: "invite", TypeAway: "away", TypeWhois: "whois", TypeNick: "nick",
	TypeOper: "oper", TypeWhowas: "whowas", TypeKill: "kill",
	TypeFetch: "fetch", TypeAttach: "attach", TypeRefuse: "refuse",
	TypeFileHeader: "file-header", TypeFileEnd: "file-end",
	TypeFileOffer: "file-offer", TypeFileFailed: "file-failed",
	TypeReply: "reply", TypeMessage: "message", TypePrivate: "private",
	TypeNotice: "notice", TypeServerPing: "server-ping", TypeBye: "bye",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "type(" + itoa(uint64(t)) + ")"
}

// IsRequest reports whether t is a client request that must be answered.
func (t Type) IsRequest() bool {
	return t >= TypeHello && t <= TypePing || t >= TypeBroadcast && t <= TypeMode ||
		t >= TypeFetch && t <= TypeRefuse || t >= TypeInvite && t <= TypeKill
}

// Code is a Reply's result, a Bye's reason or a Notice's kind.
type Code uint16

// Reply results. OK is zero; every other value is an error whose Reply Text
// says what went wrong in words a user can act on.
const (
	OK              Code = 0
	ErrNotLoggedIn  Code = 1  // the request needs a login first
	ErrBadLogin     Code = 2  // unknown name or wrong password
	ErrNoSuchRoom   Code = 3  // enter/history of a room that does not exist
	ErrRoomExists   Code = 4  // create of a room that exists
	ErrBadName      Code = 5  // a user or room name that breaks the naming rules
	ErrBadRequest   Code = 6  // malformed frame, missing or extra fields
	ErrUnknown      Code = 7  // unknown request type
	ErrNotInRoom    Code = 8  // say or leave outside a room
	ErrLoggedIn     Code = 9  // login or claim while already logged in
	ErrNoSuchUser   Code = 10 // private message to a name nobody has
	ErrNameTaken    Code = 11 // claim of a name in use or registered
	ErrTooLong      Code = 12 // text or frame over its limit
	ErrVersion      Code = 13 // Hello with a version the server does not speak
	ErrLimit        Code = 14 // a server limit was reached (rooms, attempts, sessions)
	ErrUnavailable  Code = 15 // the server cannot do it now (shutting down, users file unreadable)
	ErrNoHello      Code = 16 // a request before Hello
	ErrSelf         Code = 17 // private message to oneself (refused)
	ErrGuestsClosed Code = 18 // claim while the server allows no guests
	ErrNoSuchFile   Code = 19 // the owner has no such file, or may not share it
	ErrUnreadable   Code = 20 // the owner cannot read the file
	ErrBusy         Code = 21 // the owner or the server has too many transfers
	ErrOwnerGone    Code = 22 // the owner left before the transfer completed
	ErrNoSuchToken  Code = 23 // Attach or Refuse of an unknown or expired transfer
	ErrSlowDown     Code = 24 // messages sent faster than the server's rate limit
	ErrNotOperator  Code = 25 // the room's operators only (kick, mode, topic of a +t room)
	ErrInviteOnly   Code = 26 // the room is invite only (+i) and nobody invited you
	ErrBadKey       Code = 27 // the room has a key (+k) and the Secret is not it
	ErrRoomFull     Code = 28 // the room is at its member limit (+l)
	ErrBanned       Code = 29 // a ban (+b) of the room matches you
	ErrCannotSpeak  Code = 30 // the room is moderated (+m) or takes no messages from outside (+n)
	ErrUnknownMode  Code = 31 // a mode letter the server does not know
	ErrNotAllowed   Code = 32 // something the session may not do (a registered name's rename, an OPER)
	ErrInRoom       Code = 33 // inviting someone who is in the room already
)

// Notice kinds (Code of a TypeNotice frame).
const (
	NoticeInfo     Code = 100 // plain information from the server
	NoticeEntered  Code = 101 // Name entered Room
	NoticeLeft     Code = 102 // Name left Room: leave, enter of another room, logout
	NoticeLost     Code = 103 // contact with Name was lost while in Room
	NoticeShutdown Code = 104 // the server is stopping
	NoticeTopic    Code = 105 // By set the topic of Room to Words (empty: cleared)
	NoticeKicked   Code = 106 // By kicked Name out of Room, Words the reason
	NoticeMode     Code = 107 // By changed the modes of Room: Mode
	NoticeInvited  Code = 108 // By invited Name (the session told) to Room
	NoticeRenamed  Code = 109 // Name is now known as To
	NoticeQuit     Code = 110 // Name logged out, Words the parting words; once per session sharing a room with them (Room: one of those)
)

// Bye reasons (Code of a TypeBye frame).
const (
	ByeLogout    Code = 200 // the user logged out
	ByeShutdown  Code = 201 // the server is stopping
	ByeMalformed Code = 202 // the peer sent a frame that cannot be framed
	ByeSlow      Code = 203 // the peer did not read its output fast enough
	ByeTimeout   Code = 204 // the peer stayed silent past the liveness timeout
	ByeTakeover  Code = 205 // the same account logged in elsewhere
	ByeLimit     Code = 206 // too many connections
	ByeKilled    Code = 207 // a server operator ended the connection
)

// Frame is one protocol message. Only the fields its Type uses are set; the
// encoding leaves zero fields out.
type Frame struct {
	Type    Type
	ID      uint32 // request id; a Reply echoes it; zero on events
	Version uint32 // Hello and its Reply
	Code    Code   // Reply result, Notice kind, Bye reason
	From    string // sender; ServerName for the server's own frames
	To      string // recipient of a private message
	Name    string // login or claim name; the subject of a Notice
	Secret  string // password (Login only)
	Room    string
	Text    string
	Time    int64  // server time, Unix milliseconds
	Seq     uint64 // per-room sequence number of a room message
	Count   uint64 // a number the reply reports (for example messages missed, a file's size)
	Token   string // names a file transfer
	Users   []User // who
	Rooms   []Room // rooms
	// Words are a user's own words that a notice or reply carries apart
	// from its Text: parting words, a kick's reason, a topic, an away
	// message.
	Words string
	// Mode is a room's modes ("+ntk key"), or a change of them ("+o bob").
	Mode string
	// By is who did what a notice tells (set a topic or a mode, kicked,
	// invited), or who set the topic a reply carries; At is when, in Unix
	// milliseconds.
	By string
	At int64
	// Ident and Real are the user name and real name an IRC client gives
	// in USER (Login, Claim); others see them in who and whois.
	Ident string
	Real  string
	// Tags are an IRC client's client-only message tags ("+a=b;+c", as
	// IRC escapes them, at most MaxTagsBytes) on a Say or Tell, carried
	// to the Message or Private frame. A message with Tags may have no
	// Text (IRC's TAGMSG: a reaction, a typing notice): clients that do
	// not show tags show nothing of it.
	Tags string
}

// MaxTagsBytes bounds the client-only tags of one message.
const MaxTagsBytes = 4094

// User is one entry of a who or whois reply, or of a room's names.
type User struct {
	Name string
	Room string // the room asked about; else the first the user is in, "" if none
	// Prefix is the user's standing in Room: "@" operator, "+" voice,
	// "@+" both, "". A "*" before it marks a server operator.
	Prefix string
	Away   string // the away message; "" when not away
	Ident  string
	Real   string
}

// Room is one entry of a rooms reply, or of the rooms of a whois.
type Room struct {
	Name    string
	Members uint64
	Topic   string
	Mode    string // the room's modes (their arguments left out)
	Prefix  string // in a whois: the user's standing in the room ("@", "+", "")
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}
