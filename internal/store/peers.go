package store

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// What a node sees of its cluster, for an operator (the server's
// /status). Nothing here changes anything, and nothing waits longer than
// peersWait: a peer that does not answer is reported as such.

// Peer is a server of the store's NATS cluster as this node sees it.
type Peer struct {
	// Name is the server's name; "" for an address that did not answer
	// and that no route and no replica names.
	Name string
	// URL is where this node reaches it: its route URL as Config.Routes
	// gives it (embedded; this node's own is RouteURL), or its client URL
	// as the connection knows it (external); "" when no address this node
	// knows answered as it.
	URL string
	// Self is this node's own embedded server or, with an external NATS,
	// the server the store's connection is on.
	Self bool
	// Connected: embedded, a route to it is up (Self: always); external,
	// the store's connection is on it (so only Self, while connected).
	Connected bool
	// Err says why URL did not answer; nil when it did, or was not asked.
	Err error
	// MetaLeader: it leads JetStream's meta group, which places streams
	// and buckets on servers. Known for an embedded node only: an
	// external NATS does not show its meta group to an account.
	MetaLeader bool
	// Leader: it leads the rooms' stream, taking its writes.
	Leader bool
	// Replica is its copy of the rooms' stream, as the stream's leader
	// sees it.
	Replica Replica
}

// Replica is a server's copy of the rooms' stream.
type Replica struct {
	Kept    bool // it keeps one (the leader too)
	Current bool // caught up with the leader
	Offline bool // the stream's group has lost it
	// Lag is how many operations it is behind the leader; Active, how
	// long ago the leader last heard from it.
	Lag    uint64
	Active time.Duration
}

// peersWait bounds Peers: the rooms' stream info, each address asked and
// the embedded server's own view.
const peersWait = time.Second

// Peers is what this node sees of its cluster: itself first, then the
// other servers by name, then the addresses nobody answered on. It
// merges, by server name, the embedded server's routes and JetStream meta
// group, the rooms' stream's leader and replicas, and the server that
// answers on each address this node knows (its configured routes, or the
// client URLs of an external NATS), asked with a TCP connection that
// reads the INFO every NATS listener sends first. A server that is down
// shows twice, since nothing names what no longer answers: under its
// name (not connected, its replica offline) and under its address (Err).
// Nil for an embedded server standing alone. It may be called from any
// goroutine, and returns within about peersWait.
func (s *Store) Peers() []Peer {
	if s.srv != nil && s.cfg.Cluster == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), peersWait)
	defer cancel()
	// The in-process view holds the embedded server's locks, not ctx: it
	// is waited for no longer than the rest, and its channel has room
	// for its answer, so that a late one is dropped without a reader.
	local := make(chan peers, 1)
	go func() { local <- s.localPeers() }()
	urls := s.peerURLs()
	answers := make([]answer, len(urls))
	var info *jetstream.StreamInfo
	var asks sync.WaitGroup
	asks.Go(func() { info, _ = s.rooms.Info(ctx) })
	for i, u := range urls {
		asks.Go(func() { answers[i] = ask(ctx, u) })
	}
	var ps peers
	select {
	case ps = <-local:
	case <-ctx.Done():
	}
	asks.Wait() // each ends with ctx
	ps.replicas(info)
	for _, a := range answers {
		ps.answered(a)
	}
	rank := func(p Peer) int {
		switch {
		case p.Self:
			return 0
		case p.Name != "":
			return 1
		}
		return 2
	}
	slices.SortFunc(ps, func(a, b Peer) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Name, b.Name), cmp.Compare(a.URL, b.URL))
	})
	return ps
}

// localPeers is the view of this node's own server: itself, the servers
// it has routes to and the meta group (embedded); the server the
// connection is on (external).
func (s *Store) localPeers() peers {
	if s.srv == nil {
		name := s.nc.ConnectedServerName()
		if name == "" {
			return nil // not connected: no server is this node's
		}
		return peers{{Name: name, URL: s.nc.ConnectedUrlRedacted(), Self: true, Connected: true}}
	}
	ps := peers{{Name: s.srv.Name(), URL: s.RouteURL(), Self: true, Connected: true}}
	if rz, err := s.srv.Routez(nil); err == nil {
		for _, r := range rz.Routes {
			if r.RemoteName != "" {
				ps.named(r.RemoteName).Connected = true
			}
		}
	}
	if jsz, err := s.srv.Jsz(&server.JSzOptions{}); err == nil && jsz.Meta != nil {
		if jsz.Meta.Leader != "" {
			ps.named(jsz.Meta.Leader).MetaLeader = true
		}
		for _, r := range jsz.Meta.Replicas {
			if knownName(r.Name) {
				ps.named(r.Name)
			}
		}
	}
	return ps
}

