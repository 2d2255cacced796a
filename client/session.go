package client

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// The connection: connecting, failing and losing it (each reported to the
// user), the queue of requests typed while it is not ready, the frames
// that come from the server, the timers and the logout. The states are in
// state.go, the resume protocol in resume.go, the user's replies in
// replies.go.

// startConnect begins a connection attempt at the server whose turn it is
// (servers.go).
func (c *Client) startConnect() {
	s, err := c.servers.current()
	c.server = s
	if err != nil {
		c.connectFailed(err)
		return
	}
	cn, err := dial(s.ip)
	if err != nil {
		c.connectFailed(err)
		return
	}
	c.conn = cn
	// The connect timeout bounds the TLS handshake too.
	c.toFor(stateConnecting, c.cfg.ConnectTimeout)
	if !cn.connecting {
		c.tcpConnected()
	}
}

// tcpConnected runs once the TCP connection is established: under TLS the
// handshake comes first (tlsPass calls connected when it has ended well).
func (c *Client) tcpConnected() {
	if c.tls != nil {
		// A server silent during the handshake is given up on as one
		// silent after it would be (timers).
		c.lastRecv = c.now()
		c.startTLS(c.conn, c.server)
		return
	}
	c.connected()
}

// connected runs once the connection is established (and under TLS
// secured): say hello first.
// The connection counts as made, and is reported, only when the server
// answers the Hello (helloReply): a proxy or a port forwarder accepts TCP
// connections even when the server behind it is down or unreachable.
func (c *Client) connected() {
	c.to(stateHello)
	c.lastRecv = c.now()
	c.pingID = 0
	c.transmit(request{frame: wire.Frame{Type: wire.TypeHello, Version: wire.Version, Text: clientSoftware}, auto: true})
}

// connectFailed reports a failed attempt and schedules the next one.
func (c *Client) connectFailed(err error) {
	c.attemptFailed(errText(err))
}

// attemptFailed reports an attempt that failed before the server answered
// the Hello (reason says how) and schedules the next one: at once at the
// next server, or after a pause once every server failed in this round.
func (c *Client) attemptFailed(reason string) {
	c.dropConn()
	failure := fmt.Sprintf("cannot connect to %s: %s", c.server, reason)
	if !c.servers.attemptFailed() {
		c.failure = failure
		c.report(fmt.Sprintf("%s; trying %s", failure, c.servers.upcoming()))
		c.toFor(stateBackingOff, 0)
		return
	}
	c.backOff(failure, "retrying")
}

// lost handles the end of a connection that nobody asked for. A
// connection the server never answered the Hello on was not established:
// its end is a failed attempt, reported as one.
func (c *Client) lost(reason string) {
	was := c.state
	c.dropConn()
	if was == stateQuitting {
		// The user was leaving anyway.
		c.exit(ExitOK)
		return
	}
	if !was.established() {
		c.attemptFailed(reason)
		return
	}
	// The next attempt goes to the next server, after the first pause
	// all the same (servers.go says why).
	c.servers.lost()
	c.backOff(fmt.Sprintf("connection to %s lost: %s", c.server, reason), "reconnecting")
}

// backOff schedules the next attempt after failure, and reports both (the
// next attempt is said to be again: "retrying", "reconnecting"), unless
// there is nobody to reconnect for.
func (c *Client) backOff(failure, again string) {
	c.failure = failure
	if c.giveUp(failure) {
		return
	}
	d := c.backoff.Next()
	c.toFor(stateBackingOff, d)
	c.report(fmt.Sprintf("%s; %s in %s", failure, again, pause(d)))
}

// giveUp ends the client when there is nobody to reconnect for: the input
// has ended, so nothing more will be typed. Lines still waiting keep it
// trying, unless the server was never reached at all. failure says what
// went wrong.
func (c *Client) giveUp(failure string) bool {
	if !c.stdinEOF {
		return false
	}
	unsent := len(c.queue)
	if len(c.inbuf) > 0 {
		unsent++
	}
	if unsent > 0 && c.everConnected {
		return false
	}
	text := failure + "; the input has ended, so not retrying"
	if unsent > 0 {
		text += "; input not sent"
	}
	c.report(text + "; exiting")
	c.exit(ExitError)
	return true
}

