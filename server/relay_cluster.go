package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"chat/internal/store"
	"chat/internal/wire"
	"chat/server/hub"
)

// The relay between nodes: a transfer whose owner and requester are on
// two nodes of a cluster (hub/transfer_cluster.go). Each user attaches
// its data connection to its own node. The owner's node reads the
// owner's connection, as the relay on one server does, and sends what it
// reads to the requester's node through the store's pipes (core NATS,
// internal/store/pipe.go), each piece with its offset in the stream; the
// requester's node appends the pieces to the requester's output queue
// and acknowledges, every pipeAckStep, how much of the stream the
// requester's socket has taken. The bytes pass unchanged, the owner's
// FileHeader and FileEnd with them: the relay is byte-transparent, and
// the requester checks size and digest as it does on one server.
//
// Flow control: the owner's node keeps at most pipeWindow bytes sent and
// not acknowledged. At the window it turns off read interest on the
// owner (relayPause), as the relay on one server does when a requester's
// queue is full, so the owner's kernel buffers fill and its writes
// block; an acknowledgement turns it back on. So a transfer holds at most
// pipeWindow bytes on its way between the two nodes and in the
// requester's queue, however slow the requester; the loop never waits.
//
// What the store's goroutines receive (the other nodes' pieces, notes
// and acknowledgements) and the sends NATS refused wait in pipes' locked
// lists, and the loop takes them each pass (collectPipes), woken through
// the wake pipe. A piece that does not start where the last one ended (a
// message lost between the nodes), or a send NATS refused, ends the
// transfer on both nodes (hub.Hub.PipeBroken); a node that stops
// answering is found by the hub's heartbeats.

const (
	// pipeWindow bounds the bytes of a transfer between nodes sent and not
	// yet acknowledged.
	pipeWindow = 1 << 20
	// pipeAckStep is how much more of the stream the requester's node
	// passes on before it acknowledges: four acknowledgements a window,
	// so the owner's node rarely waits.
	pipeAckStep = pipeWindow / 4
	// pipeChunk bounds one piece of the stream, well under NATS's
	// smallest usual payload limit (1 MiB).
	pipeChunk = 64 << 10
	// pipeQueueLimit bounds the bytes waiting in the store to be sent to
	// other nodes: past it NATS is taking them far more slowly than the
	// windows let the transfers make them, and a send fails.
	pipeQueueLimit = 64 << 20
)

// errNoPipes refuses a transfer between nodes on a server with no pipes.
var errNoPipes = errors.New("this server is not a node of a cluster")

// pipe is a data connection's link to the other node of its transfer.
type pipe struct {
	node, token string
	// live: owner: the bytes flow (hub.RelayPipe).
	live bool
	// off is how much of the stream this node sent (owner) or received
	// (requester); acked how much of it the requester's node
	// acknowledged.
	off, acked int64
}

// pipes is this node's end of the store's pipes and what its goroutines
// handed over for the loop.
type pipes struct {
	p *store.Pipes

	mu     sync.Mutex
	in     []store.PipeMsg // from other nodes, in the order received
	failed []pipeFailure   // sends NATS refused
}

// pipeFailure is a send of the transfer token that NATS refused.
type pipeFailure struct {
	token string
	err   error
}

// openPipes opens this node's pipes, in joinCluster.
func (s *Server) openPipes() error {
	cl := s.cluster
	px := &pipes{}
	// The loop takes the whole list each pass, so only the message that
	// finds it empty needs to wake it.
	hand := func(add func()) {
		px.mu.Lock()
		quiet := len(px.in) == 0 && len(px.failed) == 0
		add()
		px.mu.Unlock()
		if quiet {
			s.wakeup.wake()
		}
	}
	p, err := s.durable.st.OpenPipes(cl.node, pipeQueueLimit,
		func(m store.PipeMsg) { hand(func() { px.in = append(px.in, m) }) },
		func(_, token string, err error) {
			hand(func() { px.failed = append(px.failed, pipeFailure{token, err}) })
		})
	if err != nil {
		return err
	}
	px.p = p
	cl.pipes = px
	cl.stops = append(cl.stops, p.Close)
	return nil
}

