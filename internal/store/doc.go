// Package store keeps room messages, private messages and room and user
// state on NATS JetStream, so that what the server acknowledged survives a
// crash of its process.
//
// A Store either embeds a NATS server with JetStream in this process (no
// port opened for clients: they connect in-process), its files under
// Config.Dir, or connects to an external NATS deployment (Config.URLs).
//
// Several chat servers can be one chat on a NATS cluster: either each
// embeds a node of the cluster (Config.Cluster, ClusterListen, Routes,
// ServerName: the node listens for its peers' routes, still for no
// client), or they all connect to an external cluster. Streams and
// buckets then have Config.Replicas copies (3 by default in an embedded
// cluster of three or more) and take a write once a majority has it, so
// a cluster of three goes on with any one server down, and a server
// coming back catches up. Open waits (Config.OpenTimeout) for the
// cluster's meta leader and every stream's leader, and says what is
// missing when a majority is not there (cluster.go). Several servers may
// append to one room: each message is numbered after the room's last,
// whoever stored it (append.go).
//
// # Streams and buckets
//
// Subjects and keys are made of tokens: Token(room) is the base32hex
// encoding (RFC 4648 §7, upper case, no padding) of the room's folded name
// (wire.FoldName), UserToken(user) that of the user's exact name (user
// names are case sensitive: Bob and bob are two users). Both reverse
// (RoomOf, UserOf) and use only 0-9 and A-V, safe in a subject and in a
// KV key, whatever characters a name holds.
//
//	ROOMS    chat.room.<Token(room)>      room messages, numbered per room (Seq) by every writer;
//	                                      Config's MaxMsgsPerSubject, MaxBytes, MaxAge, DiscardNew
//	         chat.roomev.<Token(room)>    room events (events.go): the hub's payloads, unnumbered,
//	                                      read by Follow only; the same limits
//	PRIVATE  chat.pm.<UserToken(to)>      private messages shown at once, as a record;
//	                                      Config.PrivateKept per recipient, the oldest dropped; MaxAge
//	INBOX    chat.inbox.<UserToken(to)>   private messages for an offline recipient until ClearInbox;
//	                                      Config.InboxLimit per recipient, a new one refused (ErrInboxFull)
//	rooms    Token(room)                  bucket: the JSON of hub.RoomState
//	seen     UserToken(user).Token(room)  bucket: the Seq the user last saw of the room, in decimal
//	names    UserToken(name)              bucket: the JSON of the Owner (node, session) holding the
//	                                      name (names.go)
//	nodes    <node>                       bucket: a node's lease, its info, with a TTL of its own (nodes.go)
//	         cleanup.<node>               the claim of the one node cleaning up after a dead one (10 min)
//	members  Token(room).UserToken(name)  bucket: the id of the node the member is on (members.go)
//	         chat.node.<node>.takeover    core NATS, nothing kept: a node asked to close a session
//	                                      and let its name go (takeover.go)
//	         chat.node.<node>.forward     core NATS: a frame for a user of that node (forward.go)
//	         chat.node.<node>.xfer.<tok>  core NATS: a transfer's pieces, end, acknowledgements and
//	                                      notes between the two nodes of its users (pipe.go)
//	         chat.all.<topic>             core NATS: what one node tells every node, as a checked
//	                                      login for the throttles (forward.go)
//
// The buckets the nodes of a cluster share (names, nodes, members) keep
// the marker of a key deleted or expired for markerTTL (an hour), which
// their watchers see; past it, nothing is left of the key.
//
// Open creates them, or updates their limits and replicas to Config, and
// an earlier version's ROOMS (chat.room.* only) to today's subjects; it
// refuses (ErrIncompatible, saying what to do) a stream that some other
// program or a newer version made, and messages it cannot decode. A read
// made after a write's acknowledgement sees it: with one replica, the
// streams' reads are direct gets of the server that has them; with
// several, they go to each stream's leader (setup.go).
//
// # Never blocking the caller
//
// The poll loop must never wait on the store. Append, AppendPrivate,
// PublishEvent, Inbox, ClearInbox, Replay, Page, Last, SaveRoom,
// SaveSeen, ClaimName, ReplaceName, ReleaseName, NamesOf, ClaimCleanup,
// PutMember, DeleteMember, MembersOf and AskTakeover only queue the work
// (or refuse it at once with ErrBusy or ErrClosed when the bounded queue
// is full or the store closed, and then never call done) and call their
// done callback later, exactly once, from a store goroutine. The
// caller's callback should hand the result over to its own goroutine
// (the server: a locked list and the wake pipe) and return quickly:
// callbacks run one at a time, and a slow one delays the ones behind it.
// Only Open, LastSeq, LastStreamSeq, LoadRooms, LoadSeen, LoadMembers,
// Follow, WatchNames and WatchNodes (until they have read the state to
// start from), KeepLease (its first write), ServeTakeovers (until its
// server has the subscription), their stops, and Close block; they are
// for start and shutdown.
//
// Append, AppendPrivate and PublishEvent share one queue. Their callbacks
// come in the order of the calls for each room (messages and events), and
// for each recipient's record and inbox; across those, in the order
// JetStream acknowledges them, so that a room whose messages wait for
// each other (one published at a time, see append.go) does not hold up
// the others'. Inbox is a barrier in that queue: it reads once every
// write queued before it has had its callback.
//
// # Goroutines
//
// The store runs nine goroutines of its own:
//
//   - the publisher takes the queue of Append, AppendPrivate and
//     PublishEvent, numbers room messages, publishes them and the events,
//     takes JetStream's acknowledgements and refusals, and hands the
//     outcomes over in order per room and recipient; a room message
//     refused more than once waits out a backoff on a timer;
//   - the rereader reads a room's last message when the publisher does
//     not know it or another writer overtook it;
//   - the acker calls the publisher's done callbacks, and hands an
//     Inbox's read to its reader when it reaches it;
//   - 32 readers run Replay, Page, Last, Inbox, ClearInbox, SaveRoom,
//     SaveSeen, Lease, NamesOf and MembersOf, a room's, a user's or a
//     node's always on the same one, one at a time (reader.go);
//   - 64 registrars run ClaimName, ReplaceName, ReleaseName,
//     ClaimCleanup, PutMember and DeleteMember, each key always on the
//     same one, so that its calls keep their order (registrar.go);
//   - the asker sends AskTakeover's requests, and takes their answers
//     from one subscription and their deadlines from one timer
//     (takeover.go).
//
// Each KeepLease runs one more, writing the lease, until its stop, lost
// or Close. Each Follow, WatchNames and WatchNodes runs one, which makes
// its consumers (watch.go), and the NATS client three for the consumer
// (the subscription's dispatcher, which calls back, the pulls, a watcher
// of the connection), until its stop or Close; so do NamesOf, MembersOf
// and LoadMembers while they read. Each ServeTakeovers has the
// NATS client's dispatcher of its subscription, until its stop; so do
// each ServeForwards and Listen. Each OpenPipes runs one sender, which
// publishes the node's pieces and notes so that Send never waits, and the
// dispatcher of its one subscription, until its Close. The NATS
// client runs its reader and flusher, one dispatcher for the
// subscription that receives publish acknowledgements, a watcher of the
// connection's status and a timer per publish waiting for its ack (at
// most Config.MaxPending at once); LoadRooms and LoadSeen run a watcher
// of a bucket while they read it. An embedded NATS server runs its own: a
// handful per server, per connection (the one in-process client) and per
// stream (two each: three streams and five buckets), plus short-lived
// ones while it flushes; in a cluster, also per route (a few per peer)
// and per stream's Raft group, and one that stays parked until the
// process ends (startRouting in cluster.go). None of these grows with the
// number of rooms, users or messages; they all end with Close but that
// one.
package store
