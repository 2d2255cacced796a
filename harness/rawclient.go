package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"chat/internal/wire"
)

// RawClient speaks the wire protocol directly, for specs that need a peer
// the real client would never be: malformed frames, requests before Hello,
// a reader that stops reading. It is not safe for concurrent use.
type RawClient struct {
	conn   net.Conn
	dec    wire.Decoder
	buf    []byte
	nextID uint32
	// Events holds the frames that arrived while Call waited for a reply
	// (messages, notices, pings), in order.
	Events []wire.Frame
}

// DialRaw connects to addr.
func DialRaw(addr string) (*RawClient, error) {
	return dialRaw(addr, nil)
}

// DialRawSmallBuffer connects to addr with the smallest receive buffer the
// kernel allows, set before the handshake so the advertised window stays
// small: a client that then stops reading backs the server up after a few
// kilobytes.
func DialRawSmallBuffer(addr string) (*RawClient, error) {
	return dialRaw(addr, func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1)
		})
		if err != nil {
			return err
		}
		return serr
	})
}

func dialRaw(addr string, control func(network, address string, c syscall.RawConn) error) (*RawClient, error) {
	d := net.Dialer{Timeout: 5 * time.Second, Control: control}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &RawClient{conn: conn, buf: make([]byte, 64<<10)}, nil
}

// Close closes the connection.
func (c *RawClient) Close() error { return c.conn.Close() }

// Conn returns the connection, for specs that need to write bytes by hand.
func (c *RawClient) Conn() net.Conn { return c.conn }

// SendRaw writes b as it is.
func (c *RawClient) SendRaw(b []byte) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	_, err := c.conn.Write(b)
	return err
}

// Send encodes and writes f as it is (its ID included).
func (c *RawClient) Send(f *wire.Frame) error { return c.SendRaw(wire.Encode(f)) }

// Request gives f the next request id, sends it and returns the id.
func (c *RawClient) Request(f *wire.Frame) (uint32, error) {
	c.nextID++
	f.ID = c.nextID
	return f.ID, c.Send(f)
}

// Next returns the next frame from the server, waiting up to timeout. At the
// end of the stream it returns io.EOF (or a reset error).
func (c *RawClient) Next(timeout time.Duration) (*wire.Frame, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	for {
		var f wire.Frame
		ok, err := c.dec.Next(&f)
		if err != nil {
			return nil, fmt.Errorf("decode a server frame: %w", err)
		}
		if ok {
			return &f, nil
		}
		n, err := c.conn.Read(c.buf)
		c.dec.Feed(c.buf[:n])
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

// Reply reads frames until the Reply with the given id, keeping other frames
// in Events. A Reply with another id is an error: replies come in order.
func (c *RawClient) Reply(id uint32, timeout time.Duration) (*wire.Frame, error) {
	deadline := time.Now().Add(timeout)
	for {
		f, err := c.Next(time.Until(deadline))
		if err != nil {
			return nil, fmt.Errorf("waiting for the reply to request %d: %w", id, err)
		}
		if f.Type != wire.TypeReply {
			c.Events = append(c.Events, *f)
			continue
		}
		if f.ID != id {
			return f, fmt.Errorf("waiting for the reply to request %d: got a reply to %d (code %d, %q)", id, f.ID, f.Code, f.Text)
		}
		return f, nil
	}
}

// Call sends f as the next request and returns its Reply.
func (c *RawClient) Call(f *wire.Frame, timeout time.Duration) (*wire.Frame, error) {
	id, err := c.Request(f)
	if err != nil {
		return nil, fmt.Errorf("send %v: %w", f.Type, err)
	}
	return c.Reply(id, timeout)
}

// Hello opens the session and fails unless the server answers OK.
func (c *RawClient) Hello(timeout time.Duration) error {
	return c.callOK(&wire.Frame{Type: wire.TypeHello, Version: wire.Version, Text: "chat-harness 1"}, timeout)
}

// Login logs in and fails unless the server answers OK.
func (c *RawClient) Login(name, password string, timeout time.Duration) error {
	return c.callOK(&wire.Frame{Type: wire.TypeLogin, Name: name, Secret: password}, timeout)
}

// Enter enters room, creating it first when create is true.
func (c *RawClient) Enter(room string, create bool, timeout time.Duration) error {
	if create {
		if err := c.callOK(&wire.Frame{Type: wire.TypeCreate, Room: room}, timeout); err != nil {
			return err
		}
	}
	return c.callOK(&wire.Frame{Type: wire.TypeEnter, Room: room}, timeout)
}

func (c *RawClient) callOK(f *wire.Frame, timeout time.Duration) error {
	typ := f.Type
	r, err := c.Call(f, timeout)
	if err != nil {
		return err
	}
	if r.Code != wire.OK {
		return fmt.Errorf("%v: code %d: %s", typ, r.Code, r.Text)
	}
	return nil
}

// NextEvent returns the next frame that is not a Reply, first from Events.
func (c *RawClient) NextEvent(timeout time.Duration) (*wire.Frame, error) {
	if len(c.Events) > 0 {
		f := c.Events[0]
		c.Events = c.Events[1:]
		return &f, nil
	}
	deadline := time.Now().Add(timeout)
	for {
		f, err := c.Next(time.Until(deadline))
		if err != nil || f.Type != wire.TypeReply {
			return f, err
		}
	}
}

// WaitClosed reads until the server closes the connection, returning the
// frames that came before the end (a Bye, typically). It fails if the
// connection is still open at the deadline.
func (c *RawClient) WaitClosed(timeout time.Duration) ([]wire.Frame, error) {
	deadline := time.Now().Add(timeout)
	var got []wire.Frame
	for {
		f, err := c.Next(time.Until(deadline))
		switch {
		case err == nil:
			got = append(got, *f)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return got, fmt.Errorf("the server kept the connection open for %v", timeout)
		default:
			return got, nil // EOF or reset: closed
		}
	}
}
