package loadgen

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"chat/internal/wire"
)

// A probeConn is a session apart from the load: the overload profile
// measures the server's recovery with a message between two of them, the
// login storm the loop's latency with Pings from one. It is synchronous:
// one goroutine uses it.
type probeConn struct {
	conn   net.Conn
	dec    wire.Decoder
	buf    []byte
	wbuf   []byte
	nextID uint32
	in     wire.Frame
}

// dialProbe connects, says hello, logs in (as name, with the password for
// account logins) and enters room, creating it if need be.
func dialProbe(cfg *Config, name, room string) (*probeConn, error) {
	conn, err := net.DialTimeout("tcp", cfg.Addr, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("probe connect: %w", err)
	}
	p := &probeConn{conn: conn, buf: make([]byte, readBufSize)}
	login := &wire.Frame{Type: wire.TypeClaim, Name: name}
	if cfg.Login == LoginAccount {
		login = &wire.Frame{Type: wire.TypeLogin, Name: name, Secret: cfg.Password}
	}
	steps := []*wire.Frame{
		{Type: wire.TypeHello, Version: wire.Version, Text: "loadgen probe"},
		login,
		{Type: wire.TypeCreate, Room: room},
		{Type: wire.TypeEnter, Room: room},
	}
	for _, f := range steps {
		r, err := p.call(f, cfg.Timeout)
		if err == nil && r.Code != wire.OK && !(f.Type == wire.TypeCreate && r.Code == wire.ErrRoomExists) {
			err = fmt.Errorf("%s refused: code %d %s", f.Type, r.Code, r.Text)
		}
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("probe %s: %w", name, err)
		}
	}
	return p, nil
}

func (p *probeConn) close() { p.conn.Close() }

func (p *probeConn) write(f *wire.Frame) error {
	if f.Type.IsRequest() {
		p.nextID++
		f.ID = p.nextID
	}
	p.wbuf = wire.Append(p.wbuf[:0], f)
	_, err := p.conn.Write(p.wbuf)
	return err
}

// next reads the next frame, answering the server's pings, within timeout.
func (p *probeConn) next(timeout time.Duration) (*wire.Frame, error) {
	p.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		ok, err := p.dec.Next(&p.in)
		if ok {
			if p.in.Type == wire.TypeServerPing {
				if err := p.write(&wire.Frame{Type: wire.TypePong}); err != nil {
					return nil, err
				}
				continue
			}
			if p.in.Type == wire.TypeBye {
				return nil, fmt.Errorf("%w: code %d %s", errBye, p.in.Code, p.in.Text)
			}
			return &p.in, nil
		}
		if err != nil {
			if errors.Is(err, wire.ErrMalformed) {
				continue
			}
			return nil, err
		}
		n, err := p.conn.Read(p.buf)
		if n > 0 {
			p.dec.Feed(p.buf[:n])
			continue
		}
		if err != nil {
			return nil, err
		}
	}
}

// call sends a request and returns its reply (whatever the code).
func (p *probeConn) call(f *wire.Frame, timeout time.Duration) (*wire.Frame, error) {
	if err := p.write(f); err != nil {
		return nil, err
	}
	for {
		in, err := p.next(timeout)
		if err != nil {
			return nil, fmt.Errorf("wait for the reply to %s: %w", f.Type, err)
		}
		if in.Type == wire.TypeReply && in.ID == f.ID {
			return in, nil
		}
	}
}

// ping is one Ping's round trip.
func (p *probeConn) ping(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	r, err := p.call(&wire.Frame{Type: wire.TypePing}, timeout)
	if err == nil && r.Code != wire.OK {
		err = fmt.Errorf("ping refused: code %d", r.Code)
	}
	return time.Since(start), err
}

// probePair is two probe sessions in a room of their own.
type probePair struct {
	a, b *probeConn
	seq  int
}

func dialProbePair(cfg *Config, nameA, nameB string) (*probePair, error) {
	room := cfg.Prefix + "probe"
	a, err := dialProbe(cfg, nameA, room)
	if err != nil {
		return nil, err
	}
	b, err := dialProbe(cfg, nameB, room)
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
// it. a's reply to the Say is read after.
func (pp *probePair) message(timeout time.Duration) (time.Duration, error) {
	pp.seq++
	text := fmt.Sprintf("probe %d", pp.seq)
	start := time.Now()
	say := &wire.Frame{Type: wire.TypeSay, Text: text}
	if err := pp.a.write(say); err != nil {
		return 0, err
	}
	for {
		in, err := pp.b.next(timeout)
		if err != nil {
			return 0, fmt.Errorf("probe message: %w", err)
		}
		if in.Type == wire.TypeMessage && in.Text == text {
			break
		}
	}
	took := time.Since(start)
	for {
		in, err := pp.a.next(timeout)
		if err != nil {
			return took, fmt.Errorf("probe say reply: %w", err)
		}
		if in.Type == wire.TypeReply && in.ID == say.ID {
			if in.Code != wire.OK {
				return took, fmt.Errorf("probe say refused: code %d", in.Code)
			}
			return took, nil
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