// dropConn closes the connection and forgets the requests in flight: their
// answers will never come, and sending them again could deliver a message
// twice.
func (c *Client) dropConn() {
	if c.conn != nil {
		c.conn.close()
		c.conn = nil
	}
	for id, req := range c.pending {
		if req.frame.Type == wire.TypeLogin && !req.auto {
			c.report(fmt.Sprintf("the login as %s was not answered; log in again with: login %s", req.frame.Name, req.frame.Name))
		}
		if req.frame.Type == wire.TypeClaim && !req.auto {
			c.report(fmt.Sprintf("the name %s was not confirmed before the connection was lost; ask for it again", req.frame.Name))
		}
		if req.frame.Type == wire.TypeHistory && !req.auto {
			// Not asked again by itself: the user may have moved on.
			c.report(fmt.Sprintf("the history of %s was not shown: the connection was lost before it came; ask again with: history", req.frame.Room))
		}
		if req.frame.Type == wire.TypeFetch {
			// Not sent again by itself: the owner may have been asked
			// already, and a second request would fetch the file twice.
			c.report(fmt.Sprintf("could not get %s from %s: the connection was lost before the server answered the request; ask for the file again", req.frame.Name, req.frame.To))
		}
		req.secret = ""
		delete(c.pending, id)
	}
	c.to(stateOffline)
	c.pingID = 0
	c.startResume()
	// A page of history being received will not be completed, nor the
	// pages waiting for it asked for.
	c.pages.msgs, c.pages.more = nil, 0
	// The next Hello claims the name again anyway.
	c.reclaims = 0
}

// ready reports whether a request can be sent now rather than queued.
func (c *Client) ready() bool {
	return len(c.queue) == 0 && c.canSend()
}

// canSend reports whether the connection takes requests the user typed:
// it is ready (or on the way out, where a typed line still goes before the
// Logout's answer), and no login the user asked for is being decided.
func (c *Client) canSend() bool {
	return (c.state == stateReady || c.state == stateQuitting) && !c.loginInFlight()
}

// loginInFlight reports whether a Login or Claim the user asked for is
// unanswered: nothing is sent behind it.
func (c *Client) loginInFlight() bool {
	for _, req := range c.pending {
		if !req.auto && (req.frame.Type == wire.TypeLogin || req.frame.Type == wire.TypeClaim) {
			return true
		}
	}
	return false
}

// reconnecting reports whether a connection failed and has not been
// re-established since: lines typed meanwhile are worth a word.
func (c *Client) reconnecting() bool { return c.failure != "" }

// submit sends a request the user asked for, or queues it until the
// connection is ready.
func (c *Client) submit(req request) {
	if c.ready() {
		c.transmit(req)
		return
	}
	if len(c.queue) >= maxQueue {
		req.secret = ""
		c.report(fmt.Sprintf("not connected to %s and %d lines are already waiting; this line was dropped", c.server, maxQueue))
		return
	}
	c.queue = append(c.queue, req)
	if c.reconnecting() {
		// Only worth telling when the connection is really down, not while
		// a login is being checked.
		c.queuedTold++
		c.report(fmt.Sprintf("not connected: line queued (%d waiting); it will be sent after reconnecting", len(c.queue)))
	}
}

// flushQueue sends queued requests while the connection is ready.
func (c *Client) flushQueue() {
	sent := 0
	for len(c.queue) > 0 && c.canSend() {
		req := c.queue[0]
		c.queue[0] = request{}
		c.queue = c.queue[1:]
		c.transmit(req)
		sent++
	}
	if len(c.queue) == 0 {
		c.queue = nil
		if c.queuedTold > 0 && sent > 0 {
			c.report(fmt.Sprintf("sent %s typed while disconnected", wire.Plural(c.queuedTold, "line", "lines")))
			c.queuedTold = 0
		}
	}
}

// transmit gives req an ID and writes it to the connection.
func (c *Client) transmit(req request) {
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	f := req.frame
	f.ID = c.nextID
	if f.Type == wire.TypeLogin {
		f.Secret = req.secret
	}
	c.conn.send(&f)
	f.Secret = ""
	req.frame = f
	c.pending[f.ID] = &req
}

