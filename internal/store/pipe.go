package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
)

// Pipes carry a file transfer between users of two nodes: the owner's
// node sends the owner's bytes, and both nodes their notes about the
// transfer, to the other node on core NATS (nothing is kept), on
//
//	chat.node.<node>.xfer.<token>
//
// where node is the receiving node and token the transfer's. Everything
// about one transfer from one node goes on one subject through one
// connection, so it arrives in the order it was sent, or not at all: core
// NATS drops what a slow or gone subscriber cannot take, which is why a
// piece of the stream carries its offset and the receiver checks it. Flow
// control (how much may be sent before the receiver acknowledges it) is
// the server's: the store only carries the acknowledgements.
//
// Each message is a kind byte, an offset as 8 bytes big-endian, and the
// data. A node receives every pipe's messages on one subscription
// (chat.node.<node>.xfer.*), and sends them from one goroutine of its
// Pipes, so that Send never waits for NATS: a publish that flushes a full
// buffer to a slow connection blocks that goroutine, not the caller.

// PipeKind says what a PipeMsg carries.
type PipeKind uint8

const (
	// PipeData is a piece of the owner's stream; Offset is where it
	// starts in the stream.
	PipeData PipeKind = iota + 1
	// PipeEnd is the stream's normal end; Offset is its length.
	PipeEnd
	// PipeAck says the receiver has passed on the stream up to Offset.
	PipeAck
	// PipeNote is a note of the server's own about the transfer, in
	// Data, opaque to the store.
	PipeNote
)

// PipeMsg is one message of a pipe.
type PipeMsg struct {
	Token  string
	Kind   PipeKind
	Offset int64
	Data   []byte
}

// pipeHeader is the size of a message's kind and offset.
const pipeHeader = 9

func pipeSubject(node, token string) string { return "chat.node." + node + ".xfer." + token }

// ErrPipeQueue means a pipe message was refused because the messages
// waiting to be sent to other nodes already hold their bound of bytes:
// NATS takes them more slowly than the transfers make them.
var ErrPipeQueue = errors.New("too much is waiting to be sent to the other servers")

// Pipes is a node's end of the pipes: it receives what other nodes send
// it and sends to them. Its methods may be called from any goroutine.
type Pipes struct {
	s      *Store
	sub    *nats.Subscription
	limit  int
	failed func(node, token string, err error)

	mu     sync.Mutex
	queue  []pipeSend // waiting for the sender, oldest first
	spare  []pipeSend // the sender's last batch, for the next queue
	queued int        // bytes of data in queue and being sent
	closed bool
	kick   chan struct{} // the sender has work (or must stop); one token at most
	done   chan struct{} // closed by Close
	// sending counts the sender goroutine.
	sending sync.WaitGroup
}

type pipeSend struct {
	node string
	m    PipeMsg
}

// OpenPipes starts node's pipes. recv is called with each message other
// nodes send to node, in the order each sent them, one at a time from a
// NATS goroutine; it must hand the message over and return quickly, and
// may keep m.Data. failed is called, from the sender goroutine, with each
// message NATS refused (its node and token, and why), so that its
// transfer can end; a message lost on the way is not reported (the
// receiver finds the gap). limit bounds the bytes of data waiting to be
// sent (Send refuses past it with ErrPipeQueue). Close stops both.
func (s *Store) OpenPipes(node string, limit int, recv func(PipeMsg), failed func(node, token string, err error)) (*Pipes, error) {
	if err := CheckNode(node); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("store: pipes of node %s: a limit of %d bytes", node, limit)
	}
	p := &Pipes{s: s, limit: limit, failed: failed, kick: make(chan struct{}, 1), done: make(chan struct{})}
	prefix := pipeSubject(node, "")
	sub, err := s.nc.Subscribe(prefix+"*", func(m *nats.Msg) {
		if pm, ok := decodePipe(m.Subject[len(prefix):], m.Data); ok {
			recv(pm)
		}
	})
	if err == nil {
		// Until the server has the subscription, what is sent to it is
		// lost: another node may send as soon as this node has a user.
		err = s.nc.FlushTimeout(s.cfg.Timeout)
	}
	if err != nil {
		if sub != nil {
			sub.Unsubscribe()
		}
		return nil, fmt.Errorf("open the pipes of node %s: %w", node, classify(err))
	}
	p.sub = sub
	p.sending.Add(1)
	go p.sender()
	return p, nil
}

