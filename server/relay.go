package server

import (
	"io"
	"math"
	"sync/atomic"
	"time"

	"chat/internal/poller"
	"chat/internal/wire"
	"chat/server/hub"
)

// The loop's side of file transfer: the relay. A data connection starts
// like any other (the hub sees its first frame); when the hub accepts its
// Attach it says so with a hub.RelayAttach op, and from then on the loop decodes
// nothing from it. Once both sides are attached (hub.RelayPipe) the loop reads
// the owner's connection and appends what it reads to the requester's
// output queue, the same queue and write path a chat session uses.
//
// Back-pressure: the owner is read only while the requester's queue holds
// less than relayWindow, and each read asks for at most what still fits
// under it. When the queue reaches the window, read interest on the owner
// goes off, so the owner's kernel buffers fill and its writes block; it goes
// back on when the queue drains below half the window. So the server holds
// at most relayWindow (plus the bytes that came with the owner's Attach, at
// most one read) per transfer, however fast the owner and however slow the
// requester, and the limits on transfers (hub.TransferConfig) bound the total.
//
// Data connections are exempt from the liveness pings (an owner never reads,
// a requester never writes): a transfer lives as long as the two chat
// sessions it belongs to, whose liveness the usual pings check, and a
// transfer not attached on both sides within hub.TransferConfig.AttachTimeout
// ends (hub.Hub.Tick).
//
// A transfer whose owner and requester are on two nodes of a cluster has
// one data connection on each; the bytes go between the nodes over NATS
// (relay_cluster.go).

// relayWindow bounds the bytes queued for one requester's data connection.
const relayWindow = 256 << 10

// relayReads is how many reads one readiness report of an owner may do, so
// a fast transfer takes fewer poll rounds without starving the others.
const relayReads = 4

// dataConn is the protocol of a connection once it attached to a transfer:
// nothing more is decoded from it, the relay pipes its bytes.
type dataConn struct {
	role wire.Code
	peer *conn // the other side, once piping
	// held: bytes that came after the Attach in the read that carried
	// it; an owner's are relayed once the requester is there, and a
	// requester must send none.
	held []byte
	// paused: owner only: read interest is off (not piping yet, or the
	// requester's queue is full).
	paused bool
	// ownerDone: requester only: the owner's stream ended; close once the
	// queue is flushed.
	ownerDone bool
	// pipe: the other side is on another node (relay_cluster.go).
	pipe *pipe
}

func (d *dataConn) feed([]byte) {}
func (d *dataConn) next(out []byte, _ *wire.Frame) ([]byte, *wire.Frame, step, error) {
	return out, nil, stepNone, nil
}
func (d *dataConn) settle()                                   {}
func (d *dataConn) leftover() []byte                          { return nil }
func (d *dataConn) encode(f *wire.Frame) []byte               { return wire.Encode(f) }
func (d *dataConn) requested() bool                           { return false }
func (d *dataConn) buffered() int                             { return 0 }
func (d *dataConn) greeted() bool                             { return true }
func (d *dataConn) ended() bool                               { return false }
func (d *dataConn) watched() bool                             { return false }
func (d *dataConn) timeoutText(timeout, time.Duration) string { return "" }

// link returns c's part in a transfer, nil if c is not a data connection.
// The relay takes over a data connection's readiness (Server.ready).
func (c *conn) link() *dataConn {
	d, _ := c.proto.(*dataConn)
	return d
}

// relayState is the relay's bookkeeping, readable from other goroutines
// (tests, benchmarks).
type relayState struct {
	maxQueued atomic.Int64 // most bytes ever queued for one requester
	pauses    atomic.Int64 // times an owner was paused by back-pressure
	relayed   atomic.Int64 // bytes passed from owners to requesters
	transfers atomic.Int64 // transfers under way after the last loop round
	attached  atomic.Int64 // data connections ever attached
	// Transfers between nodes (relay_cluster.go).
	maxUnacked atomic.Int64 // most bytes ever sent to another node and not acknowledged
	acks       atomic.Int64 // acknowledgements sent to other nodes
}