// frame handles one frame from the server.
func (c *Client) frame(f *wire.Frame) {
	now := c.now()
	if (f.Type == wire.TypeMessage || f.Type == wire.TypePrivate) && f.Text == "" {
		return // an IRC client's tags alone (a reaction): nothing to show
	}
	switch f.Type {
	case wire.TypeReply:
		c.reply(f)
	case wire.TypeServerPing:
		c.conn.send(&wire.Frame{Type: wire.TypePong})
	case wire.TypeBye:
		c.bye(f)
	case wire.TypeMessage:
		if c.holdForResume(f) || c.takePage(f) {
			return
		}
		if f.Room == c.room && f.Seq > c.lastSeq {
			c.lastSeq = f.Seq
		}
		for _, l := range c.mode.Show(f, nil, now) {
			c.r.Print(l)
		}
	case wire.TypePrivate:
		for _, l := range c.mode.Show(f, nil, now) {
			c.r.Print(l)
		}
	case wire.TypeNotice:
		c.notice(f, now)
	case wire.TypeFileOffer:
		c.offer(f)
	case wire.TypeFileFailed:
		c.fileFailed(f)
	default:
		// A newer server's frame: nothing to show.
	}
}

// reply handles the answer to a request: the client's own requests
// (autoReply) move the connection along; the user's (userReply, in
// replies.go) update what the client remembers and are shown.
func (c *Client) reply(f *wire.Frame) {
	req := c.pending[f.ID]
	if req == nil {
		// Not an answer to anything in flight (the server's answer to a
		// malformed frame has ID 0): still worth showing.
		c.show(f, nil)
		return
	}
	delete(c.pending, f.ID)
	secret := req.secret
	req.secret = ""
	// A Login's reply carries the resume token, if the server gives one:
	// it is the client's alone, taken out before anything shows the
	// reply. A login by the user or by the client itself replaces the
	// token held, and one that gave none leaves none.
	token := f.Secret
	f.Secret = ""
	if req.frame.Type == wire.TypeLogin && f.Code == wire.OK {
		c.token = token
	}
	if req.auto {
		c.autoReply(f, req)
	} else {
		c.userReply(f, req, secret)
	}
	if c.done {
		return
	}
	c.flushQueue()
}

// autoReply handles the answer to a request the client sent by itself.
func (c *Client) autoReply(f *wire.Frame, req *request) {
	switch req.frame.Type {
	case wire.TypeHello:
		c.helloReply(f)
	case wire.TypeLogin:
		c.reloginReply(f, req)
	case wire.TypeClaim:
		c.reclaimReply(f)
	case wire.TypeEnter:
		c.reenterReply(f, req)
	case wire.TypeCreate:
		c.recreateReply(f, req)
	case wire.TypeHistory:
		c.replayReply(f)
	case wire.TypePing:
		c.pingID = 0
	}
}

// helloReply handles the answer to the Hello: only now is the connection
// really up, the server having answered. After a reconnection the session
// is restored (relogin).
func (c *Client) helloReply(f *wire.Frame) {
	if f.Code != wire.OK {
		c.report(fmt.Sprintf("the server refused this client: %s; exiting", textOr(f.Text, "protocol version not supported")))
		c.exit(ExitError)
		return
	}
	if c.everConnected {
		c.report("reconnected to " + c.server.String())
	} else {
		c.report("connected to " + c.server.String())
	}
	c.everConnected = true
	c.servers.connected()
	c.failure = ""
	c.backoff.Reset()
	if !c.relogin() {
		c.to(stateReady)
	}
}

// bye handles the server's last word on this connection.
func (c *Client) bye(f *wire.Frame) {
	text := textOr(f.Text, fmt.Sprintf("reason %d", f.Code))
	switch {
	case f.Code == wire.ByeTakeover || f.Code == wire.ByeKilled:
		// Another login took the session, or a server operator ended it:
		// coming straight back would undo either.
		c.dropConn()
		c.report(fmt.Sprintf("disconnected by %s: %s; not reconnecting, exiting", c.server, text))
		c.exit(ExitError)
	case f.Code == wire.ByeLogout || c.state == stateQuitting:
		c.dropConn()
		c.exit(ExitOK)
	case f.Code == wire.ByeMalformed && c.state == stateHello:
		// The server could not read this client's first words (a plain
		// client on a port that speaks TLS only, or another protocol
		// altogether): the next attempt would say the same.
		c.dropConn()
		c.report(fmt.Sprintf("cannot connect to %s: the server said: %s; not retrying, exiting", c.server, text))
		c.exit(ExitError)
	default:
		c.lost("the server said: " + text)
	}
}

// readConn reads and handles what the server sent.
func (c *Client) readConn(buf []byte) {
	cn := c.conn
	err := cn.readSome(buf)
	// What came before the end of the stream is handled first: under TLS
	// the server's last frames (a Bye) and its close_notify arrive in one
	// read.
	c.frames()
	if err != nil && c.conn == cn && !c.done {
		c.lost(errText(err))
	}
}

