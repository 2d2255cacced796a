// Package wireconn is a blocking client connection that speaks the wire
// protocol: dial, the handshake and login, requests matched to their
// replies, the next frame within a deadline. loadgen's sessions and probes
// and the test harness's raw client are all built on it.
package wireconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"chat/internal/wire"
)

// defaultReadBufSize is the read buffer of a Conn not given one. Loopback
// reads rarely return more; thousands of connections multiply it.
const defaultReadBufSize = 4096

// Options configure a Conn. The zero value is a plain connection.
type Options struct {
	// Timeout bounds the connect, and the TLS handshake; 0 leaves it to the
	// system.
	Timeout time.Duration
	// TLS, if set, makes the connection a TLS client's with this
	// configuration; Dial completes the handshake.
	TLS *tls.Config
	// Control, if set, is called on the socket before it connects: the
	// place to set a socket option that must precede the handshake, such
	// as a small receive buffer.
	Control func(network, address string, c syscall.RawConn) error
	// ReadBuf is the buffer reads go into; nil gets one of 4 KiB. A caller
	// that reconnects often can give each new Conn the old one's buffer.
	ReadBuf []byte
	// Intercept, if set, sees the body of every whole frame (its type byte
	// and fields, valid only during the call) with the time its bytes were
	// read, before it is decoded, and returns true for a frame it has
	// taken. It is for a reader that takes a frame it sees hundreds of
	// thousands of times a second from its bytes (wire.MessageText) rather
	// than as a Frame with every string copied.
	Intercept func(body []byte, readAt time.Time) bool
	// Malformed, if set, is told of every malformed frame, which is then
	// skipped. When nil, Next returns the error; decoding can go on after
	// it.
	Malformed func(err error)
	// Aside, if set, is given every frame Await reads that is not the
	// reply it waits for (a message, a notice, the server's ping); the
	// frame is valid only during the call, and an error ends the wait.
	// When nil those frames are dropped.
	Aside func(f *wire.Frame) error
}

// Conn is one client connection. One goroutine reads (Next, Await, Call
// and the handshake helpers); any goroutine may write (Send, Request) or
// Close, which ends a blocked read or write.
type Conn struct {
	nc     net.Conn
	opts   Options
	dec    wire.Decoder
	rbuf   []byte
	readAt time.Time  // when the bytes being decoded were read
	aside  wire.Frame // the frame Await hands to Aside

	wmu    sync.Mutex // guards nextID and wbuf
	nextID uint32
	wbuf   []byte
}

// RefusedError is a Reply with a code other than OK.
type RefusedError struct {
	Req  wire.Type // the request refused
	Code wire.Code
	Text string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s refused with code %d: %s", e.Req, e.Code, e.Text)
}

// Dial connects to addr over TCP, and with Options.TLS makes the TLS
// handshake.
func Dial(addr string, opts Options) (*Conn, error) {
	d := net.Dialer{Timeout: opts.Timeout, Control: opts.Control}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err // a *net.OpError, which names the address
	}
	if opts.TLS != nil {
		tc := tls.Client(nc, opts.TLS)
		if opts.Timeout > 0 {
			tc.SetDeadline(time.Now().Add(opts.Timeout))
		}
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	return New(nc, opts), nil
}

// New speaks the protocol over nc, which the Conn then owns.
func New(nc net.Conn, opts Options) *Conn {
	c := &Conn{nc: nc, opts: opts, rbuf: opts.ReadBuf}
	if c.rbuf == nil {
		c.rbuf = make([]byte, defaultReadBufSize)
	}
	return c
}

// NetConn returns the connection underneath, for deadlines and for bytes
// written by hand.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// Send encodes and writes f as it is, its ID included.
func (c *Conn) Send(f *wire.Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(f)
}

// Request gives f the next request id, writes it and returns the id.
func (c *Conn) Request(f *wire.Frame) (uint32, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nextID++
	f.ID = c.nextID
	return f.ID, c.writeLocked(f)
}

func (c *Conn) writeLocked(f *wire.Frame) error {
	c.wbuf = wire.Append(c.wbuf[:0], f)
	_, err := c.nc.Write(c.wbuf)
	return err
}

// Next decodes the next frame into f, reading as needed within the read
// deadline set on NetConn, if any. Frames Intercept takes never get here.
// At the end of the stream it returns io.EOF (or a reset error).
func (c *Conn) Next(f *wire.Frame) error {
	for {
		body, ok, err := c.dec.NextBody()
		if ok {
			if c.opts.Intercept != nil && c.opts.Intercept(body, c.readAt) {
				continue
			}
			if err = wire.Unmarshal(body, f); err == nil {
				return nil
			}
		}
		if err != nil {
			if c.opts.Malformed != nil && errors.Is(err, wire.ErrMalformed) {
				c.opts.Malformed(err)
				continue
			}
			return fmt.Errorf("decode a server frame: %w", err)
		}
		n, err := c.nc.Read(c.rbuf)
		if n > 0 {
			c.readAt = time.Now()
			c.dec.Feed(c.rbuf[:n])
			continue
		}
		if err != nil {
			return err
		}
	}
}

// NextWithin is Next with a read deadline timeout from now.
func (c *Conn) NextWithin(f *wire.Frame, timeout time.Duration) error {
	if err := c.nc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	return c.Next(f)
}

// Await reads until the Reply to request id, within timeout, handing every
// other frame to Aside. It clears the read deadline before it returns.
func (c *Conn) Await(id uint32, timeout time.Duration) (*wire.Frame, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	defer c.nc.SetReadDeadline(time.Time{})
	for {
		if err := c.Next(&c.aside); err != nil {
			return nil, fmt.Errorf("waiting for the reply to request %d: %w", id, err)
		}
		if c.aside.Type == wire.TypeReply && c.aside.ID == id {
			r := c.aside
			return &r, nil
		}
		if c.opts.Aside != nil {
			if err := c.opts.Aside(&c.aside); err != nil {
				return nil, err
			}
		}
	}
}

// Call sends f as the next request and returns its Reply, whatever its
// code.
func (c *Conn) Call(f *wire.Frame, timeout time.Duration) (*wire.Frame, error) {
	id, err := c.Request(f)
	if err != nil {
		return nil, fmt.Errorf("send %v: %w", f.Type, err)
	}
	return c.Await(id, timeout)
}

// CallOK is Call for a request that must succeed: a Reply with another code
// than OK is a *RefusedError.
func (c *Conn) CallOK(f *wire.Frame, timeout time.Duration) (*wire.Frame, error) {
	typ := f.Type
	r, err := c.Call(f, timeout)
	if err == nil && r.Code != wire.OK {
		err = &RefusedError{Req: typ, Code: r.Code, Text: r.Text}
	}
	return r, err
}

// Hello opens the session, naming the client agent.
func (c *Conn) Hello(agent string, timeout time.Duration) error {
	_, err := c.CallOK(&wire.Frame{Type: wire.TypeHello, Version: wire.Version, Text: agent}, timeout)
	return err
}

// Login logs in to an account.
func (c *Conn) Login(name, password string, timeout time.Duration) error {
	_, err := c.CallOK(&wire.Frame{Type: wire.TypeLogin, Name: name, Secret: password}, timeout)
	return err
}

// Claim takes name as a guest.
func (c *Conn) Claim(name string, timeout time.Duration) error {
	_, err := c.CallOK(&wire.Frame{Type: wire.TypeClaim, Name: name}, timeout)
	return err
}