// decodePipe reads a message of the pipe token.
func decodePipe(token string, data []byte) (PipeMsg, bool) {
	if len(data) < pipeHeader || data[0] < byte(PipeData) || data[0] > byte(PipeNote) {
		return PipeMsg{}, false
	}
	off := int64(binary.BigEndian.Uint64(data[1:pipeHeader]))
	if off < 0 {
		return PipeMsg{}, false
	}
	return PipeMsg{Token: token, Kind: PipeKind(data[0]), Offset: off, Data: data[pipeHeader:]}, true
}

// appendPipe appends m's encoding to b.
func appendPipe(b []byte, m PipeMsg) []byte {
	b = append(b, byte(m.Kind))
	b = binary.BigEndian.AppendUint64(b, uint64(m.Offset))
	return append(b, m.Data...)
}

// checkToken refuses a token that is not one token of a subject.
func checkToken(token string) error {
	if token == "" || strings.ContainsAny(token, ".*> \t\r\n") {
		return fmt.Errorf("store: transfer token %q cannot be part of a subject", token)
	}
	return nil
}

// Send queues m for node's pipe m.Token, and returns at once: the sender
// goroutine publishes it, after everything queued before, and reports a
// refusal to OpenPipes' failed. The store keeps m.Data until then: the
// caller must not change it. It refuses with ErrPipeQueue when the data
// waiting would pass the limit, ErrClosed once Close or the store's Close
// began.
func (p *Pipes) Send(node string, m PipeMsg) error {
	if err := CheckNode(node); err != nil {
		return err
	}
	if err := checkToken(m.Token); err != nil {
		return err
	}
	p.mu.Lock()
	switch {
	case p.closed || p.s.life.Err() != nil:
		p.mu.Unlock()
		return ErrClosed
	case p.queued+len(m.Data) > p.limit:
		p.mu.Unlock()
		return fmt.Errorf("send to node %s: %w (%d bytes, the limit is %d)", node, ErrPipeQueue, p.queued, p.limit)
	}
	p.queue = append(p.queue, pipeSend{node, m})
	p.queued += len(m.Data)
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default: // kicked already
	}
	return nil
}

// Queued returns the bytes of data waiting to be sent.
func (p *Pipes) Queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queued
}

// sender publishes what Send queued, in order. It ends when Close is
// called, once what was queued before is published, or when the store
// closes.
func (p *Pipes) sender() {
	defer p.sending.Done()
	var buf []byte
	for {
		select {
		case <-p.kick:
		case <-p.done:
		case <-p.s.life.Done():
			return
		}
		p.mu.Lock()
		batch, closed := p.queue, p.closed
		p.queue, p.spare = p.spare[:0], nil
		p.mu.Unlock()
		for i, ps := range batch {
			buf = appendPipe(buf[:0], ps.m)
			err := p.s.nc.Publish(pipeSubject(ps.node, ps.m.Token), buf)
			p.mu.Lock()
			p.queued -= len(ps.m.Data)
			p.mu.Unlock()
			if err != nil && p.failed != nil {
				p.failed(ps.node, ps.m.Token, fmt.Errorf("send to node %s: %w", ps.node, classifyPublish(err)))
			}
			batch[i] = pipeSend{}
		}
		if cap(buf) > 1<<20 {
			buf = nil // a big note once: not kept for good
		}
		p.mu.Lock()
		p.spare = batch[:0]
		p.mu.Unlock()
		if closed {
			return
		}
	}
}

// classifyPublish is classify for a core NATS publish, which, with no
// reconnect buffer (an external NATS), is refused while the connection is
// away: the store is unavailable then, as for any other write.
func classifyPublish(err error) error {
	if errors.Is(err, nats.ErrReconnectBufExceeded) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return classify(err)
}

// Close stops receiving, publishes what is queued (the last notes of a
// server shutting down), and stops the sender. It may be called more
// than once.
func (p *Pipes) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.sub.Unsubscribe()
	close(p.done)
	p.sending.Wait()
}
