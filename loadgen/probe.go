package loadgen

import (
	"crypto/tls"
	"fmt"
	"sort"
	"time"

	"chat/internal/wire"
	"chat/internal/wireconn"
)

// A probeConn is a session apart from the load: the overload profile
// measures the server's recovery with a message between two of them, the
// login storm the loop's latency with Pings from one. It is synchronous:
// one goroutine uses it.
type probeConn struct {
	c  *wireconn.Conn
	in wire.Frame
}

// dialProbe connects (over TLS with tlsCfg), says hello, logs in (as name,
// with the password for account logins) and enters room, creating it if
// need be.
func dialProbe(cfg *Config, tlsCfg *tls.Config, name, room string) (*probeConn, error) {
	p := &probeConn{}
	c, err := wireconn.Dial(cfg.Addr, wireconn.Options{
		Timeout:   cfg.Timeout,
		TLS:       tlsCfg,
		Aside:     p.aside,
		Malformed: func(error) {}, // the probe measures time, not the server's frames
	})
	if err != nil {
		return nil, fmt.Errorf("probe connect: %w", err)
	}
	p.c = c
	err = c.Hello("loadgen probe", cfg.Timeout)
	if err == nil {
		err = cfg.logIn(c, name)
	}
	if err == nil {
		err = enterRoom(c, room, cfg.Timeout)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("probe %s: %w", name, err)
	}
	return p, nil
}

func (p *probeConn) close() { p.c.Close() }

// aside answers the server's pings and ends on its Bye; the probe has no
// use for other frames that come while it waits.
func (p *probeConn) aside(f *wire.Frame) error {
	switch f.Type {
	case wire.TypeServerPing:
		return p.c.Send(&wire.Frame{Type: wire.TypePong})
	case wire.TypeBye:
		return fmt.Errorf("%w: code %d %s", errBye, f.Code, f.Text)
	}
	return nil
}

// next reads the next frame, answering the server's pings, within timeout.
func (p *probeConn) next(timeout time.Duration) (*wire.Frame, error) {
	p.c.NetConn().SetReadDeadline(time.Now().Add(timeout))
	for {
		if err := p.c.Next(&p.in); err != nil {
			return nil, err
		}
		if p.in.Type != wire.TypeServerPing && p.in.Type != wire.TypeBye {
			return &p.in, nil
		}
		if err := p.aside(&p.in); err != nil {
			return nil, err
		}
	}
}

// ping is one Ping's round trip.
func (p *probeConn) ping(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	_, err := p.c.CallOK(&wire.Frame{Type: wire.TypePing}, timeout)
	return time.Since(start), err
}

// probePair is two probe sessions in a room of their own.
type probePair struct {
	a, b *probeConn
	seq  int
}

func dialProbePair(cfg *Config, tlsCfg *tls.Config, nameA, nameB string) (*probePair, error) {
	room := cfg.Prefix + "probe"
	a, err := dialProbe(cfg, tlsCfg, nameA, room)
	if err != nil {
		return nil, err
	}
	b, err := dialProbe(cfg, tlsCfg, nameB, room)
	if err != nil {
		a.close()
		return nil, err
	}
	return &probePair{a: a, b: b}, nil
}

func (pp *probePair) close() {
	pp.a.close()
	pp.b.close()
}

// message sends one room message from a and returns how long until b has
// it. a's reply is read first: a Say the server refused (its flood limit:
// the probes send up to 100 a second) is never delivered, and waiting for
// it at b would only time out. The server writes a pass's replies before
// its deliveries, so reading the reply first does not delay the time
// taken at b.
func (pp *probePair) message(timeout time.Duration) (time.Duration, error) {
	pp.seq++
	text := fmt.Sprintf("probe %d", pp.seq)
	start := time.Now()
	say := &wire.Frame{Type: wire.TypeSay, Text: text}
	if _, err := pp.a.c.Request(say); err != nil {
		return 0, err
	}
	r, err := pp.a.c.Await(say.ID, timeout)
	if err != nil {
		return 0, fmt.Errorf("probe say reply: %w", err)
	}
	if r.Code != wire.OK {
		return 0, fmt.Errorf("probe say refused with code %d (%s): the server's flood limit must allow the probe's 100 messages a second (chat-server -msg-rate -1)", r.Code, r.Text)
	}
	for {
		in, err := pp.b.next(timeout)
		if err != nil {
			return 0, fmt.Errorf("probe message: %w", err)
		}
		if in.Type == wire.TypeMessage && in.Text == text {
			return time.Since(start), nil
		}
	}
}

// recoveryWindow is how many probes in a row recoveredAt takes the median
// of: one probe delayed by a scheduler hiccup does not undo a recovery, a
// slow stretch does.
const recoveryWindow = 5

// recoveredAt is the index of the first probe from which the median of
// every window of recoveryWindow probes is at most limit: where the server
// is back to normal. Near the end the windows are shorter, but never below
// recoveryTail probes (they reach back instead), so a hiccup on the very
// last probe is noise like any other. It is len(lat) if the last probes
// are still above limit, or there are none.
func recoveredAt(lat []time.Duration, limit time.Duration) int {
	window := func(k int) []time.Duration {
		s, e := k, min(k+recoveryWindow, len(lat))
		if e-s < recoveryTail {
			s = max(e-recoveryTail, 0)
		}
		return lat[s:e]
	}
	i := len(lat)
	for i > 0 && median(window(i-1)) <= limit {
		i--
	}
	return i
}

// recoveryTail is the shortest window recoveredAt takes a median of.
const recoveryTail = recoveryWindow/2 + 1

// normalLimit is the latency a probe after an overload must be within to
// count as recovered: three times the median before it, and at least 5 ms
// (a median of a few tens of µs would make scheduling noise a failure).
func normalLimit(baseline []time.Duration) time.Duration {
	return max(3*median(baseline), 5*time.Millisecond)
}

// median of d; 0 when empty.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
