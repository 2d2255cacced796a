package loadgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// NoDelayCount says how many of a server's client sockets have TCP_NODELAY
// set: with it a reply leaves at once, without it the kernel may hold a
// small write back (Nagle) until the previous one is acknowledged, which
// shows in a latency comparison. It is read from the server's own sockets
// rather than its source: each socket of process pid (/proc/PID/fd) is
// copied into this process (pidfd_getfd, Linux 5.6; it needs the right to
// ptrace pid, which root has), and those bound to port that are
// connections, not the listener, are asked.
func NoDelayCount(pid, port int) (withNoDelay, total int, err error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	dir := filepath.Join("/proc", fmt.Sprint(pid), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:") {
			continue
		}
		var n int
		if _, err := fmt.Sscan(e.Name(), &n); err != nil {
			continue
		}
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		if errors.Is(err, unix.EBADF) {
			continue // closed since the listing
		}
		if err != nil {
			return 0, 0, fmt.Errorf("pidfd_getfd %d of %d: %w", n, pid, err)
		}
		conn, nodelay := clientSocket(fd, port)
		unix.Close(fd)
		if conn {
			total++
			if nodelay {
				withNoDelay++
			}
		}
	}
	return withNoDelay, total, nil
}

// clientSocket reports whether fd is a TCP connection on local port (not a
// listening socket), and whether it has TCP_NODELAY.
func clientSocket(fd, port int) (conn, nodelay bool) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false, false
	}
	local := 0
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		local = a.Port
	case *unix.SockaddrInet6:
		local = a.Port
	}
	if local != port {
		return false, false
	}
	if listening, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || listening != 0 {
		return false, false
	}
	v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
	return true, err == nil && v != 0
}
