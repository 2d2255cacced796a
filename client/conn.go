package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// conn is one TCP connection to the server, made and used with the ordinary
// socket system calls: a non-blocking socket, so that connecting,
// reading and writing all happen when poll(2) says they can and the loop
// never waits on the network.
type conn struct {
	fd         int
	connecting bool // connect(2) is in progress: wait for POLLOUT
	dec        wire.Decoder
	out        []byte // frames waiting to be written; a partial write keeps its rest
}

// resolveTimeout bounds the name lookup that precedes a connection attempt.
const resolveTimeout = 5 * time.Second

// dial starts connecting to addr ("host:port"). The connection is usually
// still in progress when it returns: the loop polls for POLLOUT and then
// calls finishConnect.
func dial(addr string) (*conn, error) {
	ap, err := resolve(addr)
	if err != nil {
		return nil, err
	}
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

// resolve turns "host:port" into one address, preferring IPv4 because
// servers are often started on 127.0.0.1 while "localhost" also names ::1.
func resolve(addr string) (netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		p, lerr := net.LookupPort("tcp", portStr)
		if lerr != nil {
			return netip.AddrPort{}, fmt.Errorf("bad port %q", portStr)
		}
		port = uint64(p)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
	}
	if host == "" {
		host = "localhost"
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return netip.AddrPort{}, fmt.Errorf("no such host %s", host)
		}
		return netip.AddrPort{}, fmt.Errorf("look up %s: %w", host, err)
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("no address for host %s", host)
	}
	best := ips[0]
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			best = ip
			break
		}
	}
	return netip.AddrPortFrom(best.Unmap(), uint16(port)), nil
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

// wantWrite reports whether poll should watch for POLLOUT.
func (c *conn) wantWrite() bool { return c.connecting || len(c.out) > 0 }

// flush writes as much queued output as the socket takes now.
func (c *conn) flush() error {
	for len(c.out) > 0 {
		// MSG_NOSIGNAL: a peer that went away is an error to report, not
		// a SIGPIPE that kills the client.
		n, err := unix.SendmsgN(c.fd, c.out, nil, nil, unix.MSG_NOSIGNAL)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				return nil
			}
			return err
		}
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	return nil
}

// errClosed means the server closed the connection (end of stream).
var errClosed = errors.New("the server closed the connection")

// readSome reads what the socket has into the decoder. It returns errClosed
// at end of stream.
func (c *conn) readSome(buf []byte) error {
	n, err := unix.Read(c.fd, buf)
	switch {
	case err != nil:
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return nil
		}
		return err
	case n == 0:
		return errClosed
	}
	c.dec.Feed(buf[:n])
	return nil
}

// close releases the socket. Unwritten output is dropped.
func (c *conn) close() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
	c.out = nil
}
