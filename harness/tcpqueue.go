package harness

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// SendQueue returns how many bytes the kernel holds, written but not yet
// acknowledged, in the send queue of the local TCP socket from local to
// remote (both IPv4 HOST:PORT). A spec uses it to see when the server's
// socket to a client that does not read is full, so that whatever the server
// queues next stays in the server's own output queue. Linux only: it reads
// /proc/net/tcp.
func SendQueue(local, remote string) (int, error) {
	l, err := procAddr(local)
	if err != nil {
		return 0, err
	}
	r, err := procAddr(remote)
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[1] != l || fields[2] != r {
			continue
		}
		tx, _, _ := strings.Cut(fields[4], ":")
		n, err := strconv.ParseUint(tx, 16, 32)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/net/tcp queue %q: %w", fields[4], err)
		}
		return int(n), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no TCP socket from %s to %s in /proc/net/tcp", local, remote)
}

// procAddr writes an IPv4 HOST:PORT the way /proc/net/tcp does: the address
// as a host-order (little-endian on the machines we run on) 32-bit word in
// hex, then the port in hex.
func procAddr(hostport string) (string, error) {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return "", err
	}
	if !ap.Addr().Is4() {
		return "", fmt.Errorf("%s: only IPv4 addresses are supported", hostport)
	}
	ip := ap.Addr().As4()
	return fmt.Sprintf("%08X:%04X", binary.LittleEndian.Uint32(ip[:]), ap.Port()), nil
}
