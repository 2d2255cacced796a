package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// The servers of a run, and which one each connection attempt goes to.
//
// The person gives one address or several (Config.Servers, HOST:PORT
// each); a host name that resolves to several IP addresses counts as one
// server per address, next to each other in the order. Attempts go round
// the servers in turn:
//
//   - the first attempt goes to the first address (its first IP, IPv4
//     before IPv6: servers are often started on 127.0.0.1 while
//     "localhost" also names ::1);
//   - once connected, the client stays on that server for as long as the
//     connection lasts, even if a server before it in the order comes back;
//   - after a failed attempt or a lost connection, the next attempt goes
//     to the next server: the host's next IP, else the next address, and
//     round to the first; an address is resolved again each time its turn
//     comes, so a changed DNS answer is followed;
//   - a failed attempt is followed at once by an attempt at the next
//     server, until a round of attempts, one per server, has failed: then
//     the client pauses as it always did (Backoff, growing from round to
//     round). So one server down costs nothing, and all of them down cost
//     what one server down did. With one server every round is one
//     attempt, as before failover.
//
// After a lost connection the first attempt waits the first jittered
// pause all the same (Backoff's [Min, 2×Min)), although it goes to
// another server: when a server dies, every session on it is cut at the
// same instant, and without the pause they would all log in again on the
// survivors in the same millisecond, each with a password check; the
// jitter spreads them over the pause, which is far shorter than the
// server's liveness window (the room hears of a loss only past it).
//
// The rotation is the loop's, like the rest of Client; it does no I/O but
// the name lookups, as dial did before.

// server is one server of the run: an address as given, reached at one of
// the IP addresses its host resolved to.
type server struct {
	addr string         // HOST:PORT as given (as the person typed it, and the known-servers key)
	ip   netip.AddrPort // where it is reached; zero until resolved
	// many: addr's host resolved to several addresses, so the IP tells
	// this server from the others of the same name.
	many bool
}

// String names the server in reports: HOST:PORT as given, with the IP
// when the name stands for several servers.
func (s server) String() string {
	if s.many {
		return s.addr + " (" + s.ip.Addr().String() + ")"
	}
	return s.addr
}

// host is the host name the server's certificate must name.
func (s server) host() string { return hostOf(s.addr) }

// knownKeys are the known-servers keys the server's certificate is looked
// up under, the first also the one a certificate trusted now is
// remembered under: HOST:PORT as given; for a name that stands for
// several servers, each with its own certificate, the server's own
// IP:PORT first, then the name (a line for the name, written by hand or
// when it had one address, still vouches for every server it names).
func (s server) knownKeys() []string {
	if s.many {
		return []string{s.ip.String(), s.addr}
	}
	return []string{s.addr}
}

// lookupFunc resolves a host name to its IP addresses.
type lookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// rotation is the servers of the run and where the attempts stand among
// them.
type rotation struct {
	addrs  []string // HOST:PORT each, in the order given
	lookup lookupFunc
	// counts[i] is how many servers addrs[i] stood for when last resolved
	// (1 until then): the length of a round.
	counts []int
	i      int              // the address being tried or connected to
	ips    []netip.AddrPort // addrs[i]'s addresses for this turn; nil: not resolved yet
	j      int              // ips[j] is the current server
	failed int              // attempts failed since the round began
}

func newRotation(addrs []string, lookup lookupFunc) *rotation {
	counts := make([]int, len(addrs))
	for i := range counts {
		counts[i] = 1
	}
	return &rotation{addrs: addrs, lookup: lookup, counts: counts}
}

// current resolves, if need be, and returns the server the next attempt
// goes to. On a lookup's failure it returns the server unresolved with
// the error: that attempt has failed.
func (r *rotation) current() (server, error) {
	addr := r.addrs[r.i]
	if r.ips == nil {
		ips, err := resolveAll(addr, r.lookup)
		if err != nil {
			return server{addr: addr}, err
		}
		r.ips, r.j, r.counts[r.i] = ips, 0, len(ips)
	}
	return server{addr: addr, ip: r.ips[r.j], many: len(r.ips) > 1}, nil
}

// upcoming names the server current will return, without resolving: a
// name not resolved yet is named as given.
func (r *rotation) upcoming() string {
	if r.ips == nil {
		return r.addrs[r.i]
	}
	return server{addr: r.addrs[r.i], ip: r.ips[r.j], many: len(r.ips) > 1}.String()
}

// advance moves to the next server: the host's next IP, else the next
// address, to be resolved again when current is asked for it.
func (r *rotation) advance() {
	if r.ips != nil && r.j+1 < len(r.ips) {
		r.j++
		return
	}
	r.i = (r.i + 1) % len(r.addrs)
	r.ips, r.j = nil, 0
}

// size is the number of servers in a round, as last resolved.
func (r *rotation) size() int {
	n := 0
	for _, c := range r.counts {
		n += c
	}
	return n
}

// attemptFailed records a failed attempt at the current server and moves
// to the next. It reports whether that ended a round: every server failed
// once, and the next attempt waits a pause.
func (r *rotation) attemptFailed() (roundOver bool) {
	r.failed++
	r.advance()
	if r.failed >= r.size() {
		r.failed = 0
		return true
	}
	return false
}

// connected records that the current server answered: the client stays
// on it, and the next failure begins a round.
func (r *rotation) connected() { r.failed = 0 }

// lost records that the connection to the current server was lost: the
// next attempt goes to the next server, first of a new round.
func (r *rotation) lost() {
	r.failed = 0
	r.advance()
}

// resolveTimeout bounds the name lookup that precedes a connection attempt.
const resolveTimeout = 5 * time.Second

// resolveAll turns "host:port" into the addresses of its host, IPv4 first,
// each once, in the resolver's order otherwise.
func resolveAll(addr string, lookup lookupFunc) ([]netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bad address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		p, lerr := net.LookupPort("tcp", portStr)
		if lerr != nil {
			return nil, fmt.Errorf("bad port %q", portStr)
		}
		port = uint64(p)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(port))}, nil
	}
	if host == "" {
		host = "localhost"
	}
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ips, err := lookup(ctx, host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, fmt.Errorf("no such host %s", host)
		}
		return nil, fmt.Errorf("look up %s: %w", host, err)
	}
	var aps []netip.AddrPort
	for _, ip := range ips {
		ap := netip.AddrPortFrom(ip.Unmap(), uint16(port))
		if !slices.Contains(aps, ap) {
			aps = append(aps, ap)
		}
	}
	if len(aps) == 0 {
		return nil, fmt.Errorf("no address for host %s", host)
	}
	slices.SortStableFunc(aps, func(a, b netip.AddrPort) int {
		switch {
		case a.Addr().Is4() == b.Addr().Is4():
			return 0
		case a.Addr().Is4():
			return -1
		}
		return 1
	})
	return aps, nil
}
