package loadgen

import (
	"errors"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNoDelayCountReadsAcceptedSockets asks this process's own accepted
// sockets: Go sets TCP_NODELAY on every TCP connection, so the one turned
// off is the one not counted, and neither the listener nor the dialled
// ends (another local port) are counted at all.
func TestNoDelayCountReadsAcceptedSockets(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	for i := range 2 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if i == 1 {
			a.(*net.TCPConn).SetNoDelay(false)
		}
	}
	with, total, err := NoDelayCount(os.Getpid(), port)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		t.Skipf("pidfd_getfd is not available here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if with != 1 || total != 2 {
		t.Errorf("%d of %d accepted sockets with TCP_NODELAY, want 1 of 2", with, total)
	}
}
