package harness

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSClusterOptions says how to start a NATSCluster.
type NATSClusterOptions struct {
	// Nodes is how many servers (default 3).
	Nodes int
	// Name is the cluster's name (default "chat").
	Name string
	// Dir holds a directory per node (Dir/n1, Dir/n2 ...); a new
	// temporary directory when empty, removed by Close.
	Dir string
	// Proxies puts a Proxy on every route between two nodes, one per
	// direction (Link), so that a spec can cut a node off (Partition) or
	// slow its routes down.
	Proxies bool
}

// NATSCluster is a cluster of NATS servers with JetStream, run in this
// process from the nats-server module, on 127.0.0.1 at ports the kernel
// chose: an external deployment for the chat server's -nats, or peers
// for specs of clustering. A node stopped and started again keeps its
// name, directory and ports, as a server restarted in place would.
//
// Its methods may be called from any goroutine. The servers run their
// own goroutines; the proxies, two per proxied connection.
type NATSCluster struct {
	Name  string
	Nodes []*NATSNode

	dir     string
	tempDir bool
	// links[i][j] carries node i's routes to node j (Proxies).
	links [][]*Proxy
	// sink refuses every connection: with Proxies, the route address
	// every node advertises, so that a route learnt from another node's
	// gossip cannot go around the links.
	sink *Proxy

	mu          sync.Mutex
	partitioned map[int]bool
}

// NATSNode is one server of a NATSCluster.
type NATSNode struct {
	Name      string // server name, kept across Stop and Start
	Dir       string // its JetStream files
	ClientURL string // nats://127.0.0.1:PORT, kept across Stop and Start
	RouteURL  string // where it listens for routes

	clientPort, routePort int
	routes                []*url.URL
	advertise             string

	mu  sync.Mutex
	srv *server.Server // nil while stopped
}

// natsReadyTimeout bounds a node's start and the cluster's forming.
const natsReadyTimeout = 30 * time.Second

// StartNATSCluster starts the cluster and waits until every node knows
// JetStream's meta leader.
func StartNATSCluster(opts NATSClusterOptions) (c *NATSCluster, err error) {
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	if opts.Name == "" {
		opts.Name = "chat"
	}
	c = &NATSCluster{Name: opts.Name, dir: opts.Dir, partitioned: map[int]bool{}}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "natscluster-"); err != nil {
			return nil, err
		}
		c.tempDir = true
	}
	// Each node must know the others' route addresses before it starts:
	// the kernel picks them, held all at once so that they differ.
	ports, err := freeLoopbackPorts(opts.Nodes)
	if err != nil {
		return nil, err
	}
	if opts.Proxies {
		if err := c.startLinks(ports); err != nil {
			return nil, err
		}
	}
	for i := range opts.Nodes {
		n := &NATSNode{Name: fmt.Sprintf("n%d", i+1), Dir: filepath.Join(c.dir, fmt.Sprintf("n%d", i+1)),
			clientPort: server.RANDOM_PORT, routePort: ports[i]}
		n.RouteURL = fmt.Sprintf("nats://127.0.0.1:%d", ports[i])
		for j, p := range ports {
			switch {
			case opts.Proxies && j != i:
				n.routes = append(n.routes, &url.URL{Scheme: "nats", Host: c.links[i][j].Addr()})
			case !opts.Proxies:
				n.routes = append(n.routes, &url.URL{Scheme: "nats", Host: "127.0.0.1:" + strconv.Itoa(p)})
			}
		}
		if opts.Proxies {
			n.advertise = c.sink.Addr()
		}
		c.Nodes = append(c.Nodes, n)
	}
	for i := range c.Nodes {
		if err := c.Start(i); err != nil {
			return nil, err
		}
	}
	return c, c.WaitReady(natsReadyTimeout)
}

// startLinks starts the proxies between nodes, and the sink.
func (c *NATSCluster) startLinks(ports []int) error {
	var err error
	if c.sink, err = StartProxy("127.0.0.1:1"); err != nil {
		return err
	}
	c.sink.SetRefuse(true)
	c.links = make([][]*Proxy, len(ports))
	for i := range ports {
		c.links[i] = make([]*Proxy, len(ports))
		for j, p := range ports {
			if i == j {
				continue
			}
			if c.links[i][j], err = StartProxy("127.0.0.1:" + strconv.Itoa(p)); err != nil {
				return err
			}
		}
	}
	return nil
}

