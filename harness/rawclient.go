package harness

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"chat/internal/wire"
	"chat/internal/wireconn"
)

// RawClient speaks the wire protocol directly, for specs that need a peer
// the real client would never be: malformed frames, requests before Hello,
// a reader that stops reading. It is not safe for concurrent use.
type RawClient struct {
	wc *wireconn.Conn
	// Events holds the frames that arrived while Call waited for a reply
	// (messages, notices, pings), in order.
	Events []wire.Frame
}

// DialRaw connects to addr.
func DialRaw(addr string) (*RawClient, error) {
	return dialRaw(addr, nil)
}

// DialRawTLS connects to addr over TLS with cfg and completes the
// handshake.
func DialRawTLS(addr string, cfg *tls.Config) (*RawClient, error) {
	return dialRawWith(addr, wireconn.Options{TLS: cfg})
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
	return dialRawWith(addr, wireconn.Options{Control: control})
}

func dialRawWith(addr string, opts wireconn.Options) (*RawClient, error) {
	c := &RawClient{}
	opts.Timeout = 5 * time.Second
	opts.ReadBuf = make([]byte, 64<<10)
	opts.Aside = c.keep
	wc, err := wireconn.Dial(addr, opts)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c.wc = wc
	return c, nil
}

// keep is what the client does with a frame that came while it waited for
// a reply: an event is kept in Events; a Reply to another request is an
// error, as replies come in order.
func (c *RawClient) keep(f *wire.Frame) error {
	if f.Type == wire.TypeReply {
		return fmt.Errorf("got a reply to %d (code %d, %q) first", f.ID, f.Code, f.Text)
	}
	c.Events = append(c.Events, *f)
	return nil
}

// Close closes the connection.
func (c *RawClient) Close() error { return c.wc.Close() }

// Conn returns the connection, for specs that need to write bytes by hand.
func (c *RawClient) Conn() net.Conn { return c.wc.NetConn() }

// SendRaw writes b as it is.
func (c *RawClient) SendRaw(b []byte) error {
	if err := c.setWriteDeadline(); err != nil {
		return err
	}
	_, err := c.Conn().Write(b)
	return err
}

// Send encodes and writes f as it is (its ID included).
func (c *RawClient) Send(f *wire.Frame) error {
	if err := c.setWriteDeadline(); err != nil {
		return err
	}
	return c.wc.Send(f)
}

// setWriteDeadline bounds the next write: a spec whose server stopped
// reading fails instead of hanging.
func (c *RawClient) setWriteDeadline() error {
	return c.Conn().SetWriteDeadline(time.Now().Add(5 * time.Second))
}

// Request gives f the next request id, sends it and returns the id.
func (c *RawClient) Request(f *wire.Frame) (uint32, error) {
	if err := c.setWriteDeadline(); err != nil {
		return 0, err
	}
	return c.wc.Request(f)
}

// Next returns the next frame from the server, waiting up to timeout. At the
// end of the stream it returns io.EOF (or a reset error).
func (c *RawClient) Next(timeout time.Duration) (*wire.Frame, error) {
	var f wire.Frame
	if err := c.wc.NextWithin(&f, timeout); err != nil {
		return nil, err
	}
	return &f, nil
}

// Reply reads frames until the Reply with the given id, keeping other frames
// in Events. A Reply with another id is an error: replies come in order.
func (c *RawClient) Reply(id uint32, timeout time.Duration) (*wire.Frame, error) {
	return c.wc.Await(id, timeout)
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
	if err := c.setWriteDeadline(); err != nil {
		return err
	}
	return c.wc.Hello("chat-harness 1", timeout)
}

// Login logs in and fails unless the server answers OK.
func (c *RawClient) Login(name, password string, timeout time.Duration) error {
	if err := c.setWriteDeadline(); err != nil {
		return err
	}
	return c.wc.Login(name, password, timeout)
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
	if err := c.setWriteDeadline(); err != nil {
		return err
	}
	_, err := c.wc.CallOK(f, timeout)
	return err
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
