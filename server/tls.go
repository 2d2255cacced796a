package server

import (
	"crypto/tls"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/tlspipe"
	"chat/internal/wire"
	"chat/server/hub"
)

// tlsState is what the loop's TLS connections share: their Pipes'
// configuration (tlspipe), and the sessions whose handshake goroutines
// asked for the loop's attention, which the loop takes each pass
// (tlsPass).
type tlsState struct {
	pipes    tlspipe.Config
	plain    []byte    // what recv decrypts goes here
	nextTrim time.Time // tlsTrim

	mu    sync.Mutex
	woken []hub.SessionID
	spare []hub.SessionID
}

func newTLSState(cfg *tls.Config, workers int, wake func()) *tlsState {
	cfg = cfg.Clone()
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	// Records as big as the output a pass has for a connection: fewer
	// records to seal for a room's messages or a file's data.
	cfg.DynamicRecordSizingDisabled = true
	t := &tlsState{plain: make([]byte, 0, 80<<10)}
	t.pipes = tlspipe.Config{TLS: cfg, Gate: tlspipe.NewGate(workers), Notify: func(tag uint64) {
		t.mu.Lock()
		first := len(t.woken) == 0
		t.woken = append(t.woken, hub.SessionID(tag))
		t.mu.Unlock()
		if first {
			wake()
		}
	}}
	return t
}

// take returns the sessions that asked for attention since the last call.
func (t *tlsState) take() []hub.SessionID {
	t.mu.Lock()
	defer t.mu.Unlock()
	woken := t.woken
	t.woken, t.spare = t.spare[:0], woken
	return woken
}

// errAgain: the socket has nothing to read now, or the bytes read were
// TLS handshake, which the handshake's goroutine takes.
var errAgain = unix.EAGAIN

// errNotTLS: a connection on a TLS port began with something else.
var errNotTLS = tlspipe.ErrNotTLS

// recv does one read from c's socket, of at most max bytes, and returns
// what the peer sent: the bytes read, or under TLS what they decrypt to
// (possibly nothing yet: errAgain). It returns io.EOF, possibly with the
// last bytes, at the end of the stream. The bytes are valid until the
// next recv.
func (s *Server) recv(c *conn, max int) ([]byte, error) {
	n, err := unix.Read(c.fd, s.rbuf[:max])
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return nil, errAgain
	case err != nil:
		return nil, err
	}
	c.heard = true
	if c.tls == nil || c.closing {
		if n == 0 {
			return nil, io.EOF
		}
		return s.rbuf[:n], nil
	}
	if n == 0 {
		if !c.tlsUp {
			return nil, io.EOF
		}
		c.tls.FeedEOF()
	} else if err := c.tls.Feed(s.rbuf[:n]); err != nil {
		return s.rbuf[:n], err
	}
	if !c.tlsUp {
		return nil, errAgain
	}
	b, err := s.decrypt(c)
	if c.tls.Pending() > 0 {
		// The peer's records asked for an answer of TLS's own (a
		// KeyUpdate): it goes out when the socket takes it.
		s.poll.SetWrite(c.fd, true)
	}
	return b, err
}

// decrypt returns what the whole records c's Pipe holds decrypt to, and
// io.EOF once the peer ended its stream.
func (s *Server) decrypt(c *conn) ([]byte, error) {
	buf := s.tls.plain[:0]
	for {
		if cap(buf)-len(buf) < 16<<10 {
			buf = append(buf, make([]byte, 16<<10)...)[:len(buf)]
		}
		n, err := c.tls.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil || n == 0 {
			s.tls.plain = buf[:0]
			if err == nil && len(buf) == 0 {
				err = errAgain
			}
			return buf, err
		}
	}
}

// tlsTrimEvery is how often the loop lets quiet TLS connections drop
// their ciphers and buffers (tlspipe.Pipe.Trim), which a busy one builds
// again in about a microsecond.
const tlsTrimEvery = 2 * time.Second

