// Package tlspipe runs crypto/tls for a poll loop that owns its sockets.
//
// crypto/tls wants a net.Conn it can block on, while a poll loop reads and
// writes its sockets only when poll(2) says they are ready and never waits.
// A Pipe sits between the two: the loop feeds it the ciphertext it read
// from the socket (Feed) and writes out the ciphertext the Pipe produced
// (Flush); in between, crypto/tls reads and writes the Pipe's buffers.
//
// The handshake runs on a goroutine of its own, because crypto/tls cannot
// resume a handshake that a read interrupted; the goroutine blocks on the
// Pipe until the loop feeds it the peer's next flight, and tells the loop
// (Config.Notify) when it has output or has finished. It exists only
// while the handshake does. Records after the handshake are decrypted
// (Read) and encrypted (Write) on the loop's own goroutine: a read that
// finds no whole record returns a temporary error, which crypto/tls does
// not remember, so the next Read picks up where it stopped.
package tlspipe

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Config is what the Pipes of one loop share.
type Config struct {
	// TLS configures crypto/tls.
	TLS *tls.Config
	// Notify is called from a handshake goroutine, with the tag given to
	// NewServer or NewClient, when the Pipe has output to flush or its
	// handshake has ended. It must not block.
	Notify func(tag uint64)
	// Gate, if set, bounds how many handshakes compute at once.
	Gate *Gate

	serverOnce sync.Once
	serverTLS  *tls.Config // TLS, catching a server's traffic secrets
}

// Pipe is one TLS connection whose ciphertext its owner moves between the
// socket and the Pipe. Feed, Flush, Read, Write, CloseWrite and Close are
// for the owner's goroutine only.
type Pipe struct {
	cfg *Config
	tc  *tls.Conn // nil once a server's records are its own (detach)
	tag uint64
	hs  *handshakeState // while the handshake runs

	// After a TLS 1.3 server handshake (records.go): the record ciphers,
	// decrypted content not yet read, the error that ended reading, and
	// what State reports.
	rd, wr  *recordCipher
	pend    []byte
	rdErr   error
	version uint16
	suite   uint16
	resumed bool

	mu      sync.Mutex
	wake    sync.Cond // the handshake goroutine waits on it for input
	in      []byte    // ciphertext fed and not yet read by crypto/tls
	out     []byte    // ciphertext crypto/tls wrote and Flush has not
	inEOF   bool      // the peer's end of stream was fed
	closed  bool
	started bool // the handshake goroutine was started
	shaking bool // it runs: reads block
	done    bool // it ended; err is its result
	err     error
	holds   bool // it holds a Gate token
	// direct, during Write, is the socket's write: ciphertext goes
	// straight to it while nothing waits in out.
	direct func([]byte) (int, error)
	// directErr is direct's error, reported by Write.
	directErr error
}

// keepBuffer is the largest input buffer a drained Pipe keeps for the
// next bytes; bigger ones go, so that an idle connection holds little.
const keepBuffer = 2 << 10

// recordTypeHandshake is the first byte of every TLS handshake record, and
// so of every TLS connection.
const recordTypeHandshake = 0x16

// ErrNotTLS is what a server Pipe says when the first byte the peer sent
// cannot begin a TLS connection: a plain client on a TLS port.
var ErrNotTLS = errors.New("the peer does not speak TLS")

// errWouldBlock is what the transport returns to crypto/tls once the
// handshake is over and no ciphertext is waiting. Being temporary, it is
// not kept as the connection's error.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tlspipe: no ciphertext waiting" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// handshakeState is what only the handshake needs.
type handshakeState struct {
	// Where the transport is in the record stream it hands crypto/tls:
	// the header bytes seen of the next record, and the body bytes left
	// of the current one. It hands out no byte past a record's end, so
	// that crypto/tls, whose handshake reads whole records, never holds
	// a record that follows the handshake.
	header  [recordHeaderLen]byte
	headerN int
	bodyN   int
	// The traffic secrets crypto/tls logged (keyLog), for detach, and
	// how many records it sealed with the server's (its session ticket).
	clientSecret, serverSecret []byte
	serverRecords              uint64
}

// NewServer returns the server side of a connection. Its handshake starts
// with the first bytes fed.
func NewServer(cfg *Config, tag uint64) *Pipe {
	p := &Pipe{cfg: cfg, tag: tag, hs: &handshakeState{}}
	p.wake.L = &p.mu
	p.tc = tls.Server((*transport)(p), cfg.server())
	return p
}