// relayOp carries out the hub's instruction about a data connection.
func (s *Server) relayOp(c *conn, op *hub.RelayOp, now time.Time) {
	if op.Kind == hub.RelayNote {
		s.pipeNote(op, now)
		return
	}
	if c == nil || c.dead {
		return // its Disconnect is on the way and ends the transfer
	}
	switch op.Kind {
	case hub.RelayAttach:
		if c.closing {
			return
		}
		d := &dataConn{role: op.Role, held: c.proto.leftover()}
		if op.Node != "" {
			d.pipe = &pipe{node: op.Node, token: op.Token}
		}
		c.proto = d
		s.relay.attached.Add(1)
		role := "requester"
		if op.Role == wire.RoleOwner {
			role = "owner"
			d.paused = true
			s.poll.SetRead(c.fd, false)
		}
		s.cfg.Logf("session %d: data connection of a transfer's %s", c.sid, role)
	case hub.RelayPipe:
		if d := c.link(); d != nil && d.pipe != nil {
			s.pipeStart(c, d, now)
			return
		}
		r := s.bySid[op.Peer]
		d := c.link()
		if d == nil || r == nil || r.dead || r.link() == nil {
			return
		}
		d.peer, r.link().peer = r, c
		s.cfg.Logf("session %d: relaying to session %d", c.sid, r.sid)
		if len(d.held) > 0 {
			held := d.held
			d.held = nil
			if !s.relayTo(c, r, held, now) {
				return
			}
		}
		s.relayResume(c)
	case hub.RelayAbort:
		c.hubGone = true // the hub has forgotten it
		s.kill(c, "transfer ended")
	}
}

// relayBegin runs after the read that carried a data connection's Attach:
// a requester must not have sent anything after it.
func (s *Server) relayBegin(c *conn, d *dataConn, now time.Time) {
	if c.dead || c.closing || len(d.held) == 0 || d.role != wire.RoleRequester {
		return
	}
	d.held = nil
	s.relayFail(c, hub.DataSpoke, "the requester sent data", now)
}

// relayReady handles poll's report for an attached data connection that
// is not closing.
func (s *Server) relayReady(c *conn, d *dataConn, ev poller.Event, now time.Time) {
	if ev.Writable && c.wantsWrite() {
		if err := c.flush(); err != nil {
			s.relayFail(c, hub.DataError, "write: "+err.Error(), now)
			return
		}
		s.relayWrote(c, now)
		if c.dead || c.closing {
			return
		}
	}
	if !ev.Readable && !ev.Hangup && !ev.Err {
		return
	}
	if d.role == wire.RoleRequester {
		s.relayReadRequester(c, now)
		return
	}
	if d.paused {
		if ev.Hangup || ev.Err {
			// Reported whatever the interest: leave the poll set until
			// reading resumes, so the loop does not spin.
			s.poll.Remove(c.fd)
			c.parked = true
		}
		return
	}
	for range relayReads {
		if !s.relayReadOwner(c, now) {
			return
		}
	}
}

// relayReadOwner does one read from an owner into its requester's queue.
// It reports whether another read may follow at once.
func (s *Server) relayReadOwner(c *conn, now time.Time) bool {
	if d := c.link(); d.pipe != nil {
		return s.pipeReadOwner(c, d, now)
	}
	p := c.link().peer
	if p == nil || p.dead {
		s.relayPause(c, false)
		return false
	}
	room := relayWindow - p.pending()
	if room <= 0 {
		s.relayPause(c, true)
		return false
	}
	b, err := s.recv(c, min(len(s.rbuf), room))
	switch {
	case err == errAgain:
		return false
	case err != nil && err != io.EOF:
		s.relayFail(c, hub.DataError, "read: "+err.Error(), now)
		return false
	}
	if len(b) > 0 && !s.relayTo(c, p, b, now) {
		return false
	}
	if err == io.EOF {
		s.relayOwnerEOF(c, now)
		return false
	}
	return !c.link().paused
}