// freeLoopbackPorts finds n ports free on 127.0.0.1, listening on all at
// once so that they differ.
func freeLoopbackPorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Start starts node i, stopped or never started, with its name,
// directory and ports; it returns once the node takes connections (not
// once it caught up: see WaitReady).
func (c *NATSCluster) Start(i int) error {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return fmt.Errorf("nats node %s already runs", n.Name)
	}
	opts := &server.Options{
		ServerName: n.Name,
		Host:       "127.0.0.1",
		Port:       n.clientPort,
		JetStream:  true,
		StoreDir:   n.Dir,
		Cluster: server.ClusterOpts{Name: c.Name, Host: "127.0.0.1", Port: n.routePort, Advertise: n.advertise,
			// A silent partition (a black hole) is noticed within seconds.
			PingInterval: time.Second, MaxPingsOut: 3},
		Routes: n.routes,
		NoSigs: true,
		NoLog:  true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("nats node %s: %w", n.Name, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(natsReadyTimeout) {
		srv.Shutdown()
		return fmt.Errorf("nats node %s did not start (client port %d, route port %d)", n.Name, n.clientPort, n.routePort)
	}
	// The ports it got are kept for its restarts.
	n.clientPort = srv.Addr().(*net.TCPAddr).Port
	n.ClientURL = srv.ClientURL()
	n.srv = srv
	return nil
}

// Stop shuts node i down, as a clean stop of the server would: it hands
// its leaderships over first. Its directory stays.
func (c *NATSCluster) Stop(i int) {
	n := c.Nodes[i]
	n.mu.Lock()
	srv := n.srv
	n.srv = nil
	n.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Server is node i's server, nil while it is stopped: for specs that
// look inside it (its routes, its replicas).
func (c *NATSCluster) Server(i int) *server.Server {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// ClientURLs are the nodes' client URLs, for -nats.
func (c *NATSCluster) ClientURLs() []string {
	var urls []string
	for _, n := range c.Nodes {
		urls = append(urls, n.ClientURL)
	}
	return urls
}

// RouteURLs are the addresses the nodes listen on for routes.
func (c *NATSCluster) RouteURLs() []string {
	var urls []string
	for _, n := range c.Nodes {
		urls = append(urls, n.RouteURL)
	}
	return urls
}

// Link is the proxy that carries node from's routes to node to, nil
// without Proxies. Routes between two nodes may go through either
// direction's link, so a spec acts on both.
func (c *NATSCluster) Link(from, to int) *Proxy {
	if c.links == nil {
		return nil
	}
	return c.links[from][to]
}

// Partition cuts node i off from the others: every route link to or
// from it refuses new connections and resets the ones it carries. The
// node runs on, alone; the others keep their routes to each other. It
// needs Proxies.
func (c *NATSCluster) Partition(i int) error {
	return c.setPartitioned(i, true)
}

// Heal ends node i's partition: its routes come back as the servers
// reconnect (within a second or two) and it catches up.
func (c *NATSCluster) Heal(i int) error {
	return c.setPartitioned(i, false)
}

func (c *NATSCluster) setPartitioned(i int, on bool) error {
	if c.links == nil {
		return errors.New("nats cluster: partitions need NATSClusterOptions.Proxies")
	}
	c.mu.Lock()
	c.partitioned[i] = on
	c.mu.Unlock()
	for j := range c.Nodes {
		if j == i {
			continue
		}
		for _, l := range []*Proxy{c.links[i][j], c.links[j][i]} {
			l.SetRefuse(on)
			if on {
				l.Cut(CutReset)
			}
		}
	}
	return nil
}

// WaitReady waits until every running node outside a partition knows
// JetStream's meta leader, one of them, and has a route to each of the
// others, and the leader knows them all, so that a stream with a replica
// on each can be made; or says what is missing.
func (c *NATSCluster) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats cluster %s not ready after %v: %w", c.Name, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ready says what keeps the cluster from being ready, if anything.
func (c *NATSCluster) ready() error {
	c.mu.Lock()
	partitioned := map[int]bool{}
	for i, on := range c.partitioned {
		partitioned[i] = on
	}
	c.mu.Unlock()
	names := map[string]bool{}
	var up []*server.Server
	for i, n := range c.Nodes {
		if srv := c.Server(i); srv != nil && !partitioned[i] {
			up = append(up, srv)
			names[n.Name] = true
		}
	}
	var leader string
	var leaderSrv *server.Server
	for _, srv := range up {
		jsz, err := srv.Jsz(nil)
		if err != nil {
			return fmt.Errorf("%s: %w", srv.Name(), err)
		}
		switch {
		case jsz.Meta == nil || jsz.Meta.Leader == "":
			return fmt.Errorf("%s knows no meta leader", srv.Name())
		case !names[jsz.Meta.Leader]:
			return fmt.Errorf("%s has %s for meta leader, which is not up", srv.Name(), jsz.Meta.Leader)
		case leader != "" && jsz.Meta.Leader != leader:
			return fmt.Errorf("%s has %s for meta leader, another %s", srv.Name(), jsz.Meta.Leader, leader)
		}
		leader = jsz.Meta.Leader
		if srv.Name() == leader {
			leaderSrv = srv
		}
		peers, err := RoutedTo(srv)
		if err != nil {
			return err
		}
		for name := range names {
			if name != srv.Name() && !peers[name] {
				return fmt.Errorf("%s has no route to %s", srv.Name(), name)
			}
		}
	}
	// The meta leader places a stream's replicas on the servers it has
	// heard from lately: until it heard from all, an R3 stream may find
	// "no suitable peers".
	if leaderSrv != nil {
		if peers := leaderSrv.JetStreamClusterPeers(); len(peers) < len(up) {
			return fmt.Errorf("meta leader %s knows %d servers with JetStream (%v), not %d", leader, len(peers), peers, len(up))
		}
	}
	return nil
}

// RoutedTo names the servers srv has a route to.
func RoutedTo(srv *server.Server) (map[string]bool, error) {
	rz, err := srv.Routez(nil)
	if err != nil {
		return nil, err
	}
	peers := map[string]bool{}
	for _, r := range rz.Routes {
		if r.RemoteName != "" {
			peers[r.RemoteName] = true
		}
	}
	return peers, nil
}

// Close stops every node and proxy, and removes the directory if it made
// it.
func (c *NATSCluster) Close() {
	for i := range c.Nodes {
		c.Stop(i)
	}
	for _, row := range c.links {
		for _, l := range row {
			if l != nil {
				l.Close()
			}
		}
	}
	if c.sink != nil {
		c.sink.Close()
	}
	if c.tempDir {
		os.RemoveAll(c.dir)
	}
}
