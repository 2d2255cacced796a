package loadgen

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"
)

// ircConn is one IRC session's connection: the socket, the lines read from
// it and the session's protocol state. The session's goroutine reads it
// (setup included) and alone touches lines, msg, client and readAt; the
// sender goroutine writes to it too, so every write takes wmu.
type ircConn struct {
	nc      net.Conn
	channel string // the session's channel, fixed at dial: the sender reads it too

	lines  lineBuffer
	msg    ircMessage
	client *ircClient
	reply  []byte    // the reader's answers (PONG, JOIN, NICK)
	readAt time.Time // when the bytes being handled were read

	wmu  sync.Mutex
	wbuf []byte // the sender's line
}

// dialIRC connects to addr (over TLS with tlsCfg) for the session named
// nick in room, reading into rbuf.
func dialIRC(addr string, tlsCfg *tls.Config, timeout time.Duration, rbuf []byte, nick, room string) (*ircConn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		tc := tls.Client(nc, tlsCfg)
		tc.SetDeadline(time.Now().Add(timeout))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	client := newIRCClient(nick, room)
	return &ircConn{nc: nc, channel: client.channel, lines: lineBuffer{buf: rbuf}, client: client}, nil
}

// Close closes the connection, which ends a blocked read or write.
func (c *ircConn) Close() error { return c.nc.Close() }

// write sends p, whole lines, under the write lock.
func (c *ircConn) write(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(p)
	return err
}

// privmsg sends text to the session's channel: one line, so one write
// and one packet, as the chat protocol's Say.
func (c *ircConn) privmsg(text []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = append(c.wbuf[:0], "PRIVMSG "...)
	c.wbuf = append(c.wbuf, c.channel...)
	c.wbuf = append(c.wbuf, " :"...)
	c.wbuf = append(c.wbuf, text...)
	c.wbuf = append(c.wbuf, "\r\n"...)
	_, err := c.nc.Write(c.wbuf)
	return err
}

// run reads lines until the connection ends or step says to stop: each is
// parsed, handed to the client, its answer sent, and the client's verdict
// given to step with the time the line was read. It returns step's error,
// or the connection's.
func (c *ircConn) run(step func(st ircStep, readAt time.Time) (stop bool, err error)) error {
	for {
		for {
			line, ok := c.lines.next()
			if !ok {
				break
			}
			if !parseIRCLine(line, &c.msg) {
				continue
			}
			var st ircStep
			c.reply, st = c.client.handle(&c.msg, c.reply[:0])
			if len(c.reply) > 0 {
				if err := c.write(c.reply); err != nil {
					return err
				}
			}
			if stop, err := step(st, c.readAt); stop || err != nil {
				return err
			}
		}
		space, err := c.lines.space()
		if err != nil {
			return err
		}
		n, err := c.nc.Read(space)
		if n > 0 {
			c.readAt = time.Now()
			c.lines.filled(n)
			continue
		}
		if err != nil {
			return err
		}
	}
}

// ircProtocol runs a session over IRC: registration and JOIN for the
// setup, PRIVMSG to the channel for a room message.
type ircProtocol struct{}

// setup connects, registers and joins the session's channel, and returns
// once the server has sent the channel's names (366): from then on the
// session gets every message sent to the channel.
func (ircProtocol) setup(s *session) error {
	w := s.w
	if s.rbuf == nil {
		s.rbuf = make([]byte, readBufSize)
	}
	start := time.Now()
	c, err := dialIRC(w.cfg.Addr, w.tls, w.cfg.Timeout, s.rbuf, s.name, w.cfg.roomName(s.room))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	w.connectHist.record(s.id, time.Since(start))
	if tc, ok := c.nc.(*tls.Conn); ok {
		w.handshakes.Add(1)
		if tc.ConnectionState().DidResume {
			w.resumed.Add(1)
		}
	}
	s.mu.Lock()
	if s.irc != nil {
		s.irc.Close()
	}
	s.irc = c
	s.mu.Unlock()
	if w.closing.Load() {
		s.closeConn()
		return fmt.Errorf("connect: %w", net.ErrClosed)
	}

	start = time.Now()
	c.nc.SetReadDeadline(start.Add(w.cfg.Timeout))
	if err := c.write(c.client.register(nil)); err != nil {
		return err
	}
	registered := false
	err = c.run(func(st ircStep, readAt time.Time) (bool, error) {
		if !registered && c.client.phase != ircRegistering {
			// The registration is the login of IRC: its time goes with
			// the chat protocol's Hello and login.
			registered = true
			w.loginHist.record(s.id, time.Since(start))
		}
		if st.err != nil {
			return true, st.err
		}
		s.ircStep(st, readAt)
		return st.joined, nil
	})
	if err != nil {
		return err
	}
	return c.nc.SetReadDeadline(time.Time{})
}

// readLoop handles what arrives until the connection ends.
func (ircProtocol) readLoop(s *session) error {
	c := s.ircConn()
	return c.run(func(st ircStep, readAt time.Time) (bool, error) {
		if st.err != nil {
			return true, st.err
		}
		s.ircStep(st, readAt)
		return false, nil
	})
}

// say sends a room message: PRIVMSG to the session's channel.
func (ircProtocol) say(s *session, text []byte) error {
	c := s.ircConn()
	if c == nil {
		return net.ErrClosed
	}
	return c.privmsg(text)
}

// ircStep counts or delivers what the client made of a line.
func (s *session) ircStep(st ircStep, readAt time.Time) {
	if st.problem != "" {
		s.w.errs.add(st.problem)
	}
	if st.text != nil {
		s.w.deliver(s, st.text, readAt)
	}
}

// ircConn is the session's IRC connection; nil before the first dial.
func (s *session) ircConn() *ircConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.irc
}