// relayTo appends b to the requester's queue (writing at once what the
// socket takes) and applies back-pressure. It reports false when the
// requester's side failed.
func (s *Server) relayTo(owner, p *conn, b []byte, now time.Time) bool {
	if err := p.write(b, math.MaxInt); err != nil {
		s.relayFail(p, hub.DataError, "write: "+err.Error(), now)
		return false
	}
	s.relay.relayed.Add(int64(len(b)))
	s.relayWrote(p, now)
	if p.pending() >= relayWindow {
		s.relayPause(owner, true)
	}
	return true
}

// relayWrote follows a write to or a flush of a data connection: write
// interest matches the queue, a drained requester lets its owner go on,
// and a requester whose owner has finished is closed once flushed.
func (s *Server) relayWrote(c *conn, now time.Time) {
	q := c.pending()
	s.poll.SetWrite(c.fd, c.wantsWrite())
	d := c.link()
	if d.role != wire.RoleRequester {
		return
	}
	if int64(q) > s.relay.maxQueued.Load() {
		s.relay.maxQueued.Store(int64(q))
	}
	if d.pipe != nil && !d.ownerDone {
		s.pipeWritten(c, d, q, now)
	}
	if o := d.peer; o != nil && o.link().paused && !o.dead && q < relayWindow/2 {
		s.relayResume(o)
	}
	if d.ownerDone && q == 0 {
		s.startClosing(c, "transfer complete", now)
	}
}

// relayPause stops reading an owner.
func (s *Server) relayPause(c *conn, full bool) {
	d := c.link()
	if d.paused {
		return
	}
	d.paused = true
	s.poll.SetRead(c.fd, false)
	if full {
		s.relay.pauses.Add(1)
	}
}

// relayResume reads an owner again (back in the poll set if it was parked).
func (s *Server) relayResume(c *conn) {
	d := c.link()
	if !d.paused || c.dead || c.closing {
		return
	}
	d.paused = false
	if c.parked {
		c.parked = false
		if err := s.poll.Add(c.fd); err != nil {
			s.kill(c, err.Error())
			return
		}
		s.poll.SetWrite(c.fd, c.wantsWrite())
		return
	}
	s.poll.SetRead(c.fd, true)
}

// relayReadRequester: a requester sends nothing after its Attach, so
// anything it sends, its EOF or an error ends the transfer.
func (s *Server) relayReadRequester(c *conn, now time.Time) {
	b, err := s.recv(c, len(s.rbuf))
	switch {
	case err == errAgain:
	case len(b) > 0:
		s.relayFail(c, hub.DataSpoke, "the requester sent data", now)
	case err == io.EOF:
		s.relayFail(c, hub.DataEOF, "closed by the requester", now)
	default:
		s.relayFail(c, hub.DataError, "read: "+err.Error(), now)
	}
}

// relayOwnerEOF: the owner's stream ended normally. Its connection closes;
// the requester's is flushed, its write side shut, then closed.
func (s *Server) relayOwnerEOF(c *conn, now time.Time) {
	p := c.link().peer
	c.hubGone = true
	s.apply(s.hub.DataClosed(c.sid, hub.DataEOF, now), now)
	s.kill(c, "transfer sent")
	if p != nil && !p.dead && !p.closing {
		p.link().peer = nil
		p.link().ownerDone = true
		if p.pending() == 0 {
			s.startClosing(p, "transfer complete", now)
		}
	}
}

// relayFail ends a data connection that broke; the hub ends its transfer
// (the requester is told, the other side is closed).
func (s *Server) relayFail(c *conn, how hub.DataEnd, why string, now time.Time) {
	if c.dead {
		return
	}
	if !c.hubGone {
		c.hubGone = true
		s.apply(s.hub.DataClosed(c.sid, how, now), now)
	}
	s.kill(c, why)
}

// relayTick ends the transfers whose attach deadline passed. It runs once
// per loop round.
func (s *Server) relayTick(now time.Time) {
	defer func() { s.relay.transfers.Store(int64(s.hub.Transfers())) }()
	if d := s.hub.TransferDeadline(); !d.IsZero() && !now.Before(d) {
		s.apply(s.hub.Tick(now), now)
		s.reap(now)
	}
}