// tlsTrim trims every TLS connection's Pipe, once per tlsTrimEvery.
func (s *Server) tlsTrim(now time.Time) {
	if s.tls == nil || now.Before(s.tls.nextTrim) {
		return
	}
	s.tls.nextTrim = now.Add(tlsTrimEvery)
	released := 0
	for _, c := range s.conns {
		if c.tls != nil && c.tlsUp {
			released += c.tls.Trim()
		}
	}
	if released > 0 {
		s.released.Add(uint64(released))
	}
}

// tlsPass serves the connections whose handshake goroutines asked for the
// loop: their handshake output is flushed, and a handshake that ended
// lets the connection's output and input flow, or ends the connection.
func (s *Server) tlsPass(now time.Time) {
	if s.tls == nil {
		return
	}
	for _, sid := range s.tls.take() {
		c := s.bySid[sid]
		if c == nil || c.dead || c.tls == nil {
			continue
		}
		if done, err := c.tls.Handshake(); done && !c.tlsUp {
			if err != nil {
				s.cfg.Logf("session %d: TLS handshake with %s failed: %v", c.sid, c.addr, err)
				s.kill(c, "TLS handshake failed")
				continue
			}
			c.tlsUp = true
			st := c.tls.State()
			how := ""
			if st.DidResume {
				how = ", resumed"
			}
			s.cfg.Logf("session %d: %s%s", c.sid, tls.VersionName(st.Version), how)
			// The peer's first requests may have come with its last
			// handshake flight.
			if b, err := s.decrypt(c); err != errAgain {
				s.received(c, b, err, now)
			}
		}
		if !c.dead {
			if err := c.flush(); err != nil {
				s.kill(c, "write: "+err.Error())
				continue
			}
			s.afterWrite(c)
		}
		s.reap(now)
	}
}

// refusePlain answers a peer that does not speak TLS on a TLS port, in
// the plain protocol it does speak, and closes.
func (s *Server) refusePlain(c *conn, now time.Time) {
	c.tls.Close()
	c.tls = nil
	s.cfg.Logf("session %d: refused %s: it does not speak TLS, and this port speaks only TLS", c.sid, c.addr)
	text := "this port speaks TLS only: connect with TLS (chat tls://HOST:PORT, or your IRC client's TLS option)"
	if s.writeNow(c, byeFrame(wire.ByeMalformed, text, now)) {
		s.lose(c, "not TLS on a TLS port", now)
	}
}

// looksLikeTLS reports whether the first bytes of a connection are a TLS
// handshake record: a TLS client on a plain port.
func looksLikeTLS(b []byte) bool {
	return len(b) >= 3 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04
}

// refuseTLS answers a TLS client on a plain port: the plain answer it
// cannot read tells anyone who looks, and its TLS library reports a
// server that does not speak TLS.
func (s *Server) refuseTLS(c *conn, now time.Time) {
	s.cfg.Logf("session %d: refused %s: it began a TLS handshake on a plain port", c.sid, c.addr)
	if s.writeNow(c, byeFrame(wire.ByeMalformed, "this port speaks plain TCP, not TLS", now)) {
		s.lose(c, "TLS on a plain port", now)
	}
}

// closeTLS prepares a closing TLS connection's write side to be shut: once
// the plaintext before it is encrypted, a close_notify tells the peer the
// stream ends there and was not cut. A handshake that has not ended has
// nothing to end, and the plaintext waiting for it is dropped.
func (s *Server) closeTLS(c *conn) {
	if !c.tlsUp {
		if c.out != nil {
			c.out.drained()
		}
		return
	}
	if c.tlsShut || c.plainPending() > 0 {
		return
	}
	c.tlsShut = true
	if err := c.tls.CloseWrite(); err == nil {
		if err := c.flush(); err != nil {
			s.kill(c, "write: "+err.Error())
		}
	}
}