// collectPipes hands what other nodes sent about transfers to the hub and
// the relay, and ends the transfers whose sends NATS refused.
func (s *Server) collectPipes(now time.Time) {
	px := s.cluster.pipes
	if px == nil {
		return
	}
	px.mu.Lock()
	in, failed := px.in, px.failed
	px.in, px.failed = nil, nil
	px.mu.Unlock()
	for _, m := range in {
		switch m.Kind {
		case store.PipeData:
			s.pipeData(m, now)
		case store.PipeEnd:
			s.pipeEnded(m, now)
		case store.PipeAck:
			s.pipeAcked(m, now)
		case store.PipeNote:
			n := new(hub.PipeNote)
			if err := json.Unmarshal(m.Data, n); err != nil {
				s.cfg.Logf("cluster: a note about a transfer cannot be read: %v", err)
				continue
			}
			s.apply(s.hub.PipeNote(m.Token, n, now), now)
		}
		s.reap(now)
	}
	for _, f := range failed {
		s.pipeBroken(f.token, f.err, now)
		s.reap(now)
	}
}

// pipeSend hands m for node to the store.
func (s *Server) pipeSend(node string, m store.PipeMsg) error {
	if s.cluster == nil || s.cluster.pipes == nil {
		return errNoPipes
	}
	return s.cluster.pipes.p.Send(node, m)
}

// pipeBroken ends the transfer token, whose path to the other node broke.
func (s *Server) pipeBroken(token string, err error, now time.Time) {
	outs := s.hub.PipeBroken(token, pipeTrouble(err), now)
	if len(outs) > 0 {
		s.cfg.Logf("cluster: a transfer with another node broke off: %v", err)
	}
	s.apply(outs, now)
}

// pipeTrouble says what broke a transfer's path, for its users; the log
// has the whole error.
func pipeTrouble(err error) string {
	var lost *lostError
	switch {
	case errors.As(err, &lost):
		return "part of it was lost on the way"
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		return "no connection between the servers"
	case errors.Is(err, store.ErrPipeQueue):
		return "too much is waiting to be sent between the servers"
	}
	return err.Error()
}

// pipeNote sends the hub's note to the other node of a transfer.
func (s *Server) pipeNote(op *hub.RelayOp, now time.Time) {
	data, err := json.Marshal(op.Note)
	if err == nil {
		err = s.pipeSend(op.Node, store.PipeMsg{Token: op.Token, Kind: store.PipeNote, Data: data})
	}
	if err != nil {
		s.pipeBroken(op.Token, err, now)
	}
}

// pipeStart: both sides are attached; the owner's bytes flow to the
// requester's node, the first ones those that came with its Attach.
func (s *Server) pipeStart(c *conn, d *dataConn, now time.Time) {
	d.pipe.live = true
	s.cfg.Logf("session %d: relaying to node %s", c.sid, d.pipe.node)
	if len(d.held) > 0 {
		held := d.held
		d.held = nil
		if !s.pipeOut(c, d, held, now) {
			return
		}
	}
	s.relayResume(c)
}

// pipeReadOwner does one read from an owner whose requester is on another
// node, at most what the window still allows, and sends it there. It
// reports whether another read may follow at once.
func (s *Server) pipeReadOwner(c *conn, d *dataConn, now time.Time) bool {
	room := pipeWindow - (d.pipe.off - d.pipe.acked)
	if room <= 0 {
		s.relayPause(c, true)
		return false
	}
	b, err := s.recv(c, int(min(int64(len(s.rbuf)), room)))
	switch {
	case err == errAgain:
		return false
	case err != nil && err != io.EOF:
		s.relayFail(c, hub.DataError, "read: "+err.Error(), now)
		return false
	}
	if len(b) > 0 && !s.pipeOut(c, d, b, now) {
		return false
	}
	if err == io.EOF {
		s.pipeOwnerEOF(c, d, now)
		return false
	}
	return !d.paused
}

// pipeOut sends b, read from the owner c, to the requester's node, and
// pauses the owner at the window. It reports false when the send failed
// (the transfer ended).
func (s *Server) pipeOut(c *conn, d *dataConn, b []byte, now time.Time) bool {
	for len(b) > 0 {
		n := min(len(b), pipeChunk)
		piece := make([]byte, n) // b is the loop's read buffer
		copy(piece, b)
		err := s.pipeSend(d.pipe.node, store.PipeMsg{Token: d.pipe.token, Kind: store.PipeData, Offset: d.pipe.off, Data: piece})
		if err != nil {
			s.pipeBroken(d.pipe.token, err, now)
			return false
		}
		b = b[n:]
		d.pipe.off += int64(n)
		s.relay.relayed.Add(int64(n))
	}
	unacked := d.pipe.off - d.pipe.acked
	if unacked > s.relay.maxUnacked.Load() {
		s.relay.maxUnacked.Store(unacked)
	}
	if unacked >= pipeWindow {
		s.relayPause(c, true)
	}
	return true
}