// frames handles the frames the decoder holds.
func (c *Client) frames() {
	c.lastRecv = c.now()
	var f wire.Frame
	for c.conn != nil && !c.done {
		ok, err := c.conn.dec.Next(&f)
		if errors.Is(err, wire.ErrMalformed) {
			c.report("ignored a frame from the server that could not be read; going on")
			continue
		}
		if err != nil {
			c.lost("the server sent data that is not the chat protocol: " + err.Error())
			return
		}
		if !ok {
			return
		}
		c.frame(&f)
	}
}

// timers runs what is due: the current state's timer (a reconnection
// attempt, a connect timeout, a Login or Claim asked again, a logout that
// was never answered), the liveness ping, the Escape key, the transfers.
func (c *Client) timers() {
	now := c.now()
	if c.conn != nil && c.conn.open() {
		silent := now.Sub(c.lastRecv)
		if silent >= 2*c.cfg.PingAfter {
			c.lost(fmt.Sprintf("no answer from the server for %s", silence(silent)))
		} else if silent >= c.cfg.PingAfter && c.pingID == 0 && c.state.established() {
			c.transmit(request{frame: wire.Frame{Type: wire.TypePing}, auto: true})
			c.pingID = c.nextID
		}
	}
	if c.conn != nil && c.conn.handshaking() {
		if silent := now.Sub(c.lastRecv); silent >= 2*c.cfg.PingAfter {
			c.connectFailed(fmt.Errorf("no answer from the server for %s", silence(silent)))
		}
	}
	if !c.escAt.IsZero() && !now.Before(c.escAt) {
		c.escapeTimeout()
	}
	c.transferTimers(now)
	if c.done || !c.due(now) {
		return
	}
	switch c.state {
	case stateBackingOff:
		c.startConnect()
	case stateConnecting:
		c.connectFailed(fmt.Errorf("no answer after %s", pause(c.cfg.ConnectTimeout)))
	case stateReclaimWait:
		c.reclaim()
	case stateQuitting:
		c.report("the server did not answer the logout; exiting")
		c.exit(ExitOK)
	}
}

// nextTimer returns when timers has something to do, or the zero time.
func (c *Client) nextTimer() time.Time {
	var t time.Time
	earliest := func(u time.Time) {
		if !u.IsZero() && (t.IsZero() || u.Before(t)) {
			t = u
		}
	}
	earliest(c.until)
	if c.conn != nil && c.conn.open() {
		if c.pingID == 0 && c.state.established() {
			earliest(c.lastRecv.Add(c.cfg.PingAfter))
		}
		earliest(c.lastRecv.Add(2 * c.cfg.PingAfter))
	}
	if c.conn != nil && c.conn.handshaking() {
		earliest(c.lastRecv.Add(2 * c.cfg.PingAfter))
	}
	earliest(c.escAt)
	earliest(c.transferDeadline())
	return t
}

// logout ends the session as the user asked (logout, Ctrl-D, end of input):
// tell the server if there is a connection to tell, then exit 0.
func (c *Client) logout() {
	if n := len(c.queue); n > 0 {
		c.report(fmt.Sprintf("%s not sent", wire.Plural(n, "queued line", "queued lines")))
		for i := range c.queue {
			c.queue[i].secret = ""
		}
		c.queue = nil
	}
	if !c.state.established() {
		if c.loggedIn {
			c.report(fmt.Sprintf("not connected to %s, so the server cannot be told of the logout; exiting", c.server))
		}
		c.exit(ExitOK)
		return
	}
	q, _ := c.mode.(QuietExiter)
	c.transmit(request{frame: wire.Frame{Type: wire.TypeLogout}, quiet: q != nil && q.QuietExit()})
	c.toFor(stateQuitting, logoutWait)
}

// hastyLogout tells the server the user is leaving without waiting for an
// answer (Ctrl-C, SIGTERM): the room hears that the user left, not that
// contact was lost.
func (c *Client) hastyLogout() {
	if !c.state.established() || !c.loggedIn {
		return
	}
	c.transmit(request{frame: wire.Frame{Type: wire.TypeLogout}})
	_ = c.conn.flush()
}

// errText describes a connection error for a person: "connection refused"
// rather than "connect: connection refused".
func errText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

func textOr(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}
