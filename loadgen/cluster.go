package loadgen

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"chat/harness"
)

// A cluster run (the idle and rooms profiles with -servers N, and the
// failover profile) starts what the chaos profile starts: a NATS cluster
// of three nodes in loadgen's own process and N chat servers on it, each
// with -nats naming every node (its own first), -server-name cN and
// -replicas 3. The sessions are spread over the servers so that every
// room has members on each (serverFor).

// clusterReplicas is how many NATS nodes keep each message in a cluster
// run: every node, so that a node's loss loses nothing.
const clusterReplicas = 3

// chatCluster is the NATS cluster and the chat servers a cluster run
// started. Its servers are appended by startChatCluster and not changed
// after; each server's own state is guarded by its mutex.
type chatCluster struct {
	nats    *harness.NATSCluster
	servers []*chaosServer
	named   bool // the servers took -server-name
}

// clusterSpawn is how a cluster run starts its chat servers.
type clusterSpawn struct {
	path      string
	args      []string // after loadgen's own
	usersFile string
	guests    bool // -guests: the sessions claim names
	timeout   time.Duration
	// proxies puts a proxy on every route of the NATS cluster, so that
	// chaos can cut a node off; the benchmarks leave the routes direct.
	proxies bool
	// replicas, when not zero, is given to each server as -replicas if
	// it takes the flag.
	replicas int
}

// startChatCluster starts the NATS cluster and n chat servers on it,
// each registered with stops as it starts, so that an interrupted run
// stops them; on an error what was started is stopped. close stops
// everything.
func startChatCluster(n int, sp clusterSpawn, stops *stoppers) (*chatCluster, error) {
	nc, err := harness.StartNATSCluster(harness.NATSClusterOptions{Nodes: natsNodes, Proxies: sp.proxies})
	if err != nil {
		return nil, fmt.Errorf("start the NATS cluster: %w", err)
	}
	stops.add(nc.Close)
	cl := &chatCluster{nats: nc}
	if cl.named, err = serverTakes(sp.path, "server-name"); err != nil {
		cl.close(nil)
		return nil, err
	}
	var extra []string
	if sp.replicas > 0 {
		takes, err := serverTakes(sp.path, "replicas")
		if err != nil {
			cl.close(nil)
			return nil, err
		}
		if takes {
			extra = []string{"-replicas", fmt.Sprint(sp.replicas)}
		}
	}
	for i := range n {
		cs, err := cl.startServer(i, sp, extra)
		if err != nil {
			cl.close(nil)
			return nil, err
		}
		stops.add(func() { cs.srv.Stop() })
	}
	return cl, nil
}

// startServer spawns chat server i on the cluster: -nats lists every
// node, the one it is nearest (node i) first, so that the servers'
// connections spread over the nodes and each fails over to the next.
func (cl *chatCluster) startServer(i int, sp clusterSpawn, extra []string) (*chaosServer, error) {
	urls := cl.nats.ClientURLs()
	n := len(urls)
	var nats []string
	for k := range n {
		nats = append(nats, urls[(i+k)%n])
	}
	cs := &chaosServer{name: fmt.Sprintf("c%d", i+1), nats: nats}
	args := []string{"-nats", strings.Join(nats, ",")}
	if cl.named {
		args = append(args, "-server-name", cs.name)
	}
	args = append(args, extra...)
	srv, err := SpawnServer(sp.path, SpawnOptions{UsersFile: sp.usersFile, Guests: sp.guests, Args: append(args, sp.args...), Timeout: sp.timeout})
	if err != nil {
		return nil, fmt.Errorf("chat server %s: %w", cs.name, err)
	}
	cs.srv = srv
	cl.servers = append(cl.servers, cs)
	return cs, nil
}

// addrs are the chat servers' addresses, in order.
func (cl *chatCluster) addrs() []string {
	var out []string
	for _, cs := range cl.servers {
		out = append(out, cs.srv.Addr)
	}
	return out
}

// reported are the chat servers as a run's report lists them, in order.
func (cl *chatCluster) reported() []ChaosServer {
	var out []ChaosServer
	for _, cs := range cl.servers {
		out = append(out, ChaosServer{Name: cs.name, Addr: cs.srv.Addr, NATS: cs.nats})
	}
	return out
}