// pipeOwnerEOF: the owner's stream ended normally. The requester's node is
// told where it ended (after the last piece: the same subject keeps the
// order), and this node's half of the transfer is over.
func (s *Server) pipeOwnerEOF(c *conn, d *dataConn, now time.Time) {
	if err := s.pipeSend(d.pipe.node, store.PipeMsg{Token: d.pipe.token, Kind: store.PipeEnd, Offset: d.pipe.off}); err != nil {
		s.pipeBroken(d.pipe.token, err, now)
		return
	}
	c.hubGone = true
	s.apply(s.hub.DataClosed(c.sid, hub.DataEOF, now), now)
	s.kill(c, "transfer sent")
}

// pipeAcked takes the requester's node's acknowledgement: the owner goes
// on once the window has room.
func (s *Server) pipeAcked(m store.PipeMsg, now time.Time) {
	c, d := s.pipeConn(m.Token, wire.RoleOwner, now)
	if d == nil {
		return
	}
	if m.Offset > d.pipe.acked && m.Offset <= d.pipe.off {
		d.pipe.acked = m.Offset
	}
	if d.pipe.live && d.paused && d.pipe.off-d.pipe.acked < pipeWindow {
		s.relayResume(c)
	}
}

// pipeConn returns this node's data connection of the transfer token,
// with the role given, if it is still there; the hub notes that the other
// node was heard from.
func (s *Server) pipeConn(token string, role wire.Code, now time.Time) (*conn, *dataConn) {
	c := s.bySid[s.hub.PipeHeard(token, now)]
	if c == nil || c.dead || c.closing {
		return nil, nil
	}
	d := c.link()
	if d == nil || d.pipe == nil || d.role != role || d.ownerDone {
		return nil, nil
	}
	return c, d
}

// lostError is a piece of a stream that did not start where the last one
// ended: core NATS dropped a message between the nodes.
type lostError struct{ off, want int64 }

func (e *lostError) Error() string {
	return fmt.Sprintf("part of the stream was lost on the way: a piece at byte %d came after byte %d", e.off, e.want)
}

func errLost(off, want int64) error { return &lostError{off, want} }

// pipeData writes a piece of the owner's stream to the requester.
func (s *Server) pipeData(m store.PipeMsg, now time.Time) {
	c, d := s.pipeConn(m.Token, wire.RoleRequester, now)
	if d == nil {
		return
	}
	if m.Offset != d.pipe.off {
		s.pipeBroken(m.Token, errLost(m.Offset, d.pipe.off), now)
		return
	}
	if err := c.write(m.Data, math.MaxInt); err != nil {
		s.relayFail(c, hub.DataError, "write: "+err.Error(), now)
		return
	}
	d.pipe.off += int64(len(m.Data))
	s.relay.relayed.Add(int64(len(m.Data)))
	s.relayWrote(c, now)
}

// pipeEnded: the owner's stream ended on its node. The requester's
// connection is flushed, its write side shut, then closed, as when an
// owner here ends its stream.
func (s *Server) pipeEnded(m store.PipeMsg, now time.Time) {
	c, d := s.pipeConn(m.Token, wire.RoleRequester, now)
	if d == nil {
		return
	}
	if m.Offset != d.pipe.off {
		s.pipeBroken(m.Token, errLost(m.Offset, d.pipe.off), now)
		return
	}
	if s.hub.PipeEnd(m.Token, now) == 0 {
		return
	}
	d.ownerDone = true
	if c.pending() == 0 {
		s.startClosing(c, "transfer complete", now)
	}
}

// pipeWritten follows a write to a requester whose owner is on another
// node: what its socket took is acknowledged, every pipeAckStep.
func (s *Server) pipeWritten(c *conn, d *dataConn, queued int, now time.Time) {
	written := d.pipe.off - int64(queued)
	if written-d.pipe.acked < pipeAckStep {
		return
	}
	d.pipe.acked = written
	if err := s.pipeSend(d.pipe.node, store.PipeMsg{Token: d.pipe.token, Kind: store.PipeAck, Offset: written}); err != nil {
		s.pipeBroken(d.pipe.token, err, now)
		return
	}
	s.relay.acks.Add(1)
}
