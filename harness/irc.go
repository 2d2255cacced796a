package harness

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// IRCPeer is an IRC client over a real TCP socket, for specs of the
// server's IRC listener: it says exactly the lines a spec gives it, the
// malformed ones included, and keeps every line the server sends so a spec
// can wait for one and report all of them when it does not come. A reader
// goroutine takes the lines off the socket as they arrive, so the server
// never sees a peer that stops reading (unless the spec wants one: then
// RawClient is the tool), and answers the server's PINGs when AutoPong is
// on.
type IRCPeer struct {
	// AutoPong answers each "PING x" of the server with "PONG x" as soon
	// as it arrives, as every real IRC client does; DialIRC turns it on. A
	// spec of the server's ping timeout turns it off to play a client that
	// has gone silent. Atomic because the reader goroutine reads it while
	// the spec may change it.
	AutoPong atomic.Bool

	conn net.Conn
	wmu  sync.Mutex // one line is written whole before the next

	mu      sync.Mutex
	lines   []string      // every line received, without its line end
	next    int           // Expect looks at lines[next:]
	changed chan struct{} // closed and replaced when a line arrives or the stream ends
	done    bool          // the read side ended
	readErr error         // why (io.EOF for the server's close)
	closed  chan struct{} // closed when the read side ended
}

// ircWriteTimeout bounds a write: a server that stops reading must fail the
// spec, not hang it.
const ircWriteTimeout = 5 * time.Second

// DialIRC connects to the IRC listener at addr, starts reading and turns
// AutoPong on.
func DialIRC(addr string) (*IRCPeer, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial IRC %s: %w", addr, err)
	}
	return newIRCPeer(conn), nil
}

func newIRCPeer(conn net.Conn) *IRCPeer {
	p := &IRCPeer{conn: conn, changed: make(chan struct{}), closed: make(chan struct{})}
	p.AutoPong.Store(true)
	go p.read()
	return p
}

// read keeps every line the server sends until the stream ends. The line
// end is CRLF by the RFC, but a bare LF ends a line as well, and what comes
// after the last line end when the stream ends is kept as a line too: a
// server that forgets a CRLF must show in a failure message, not vanish.
func (p *IRCPeer) read() {
	r := bufio.NewReaderSize(p.conn, 64<<10)
	for {
		s, err := r.ReadString('\n')
		if s != "" {
			line := strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
			if p.AutoPong.Load() && err == nil {
				if arg, ok := strings.CutPrefix(withoutPrefix(line), "PING "); ok {
					// Answered before the line is kept, so by the time a
					// spec sees a PING its PONG is on the way.
					_ = p.Send("PONG %s", arg)
				}
			}
			p.keep(line, nil)
		}
		if err != nil {
			p.keep("", err)
			return
		}
	}
}

// withoutPrefix drops a line's ":source " prefix, if it has one.
func withoutPrefix(line string) string {
	if !strings.HasPrefix(line, ":") {
		return line
	}
	_, rest, _ := strings.Cut(line, " ")
	return rest
}

// keep records a received line, or with err != nil the end of the stream,
// and wakes every waiter.
func (p *IRCPeer) keep(line string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.done, p.readErr = true, err
		close(p.closed)
	} else {
		p.lines = append(p.lines, line)
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// Send writes the line fmt.Sprintf(format, args...) followed by CRLF.
func (p *IRCPeer) Send(format string, args ...any) error {
	return p.SendRaw([]byte(fmt.Sprintf(format, args...) + "\r\n"))
}

// SendRaw writes b as it is, with no line end added: for lines that end in
// a bare LF, lines split across writes, and bytes that are not UTF-8.
func (p *IRCPeer) SendRaw(b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if err := p.conn.SetWriteDeadline(time.Now().Add(ircWriteTimeout)); err != nil {
		return err
	}
	_, err := p.conn.Write(b)
	return err
}

// Expect waits up to timeout for a received line, not yet consumed by an
// earlier Expect, that matches re, and returns its submatches (the whole
// match first). That line and every line before it are consumed: Expect
// follows the server's order, like reading a transcript. It waits on the
// reader's notifications, never by sleeping. When the stream ends or the
// deadline passes first, the error lists the lines seen since the last
// match, which is what tells why.
func (p *IRCPeer) Expect(re string, timeout time.Duration) ([]string, error) {
	rx, err := regexp.Compile(re)
	if err != nil {
		return nil, fmt.Errorf("irc expect: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	p.mu.Lock()
	from := p.next
	p.mu.Unlock()
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if m := rx.FindStringSubmatch(p.lines[i]); m != nil {
				p.next = i + 1
				p.mu.Unlock()
				return m, nil
			}
		}
		// Each line is looked at once: the next look starts after these.
		from = len(p.lines)
		changed, done, readErr := p.changed, p.done, p.readErr
		p.mu.Unlock()
		if done {
			return nil, p.expectError(re, fmt.Sprintf("the connection ended (%v)", readErr))
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, p.expectError(re, fmt.Sprintf("nothing matched within %v", timeout))
		}
	}
}

// expectError says what Expect waited for and shows the unconsumed lines
// (and how many consumed ones came before them).
func (p *IRCPeer) expectError(re, why string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "irc: /%s/: %s; %d lines consumed before, then these %d:", re, why, p.next, len(p.lines)-p.next)
	for _, l := range p.lines[p.next:] {
		fmt.Fprintf(&b, "\n  %q", l)
	}
	return errors.New(b.String())
}

// Lines returns every line received so far, consumed or not.
func (p *IRCPeer) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// Contains reports whether any line received so far, consumed or not,
// matches re: for checking that something was never said, once a later
// line has shown that it would have come by then.
func (p *IRCPeer) Contains(re string) bool {
	rx := regexp.MustCompile(re)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if rx.MatchString(l) {
			return true
		}
	}
	return false
}

// Register sends PASS (when pass is not empty), NICK and USER and waits for
// the welcome (001). A refusal fails at once, with the server's line,
// rather than at the deadline: a numeric error (4xx) or ERROR. Like Expect
// it reads the lines not consumed yet, so a spec that provoked an error
// before must have consumed it.
func (p *IRCPeer) Register(nick, pass string, timeout time.Duration) error {
	if pass != "" {
		if err := p.Send("PASS %s", pass); err != nil {
			return err
		}
	}
	if err := p.Send("NICK %s", nick); err != nil {
		return err
	}
	if err := p.Send("USER %s 0 * :%s", nick, nick); err != nil {
		return err
	}
	m, err := p.Expect(`^(?::\S+ )?(001|4\d\d|ERROR)\b`, timeout)
	if err != nil {
		return fmt.Errorf("register %s: %w", nick, err)
	}
	if m[1] != "001" {
		return fmt.Errorf("register %s: refused: %q", nick, p.lastConsumed())
	}
	return nil
}

// lastConsumed returns the line the last successful Expect matched, whole.
func (p *IRCPeer) lastConsumed() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == 0 {
		return ""
	}
	return p.lines[p.next-1]
}

// Closed is closed when the read side has ended: the server closed the
// connection (or reset it), or Close was called.
func (p *IRCPeer) Closed() <-chan struct{} { return p.closed }

// ExpectClosed waits up to timeout for the server to end the connection.
// Lines that came before the end stay available to Expect.
func (p *IRCPeer) ExpectClosed(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.closed:
		return nil
	case <-timer.C:
		return p.expectError("(end of the connection)", fmt.Sprintf("the server kept the connection open for %v", timeout))
	}
}

// Close closes the connection without a QUIT: to the server, a lost
// contact. It is safe to call more than once.
func (p *IRCPeer) Close() error {
	err := p.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
