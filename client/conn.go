package client

import (
	"errors"
	"fmt"
	"io"
	"net/netip"

	"golang.org/x/sys/unix"

	"chat/internal/tlspipe"
	"chat/internal/wire"
)

// conn is one TCP connection to the server, made and used with the ordinary
// socket system calls: a non-blocking socket, so that connecting,
// reading and writing all happen when poll(2) says they can and the loop
// never waits on the network.
//
// Under TLS, tls sits between the socket and the rest: out holds
// plaintext, which goes out encrypted once the handshake has ended and the
// server's certificate is trusted (secured); until then only the
// handshake's own records are written. The handshake runs on the Pipe's
// goroutine; the loop moves its bytes (tls.go).
type conn struct {
	fd         int
	connecting bool // connect(2) is in progress: wait for POLLOUT
	dec        wire.Decoder
	out        []byte // frames waiting to be written; a partial write keeps its rest

	tls     *tlspipe.Pipe // nil on a plain connection
	shake   *attempt      // the TLS handshake's check and its result
	secured bool          // the handshake ended well: records flow
	eofFed  bool          // the end of stream was handed to the Pipe
	shut    bool          // the write side is to be shut once the Pipe is flushed
}

// dial starts connecting to ap. The connection is usually still in
// progress when it returns: the loop polls for POLLOUT and then calls
// finishConnect.
func dial(ap netip.AddrPort) (*conn, error) {
	domain := unix.AF_INET
	var sa unix.Sockaddr
	if ap.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		domain = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	// Chat lines are small and should go out at once.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	c := &conn{fd: fd}
	switch err := unix.Connect(fd, sa); {
	case err == nil:
	case errors.Is(err, unix.EINPROGRESS):
		c.connecting = true
	default:
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

// finishConnect completes a connect(2) in progress once poll reports the
// socket writable (or in error).
func (c *conn) finishConnect() error {
	v, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return unix.Errno(v)
	}
	c.connecting = false
	return nil
}

// send queues f to be written.
func (c *conn) send(f *wire.Frame) { c.out = wire.Append(c.out, f) }

// open reports whether the connection carries the protocol: connected,
// and under TLS secured.
func (c *conn) open() bool { return !c.connecting && (c.tls == nil || c.secured) }

// handshaking reports whether a TLS handshake is under way.
func (c *conn) handshaking() bool { return !c.connecting && c.tls != nil && !c.secured }

// tlsPending reports whether TLS records wait to be written.
func (c *conn) tlsPending() bool { return c.tls != nil && c.tls.Pending() > 0 }

// wantWrite reports whether poll should watch for POLLOUT.
func (c *conn) wantWrite() bool {
	return c.connecting || len(c.out) > 0 && c.open() || c.tlsPending()
}

// wantRead reports whether poll should watch for POLLIN: not after the
// end of stream was handed to a handshake, which is then about to fail,
// and would otherwise be reported readable over and over until it does.
func (c *conn) wantRead() bool { return !c.eofFed || c.secured }

// flush writes as much queued output as the socket takes now.
func (c *conn) flush() error {
	if c.tls != nil {
		if err := c.tls.Flush(c.sockWrite); err != nil {
			return err
		}
		if c.secured && len(c.out) > 0 {
			err := c.tls.Write(c.out, c.sockWrite)
			c.out = c.out[:0]
			if err != nil {
				return err
			}
		}
		return c.shutWhenFlushed()
	}
	for len(c.out) > 0 {
		n, err := c.sockWrite(c.out)
		if err != nil || n == 0 {
			return err
		}
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	return nil
}

// write writes b at once, as far as the socket takes it, and returns how
// much of b it took: 0 when the socket would block. Under TLS it takes
// all of b or, while records of earlier writes still wait, nothing: what
// waits is then bounded by one write.
func (c *conn) write(b []byte) (int, error) {
	if c.tls == nil {
		return c.sockWrite(b)
	}
	if err := c.tls.Flush(c.sockWrite); err != nil {
		return 0, err
	}
	if !c.secured || c.tls.Pending() > 0 {
		return 0, nil
	}
	if err := c.tls.Write(b, c.sockWrite); err != nil {
		return 0, err
	}
	return len(b), nil
}

// closeWrite tells the server nothing more follows: under TLS a
// close_notify, then the socket's write side is shut once the records
// before it are written (flush does it, if the socket is full now).
func (c *conn) closeWrite() error {
	if c.tls == nil {
		return unix.Shutdown(c.fd, unix.SHUT_WR)
	}
	c.shut = true
	if err := c.tls.CloseWrite(); err != nil {
		return err
	}
	return c.flush()
}

func (c *conn) shutWhenFlushed() error {
	if !c.shut || c.tls.Pending() > 0 {
		return nil
	}
	c.shut = false
	return unix.Shutdown(c.fd, unix.SHUT_WR)
}

// sockWrite is one non-blocking write to the socket: 0 bytes and no error
// when it would block.
func (c *conn) sockWrite(b []byte) (int, error) {
	for {
		// MSG_NOSIGNAL: a peer that went away is an error to report, not
		// a SIGPIPE that kills the client.
		n, err := unix.SendmsgN(c.fd, b, nil, nil, unix.MSG_NOSIGNAL)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, nil
		}
		return n, err
	}
}

// errClosed means the server closed the connection (end of stream).
var errClosed = errors.New("the server closed the connection")

// readSome reads what the socket has into the decoder. It returns errClosed
// at end of stream.
func (c *conn) readSome(buf []byte) error {
	_, err := c.receive(buf, c.feed)
	if err == io.EOF {
		return errClosed
	}
	return err
}

// feed hands the decoder what the server sent.
func (c *conn) feed(b []byte) bool {
	c.dec.Feed(b)
	return true
}

// receive does one read from the socket and hands what the server sent
// to got: the bytes read, or under TLS the plaintext of the whole records
// that have arrived, a record at a time, for as long as got returns true.
// During a TLS handshake the bytes go to the handshake instead. It returns
// the number of bytes read from the socket (0: none waiting) and io.EOF
// at the end of the stream.
func (c *conn) receive(buf []byte, got func([]byte) bool) (int, error) {
	n, err := unix.Read(c.fd, buf)
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return 0, nil
	case err != nil:
		return 0, err
	}
	if c.tls == nil {
		if n == 0 {
			return 0, io.EOF
		}
		got(buf[:n])
		return n, nil
	}
	if n == 0 {
		c.tls.FeedEOF()
		c.eofFed = true
	} else if err := c.tls.Feed(buf[:n]); err != nil {
		return n, err
	}
	if !c.secured {
		return n, nil
	}
	return n, c.decrypt(buf, got)
}

// decrypt hands got the plaintext of every whole record the Pipe holds.
// It must leave none: crypto/tls may hold ciphertext where poll cannot see
// it, so a record left now might wait for the next bytes from the server.
// buf is free for the plaintext: Feed copied the ciphertext.
func (c *conn) decrypt(buf []byte, got func([]byte) bool) error {
	for {
		n, err := c.tls.Read(buf)
		if n > 0 && !got(buf[:n]) {
			return nil
		}
		if err != nil || n == 0 {
			return err
		}
	}
}

// close releases the socket, and ends a TLS handshake still under way.
// Unwritten output is dropped.
func (c *conn) close() {
	if c.tls != nil {
		c.tls.Close()
	}
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
	c.out = nil
}