// pids are the chat servers' first processes, in order.
func (cl *chatCluster) pids() []int {
	var out []int
	for _, cs := range cl.servers {
		out = append(out, cs.srv.PID)
	}
	return out
}

// close stops the chat servers that are not stopped yet, then the NATS
// cluster; a server that had died or did not stop cleanly is said on w
// unless it is nil.
func (cl *chatCluster) close(w io.Writer) {
	for _, cs := range cl.servers {
		if down, err := cs.stop(); err != nil && !down && w != nil {
			fmt.Fprintf(w, "loadgen: chat server %s: %v\n", cs.name, err)
		}
	}
	cl.nats.Close()
}

// serverFor is the index of the server, of n, that session id of a run
// with rooms rooms connects to. Session id is member id/rooms of room
// id%rooms: the members of a room go round the servers in turn, so a
// room of at least n members has some on every server, and each room
// starts one server further on, so that the servers hold as many
// sessions as can be whatever the number of rooms.
func serverFor(id uint32, rooms, n int) int {
	if n <= 1 || rooms < 1 {
		return 0
	}
	r := uint32(rooms)
	return int((id/r + id%r) % uint32(n))
}

// clusterProfiles are the profiles that take -servers: chaos and failover
// always run on a cluster, idle and rooms when -servers is given.
var clusterProfiles = map[string]bool{ProfileChaos: true, ProfileFailover: true, ProfileIdle: true, ProfileRooms: true}

// clusterFlags checks -servers and -kill-after against the profile and
// fills their defaults: idle and rooms run on one server unless -servers
// is given, and then only on servers loadgen starts.
func (m *mainFlags) clusterFlags(set map[string]bool) error {
	cfg := &m.cfg
	if set["servers"] && !clusterProfiles[cfg.Profile] {
		return fmt.Errorf("-servers is for the chaos, failover, idle and rooms profiles, not %s", cfg.Profile)
	}
	if set["kill-after"] && cfg.Profile != ProfileFailover {
		return errors.New("-kill-after is for the failover profile")
	}
	switch cfg.Profile {
	case ProfileChaos:
	case ProfileFailover:
		if !set["kill-after"] {
			cfg.KillAfter = cfg.Duration / 3
		}
	case ProfileIdle, ProfileRooms:
		if !set["servers"] {
			cfg.Servers = 0
			break
		}
		if cfg.Servers < 1 {
			return errors.New("-servers must be at least 1")
		}
		if cfg.Servers > 1 && m.spawn == "" {
			return errors.New("-servers starts the chat servers on a NATS cluster of loadgen's own, so it needs -spawn-server PATH, not -addr")
		}
	default:
		cfg.Servers = 0
	}
	return nil
}

// checkClusterArgs refuses -server-args that loadgen gives each server of
// a cluster itself.
func (m *mainFlags) checkClusterArgs() error {
	for _, a := range strings.Fields(m.serverArgs) {
		name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		switch name {
		case "nats", "state", "server-name", "addr", "replicas", "cluster", "cluster-listen", "routes":
			return fmt.Errorf("a run over several servers gives each its -%s: leave it out of -server-args", name)
		}
	}
	return nil
}

// clusterSpawn is how the idle, rooms and failover profiles start their
// servers: direct routes, every message on every node.
func (m *mainFlags) clusterSpawn() clusterSpawn {
	return clusterSpawn{path: m.spawn, args: spawnArgs(&m.cfg, m.serverArgs), usersFile: m.usersFile,
		guests: m.cfg.Login == LoginGuest, timeout: max(30*time.Second, m.cfg.Timeout), replicas: clusterReplicas}
}

// startCluster starts the cluster of an idle or rooms run over -servers
// and points the run at it: each session at its server (Config.Addrs),
// the report at every server's process. stop stops it all.
func (m *mainFlags) startCluster(spawned *stoppers, stderr io.Writer) (stop func(), err error) {
	if err := m.checkClusterArgs(); err != nil {
		return nil, usageError{err}
	}
	if err := m.validateUnstarted(); err != nil {
		return nil, err
	}
	cl, err := startChatCluster(m.cfg.Servers, m.clusterSpawn(), spawned)
	if err != nil {
		return nil, err
	}
	m.cfg.Addrs, m.cfg.ServerPIDs = cl.addrs(), cl.pids()
	m.cfg.Addr, m.cfg.ServerPID = m.cfg.Addrs[0], 0
	return func() { cl.close(stderr) }, nil
}