// NewClient returns the client side of a connection and starts its
// handshake: the ClientHello is ready to flush once Notify says so.
func NewClient(cfg *Config, tag uint64) *Pipe {
	p := &Pipe{cfg: cfg, tag: tag, hs: &handshakeState{}}
	p.wake.L = &p.mu
	p.tc = tls.Client((*transport)(p), cfg.TLS)
	p.started, p.shaking = true, true
	go p.handshake()
	return p
}

// server returns the configuration of server Pipes: TLS, giving each
// handshake a copy that logs its traffic secrets to its Pipe (keyLog) so
// that the Pipe can protect its records itself. A TLS that chooses its
// own configuration per client is used as it is.
func (cfg *Config) server() *tls.Config {
	cfg.serverOnce.Do(func() {
		if cfg.TLS.GetConfigForClient != nil || cfg.TLS.KeyLogWriter != nil || cfg.TLS.WrapSession != nil {
			cfg.serverTLS = cfg.TLS
			return
		}
		base := cfg.TLS.Clone()
		withLog := base.Clone()
		withLog.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			t, ok := hello.Conn.(*transport)
			if !ok {
				return nil, nil
			}
			// Session ticket keys stay the shared configuration's:
			// crypto/tls takes them from the configuration this callback
			// is on. A ticket is the one record crypto/tls seals with the
			// server's traffic secret before the Pipe takes over.
			c := base.Clone()
			c.KeyLogWriter = (*keyLog)(t)
			c.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
				(*keyLog)(t).sealed()
				return withLog.EncryptTicket(cs, ss)
			}
			return c, nil
		}
		cfg.serverTLS = withLog
	})
	return cfg.serverTLS
}

// handshake runs crypto/tls's handshake and reports its end.
func (p *Pipe) handshake() {
	err := p.tc.Handshake()
	p.mu.Lock()
	p.shaking, p.done, p.err = false, true, err
	p.release()
	if err == nil && p.tc.ConnectionState().Version == tls.VersionTLS13 {
		p.detach()
	}
	p.hs = nil
	p.mu.Unlock()
	p.cfg.Notify(p.tag)
}

// Feed hands the Pipe ciphertext read from the socket. On a server Pipe
// the first bytes start the handshake, or return ErrNotTLS if they cannot
// be TLS.
func (p *Pipe) Feed(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	p.mu.Lock()
	start := !p.started
	if start && b[0] != recordTypeHandshake {
		p.mu.Unlock()
		return ErrNotTLS
	}
	p.in = append(p.in, b...)
	if start {
		p.started, p.shaking = true, true
	}
	p.wake.Signal()
	p.mu.Unlock()
	if start {
		go p.handshake()
	}
	return nil
}

// FeedEOF tells the Pipe the peer closed its side of the stream.
func (p *Pipe) FeedEOF() {
	p.mu.Lock()
	p.inEOF = true
	p.wake.Signal()
	p.mu.Unlock()
}

// Handshake reports whether the handshake has ended, and how.
func (p *Pipe) Handshake() (done bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done, p.err
}

// State is the connection's TLS state; meaningful once Ready. Once a
// server Pipe protects its own records, it tells only the version, the
// cipher suite and whether the session was resumed.
func (p *Pipe) State() tls.ConnectionState {
	if p.rd != nil {
		return tls.ConnectionState{Version: p.version, CipherSuite: p.suite, DidResume: p.resumed, HandshakeComplete: true}
	}
	return p.tc.ConnectionState()
}

// Read decrypts into b what whole records have arrived. It returns 0 and
// no error when no whole record is waiting, io.EOF when the peer ended
// the stream (its close_notify, or an end of stream between records).
func (p *Pipe) Read(b []byte) (int, error) {
	if p.rd != nil {
		return p.readRecords(b)
	}
	n, err := p.tc.Read(b)
	if err == errWouldBlock {
		err = nil
	}
	return n, err
}

// Write encrypts b into records and writes them with write (a
// non-blocking socket write, as for Flush); what the socket does not take
// waits for Flush. Writing at once spares copying every record into a
// buffer that an idle connection would then hold.
func (p *Pipe) Write(b []byte, write func([]byte) (int, error)) error {
	if p.wr != nil {
		return p.writeRecords(b, write)
	}
	p.direct, p.directErr = write, nil
	_, err := p.tc.Write(b)
	p.direct = nil
	if err == nil {
		err = p.directErr
	}
	return err
}

// CloseWrite queues the close_notify alert that tells the peer nothing
// more follows; the owner then flushes and shuts the socket's write side.
func (p *Pipe) CloseWrite() error {
	if p.wr != nil {
		return p.writeAlert(alertCloseNotify)
	}
	return p.tc.CloseWrite()
}

