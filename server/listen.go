package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"chat/server/irc"
)

// A listener is a listening socket and the protocol its connections speak.
type listener struct {
	fd   int    // -1 once closed
	addr string // the address it is bound to
	what string // for the log: "", "TLS ", "IRC " or "IRC TLS "
	irc  bool   // it speaks IRC, not the chat protocol
	tls  bool   // its connections begin with a TLS handshake
	// speak returns the protocol of a connection it accepted.
	speak func() protocol
	enc   encoder // shared by its connections (protocol.encode)
	// variants are an IRC listener's encoders, one per way a session
	// renders a room message (irc.Session.Variant).
	variants [irc.Variants]encoder
}

// close closes the listening socket, if it is open.
func (l *listener) close() {
	if l.fd >= 0 {
		unix.Close(l.fd)
		l.fd = -1
	}
}

// openListeners opens the listening sockets the Config asks for: the chat
// protocol's, plain and over TLS, and IRC's, plain and over TLS.
func (s *Server) openListeners() error {
	cfg := &s.cfg
	if (cfg.TLSAddr != "" || cfg.IRCTLSAddr != "") && cfg.TLS == nil {
		return errors.New("a TLS listener needs a certificate (Config.TLS)")
	}
	if cfg.TLS != nil {
		s.tls = newTLSState(cfg.TLS, cfg.HandshakeWorkers, s.wakeup.wake)
	}
	var ircCfg *irc.Config
	if cfg.IRCAddr != "" || cfg.IRCTLSAddr != "" {
		ircCfg = &irc.Config{Server: cfg.IRCName, Software: "chat-server-1", Created: irc.Created(time.Now()),
			ChanLimit: cfg.MaxJoined, Password: cfg.IRCPassword}
	}
	for _, want := range []struct {
		addr     string
		irc, tls bool
	}{{cfg.Addr, false, false}, {cfg.TLSAddr, false, true}, {cfg.IRCAddr, true, false}, {cfg.IRCTLSAddr, true, true}} {
		if want.addr == "" {
			continue
		}
		l := &listener{fd: -1, irc: want.irc, tls: want.tls}
		if want.irc {
			l.what = "IRC "
			l.speak = func() protocol { return newIRCProtocol(ircCfg, &l.variants) }
		} else {
			l.speak = func() protocol { return &wireProtocol{enc: &l.enc} }
		}
		if want.tls {
			l.what += "TLS "
		}
		s.listeners = append(s.listeners, l)
		var err error
		if l.fd, l.addr, err = listen(want.addr); err != nil {
			return err
		}
	}
	return nil
}

// listenerAddr returns the address of the listener of that kind, "" if
// there is none.
func (s *Server) listenerAddr(irc, tls bool) string {
	for _, l := range s.listeners {
		if l.irc == irc && l.tls == tls {
			return l.addr
		}
	}
	return ""
}

// listen opens a non-blocking TCP listening socket with the ordinary socket
// calls (socket, setsockopt, bind, listen) and returns it with the address
// it is bound to. An address without a host (":7777") listens on every
// interface, IPv6 and IPv4 together where the system has IPv6.
func listen(addr string) (int, string, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return -1, "", wrapListen(addr, err)
	}
	if ta.IP == nil {
		fd, bound, err := listenIP(net.IPv6unspecified, "", ta.Port)
		if err == nil || !errors.Is(err, unix.EAFNOSUPPORT) {
			return fd, bound, wrapListen(addr, err)
		}
		fd, bound, err = listenIP(net.IPv4zero, "", ta.Port)
		return fd, bound, wrapListen(addr, err)
	}
	fd, bound, err := listenIP(ta.IP, ta.Zone, ta.Port)
	return fd, bound, wrapListen(addr, err)
}

// ListenError is New's error for an address it cannot listen on: Addr is
// the address as the Config gave it, so that a caller can say which
// setting to change.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return fmt.Sprintf("listen on %s: %v", e.Addr, e.Err) }
func (e *ListenError) Unwrap() error { return e.Err }

func wrapListen(addr string, err error) error {
	if err == nil {
		return nil
	}
	return &ListenError{Addr: addr, Err: err}
}

func listenIP(ip net.IP, zone string, port int) (fd int, bound string, err error) {
	var sa unix.Sockaddr
	family := unix.AF_INET6
	if ip4 := ip.To4(); ip4 != nil && !ip.Equal(net.IPv6unspecified) {
		family = unix.AF_INET
		a := &unix.SockaddrInet4{Port: port}
		copy(a.Addr[:], ip4)
		sa = a
	} else {
		a := &unix.SockaddrInet6{Port: port}
		copy(a.Addr[:], ip.To16())
		if zone != "" {
			ifi, err := net.InterfaceByName(zone)
			if err != nil {
				return -1, "", err
			}
			a.ZoneId = uint32(ifi.Index)
		}
		sa = a
	}
	fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, "", fmt.Errorf("socket: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	// Restart without waiting for TIME_WAIT connections of a previous run.
	if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return -1, "", fmt.Errorf("setsockopt SO_REUSEADDR: %w", err)
	}
	if family == unix.AF_INET6 && ip.IsUnspecified() {
		// Serve IPv4 clients on the same socket.
		if err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return -1, "", fmt.Errorf("setsockopt IPV6_V6ONLY: %w", err)
		}
	}
	if err = unix.Bind(fd, sa); err != nil {
		return -1, "", fmt.Errorf("bind: %w", err)
	}
	if err = unix.Listen(fd, 4096); err != nil {
		return -1, "", fmt.Errorf("listen: %w", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return -1, "", fmt.Errorf("getsockname: %w", err)
	}
	return fd, sockaddrString(got), nil
}

// sockaddrString formats a socket address as HOST:PORT.
func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		ip := net.IP(a.Addr[:])
		host := ip.String()
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				host += "%" + ifi.Name
			}
		}
		return net.JoinHostPort(host, strconv.Itoa(a.Port))
	}
	return "unknown address"
}