// peerURLs are the addresses to ask: the configured routes (embedded),
// or every client URL the connection knows, given and discovered
// (external). Only scheme, host and port: no password.
func (s *Store) peerURLs() []string {
	var urls []string
	if s.srv != nil {
		for _, r := range s.cfg.Routes {
			if u, err := routeURL(r); err == nil {
				urls = append(urls, u.Scheme+"://"+u.Host)
			}
		}
	} else {
		urls = s.nc.Servers()
	}
	slices.Sort(urls)
	return slices.Compact(urls)
}

// PeerRoutes are the configured routes (Config.Routes) to servers other
// than this node, as nats://HOST:PORT; nil when it is not an embedded
// node of a cluster.
func (s *Store) PeerRoutes() []string {
	if s.srv == nil || s.cfg.Cluster == "" {
		return nil
	}
	host, port, _ := splitListen(s.cfg.ClusterListen)
	if a := s.srv.ClusterAddr(); a != nil {
		port = a.Port // the one the kernel chose for port 0
	}
	var routes []string
	for _, r := range s.cfg.Routes {
		u, err := routeURL(r)
		if err != nil || isSelf(u, host, port) {
			continue
		}
		if r := u.Scheme + "://" + u.Host; !slices.Contains(routes, r) {
			routes = append(routes, r)
		}
	}
	return routes
}

// ClusterName is the name of the cluster the store's NATS is part of:
// Config.Cluster for an embedded node, the name the server the
// connection is on gives otherwise; "" standing alone, or while an
// external NATS is away.
func (s *Store) ClusterName() string {
	if s.srv != nil {
		return s.cfg.Cluster
	}
	return s.nc.ConnectedClusterName()
}

// peers is Peers' list while it is merged.
type peers []Peer

// named is the peer called name, added when there is none yet.
func (ps *peers) named(name string) *Peer {
	for i := range *ps {
		if (*ps)[i].Name == name {
			return &(*ps)[i]
		}
	}
	*ps = append(*ps, Peer{Name: name})
	return &(*ps)[len(*ps)-1]
}

// replicas adds what the rooms' stream says of its leader and replicas.
func (ps *peers) replicas(info *jetstream.StreamInfo) {
	if info == nil || info.Cluster == nil {
		return
	}
	if l := info.Cluster.Leader; l != "" {
		p := ps.named(l)
		p.Leader = true
		p.Replica = Replica{Kept: true, Current: true}
	}
	for _, r := range info.Cluster.Replicas {
		if knownName(r.Name) {
			ps.named(r.Name).Replica = Replica{Kept: true, Current: r.Current, Offline: r.Offline, Lag: r.Lag, Active: r.Active}
		}
	}
}

// answered adds the server that answered on an address, or the address
// with why nobody did. An address another already has (this node's own
// route URL, a second route to one server) changes nothing.
func (ps *peers) answered(a answer) {
	if a.name == "" {
		*ps = append(*ps, Peer{URL: a.url, Err: a.err})
		return
	}
	if p := ps.named(a.name); p.URL == "" {
		p.URL = a.url
	}
}

// knownName tells a server's name from what JetStream says of a peer it
// has no name for yet ("Server name unknown at this time (peerID: …)"):
// a server's name has no spaces.
func knownName(name string) bool { return name != "" && !strings.ContainsAny(name, " \t") }

// answer is who answered on an address.
type answer struct {
	url  string
	name string // "" when nobody did
	err  error
}

// ask connects to a NATS listener at u, clients' or routes', and reads
// the server's name from the INFO it sends first.
func ask(ctx context.Context, u string) answer {
	a := answer{url: u}
	pu, err := url.Parse(u)
	if err != nil {
		a.err = err
		return a
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", pu.Host)
	if err != nil {
		a.err = err
		return a
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetReadDeadline(dl)
	}
	// A route's INFO lists the cluster's client URLs: a few kilobytes.
	line, err := bufio.NewReaderSize(c, 64<<10).ReadSlice('\n')
	if err != nil {
		a.err = fmt.Errorf("no INFO from %s: %w", pu.Host, err)
		return a
	}
	body, ok := bytes.CutPrefix(line, []byte("INFO "))
	var info struct {
		Name string `json:"server_name"`
	}
	if !ok || json.Unmarshal(body, &info) != nil || !knownName(info.Name) {
		a.err = errors.New("not a NATS server: no INFO with its name")
		return a
	}
	a.name = info.Name
	return a
}