// Pending is how many bytes of ciphertext wait for Flush.
func (p *Pipe) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.out)
}

// Flush writes the waiting ciphertext with write (a non-blocking socket
// write) until it would block, which write reports as 0 bytes and no
// error. It returns write's other errors.
func (p *Pipe) Flush(write func([]byte) (int, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.out) > 0 {
		n, err := write(p.out)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		p.out = p.out[n:]
	}
	p.out = nil
	return nil
}

// Close ends the Pipe: a handshake waiting for input fails and its
// goroutine ends. The socket is the owner's to close.
func (p *Pipe) Close() {
	p.mu.Lock()
	p.closed = true
	p.in, p.out = nil, nil
	p.wake.Signal()
	p.mu.Unlock()
}

// drained returns an empty buffer in place of b, keeping b's memory only
// if it is small.
func drained(b []byte) []byte {
	if cap(b) > keepBuffer {
		return nil
	}
	return b[:0:cap(b)]
}

// release gives back the Gate token the handshake holds. p.mu is held.
func (p *Pipe) release() {
	if p.holds {
		p.holds = false
		p.cfg.Gate.release()
	}
}

// transport is the net.Conn crypto/tls reads and writes: the Pipe's
// buffers.
type transport Pipe

// Read gives crypto/tls the ciphertext fed so far. During the handshake it
// blocks until there is some; afterwards it returns errWouldBlock instead.
func (t *transport) Read(b []byte) (int, error) {
	p := (*Pipe)(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shaking {
		for len(p.in) == 0 && !p.inEOF && !p.closed {
			// Waiting for the peer computes nothing: another
			// handshake may have the token meanwhile.
			p.release()
			p.wake.Wait()
		}
		if len(p.in) > 0 && !p.closed && !p.holds && p.cfg.Gate != nil {
			p.mu.Unlock()
			p.cfg.Gate.acquire()
			p.mu.Lock()
			p.holds = true
		}
	}
	switch {
	case p.closed:
		return 0, net.ErrClosed
	case len(p.in) == 0 && p.inEOF:
		return 0, io.EOF
	case len(p.in) == 0:
		return 0, errWouldBlock
	}
	n := min(len(p.in), len(b))
	if p.hs != nil {
		n = p.hs.upToRecordEnd(p.in[:n])
	}
	copy(b, p.in[:n])
	p.in = p.in[n:]
	if len(p.in) == 0 {
		p.in = drained(p.in[:0])
	}
	return n, nil
}

// upToRecordEnd returns how many bytes of in may be handed to crypto/tls
// without going past the end of a record, and follows the records they
// cover.
func (hs *handshakeState) upToRecordEnd(in []byte) int {
	n := 0
	for n < len(in) {
		if hs.bodyN == 0 {
			k := copy(hs.header[hs.headerN:], in[n:])
			hs.headerN += k
			n += k
			if hs.headerN < recordHeaderLen {
				return n
			}
			hs.headerN = 0
			hs.bodyN = int(hs.header[3])<<8 | int(hs.header[4])
			if hs.bodyN == 0 {
				return n
			}
			continue
		}
		k := min(hs.bodyN, len(in)-n)
		hs.bodyN -= k
		n += k
		if hs.bodyN == 0 {
			return n
		}
	}
	return n
}

// Write takes the ciphertext crypto/tls produced; a handshake's output is
// announced to the owner, who flushes it.
func (t *transport) Write(b []byte) (int, error) {
	p := (*Pipe)(t)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, net.ErrClosed
	}
	if p.direct != nil && len(p.out) == 0 && p.directErr == nil {
		n, err := p.direct(b)
		if err != nil {
			p.directErr = err
		}
		b = b[n:]
	}
	if len(b) > 0 {
		p.out = append(p.out, b...)
	}
	shaking := p.shaking
	p.mu.Unlock()
	if shaking {
		p.cfg.Notify(p.tag)
	}
	return len(b), nil
}

func (t *transport) Close() error                     { (*Pipe)(t).Close(); return nil }
func (t *transport) LocalAddr() net.Addr              { return pipeAddr{} }
func (t *transport) RemoteAddr() net.Addr             { return pipeAddr{} }
func (t *transport) SetDeadline(time.Time) error      { return nil }
func (t *transport) SetReadDeadline(time.Time) error  { return nil }
func (t *transport) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "tlspipe" }
func (pipeAddr) String() string  { return "tlspipe" }
