// Package store keeps room messages and room state on NATS JetStream, so
// that what the server acknowledged survives a crash of its process (issue
// 16). It is not yet wired into the server.
//
// A Store either embeds a NATS server with JetStream in this process (no
// port opened: clients connect in-process), its files under Config.Dir, or
// connects to an external NATS deployment (Config.URLs).
//
// Room messages go to one stream, ROOMS, on the subject chat.room.<token>
// where token is Token(room): the base32hex encoding (RFC 4648 §7, upper
// case, no padding) of the room's folded name (wire.FoldName). The
// encoding is reversible (RoomOf gives the folded name back) and uses only
// 0-9 and A-V, which are safe both in a subject and in a KV key, whatever
// characters a room name holds. Room state is a KV bucket, rooms, keyed by
// the same token, whose values are the JSON of hub.RoomState.
//
// # Never blocking the caller
//
// The poll loop must never wait on the store. Append, Replay, Last and
// SaveRoom only queue the work (or refuse it at once with ErrBusy or
// ErrClosed when the bounded queue is full or the store closed) and call
// their done callback later, exactly once, from a store goroutine. The
// caller's callback should hand the result over to its own goroutine (the
// server: a locked list and the wake pipe) and return quickly: callbacks
// run one at a time, and a slow one delays the ones behind it. Only Open,
// LoadRooms and Close block; they are for start and shutdown.
//
// # Goroutines
//
// The store runs three goroutines of its own: the publisher (takes queued
// Appends, gives each its room sequence number and publishes it), the
// acker (waits for JetStream's acknowledgements in Append order and calls
// the done callbacks) and the reader (Replay, Last and SaveRoom, one at a
// time). The NATS client runs its reader and flusher, one dispatcher for
// the subscription that receives publish acknowledgements, a watcher of
// the connection's status and a timer per publish waiting for its ack
// (at most Config.MaxPending at once). An embedded NATS server runs its
// own: a handful per server, per connection (the one in-process client)
// and per stream (two: ROOMS and the rooms bucket), plus short-lived ones
// while it flushes. None of these grows with the number of rooms, users or
// messages; they all end with Close.
package store
