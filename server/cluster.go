package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"chat/internal/store"
	"chat/internal/wire"
	"chat/server/hub"
)

// A server of a cluster: several chat servers sharing one NATS (an
// external cluster with -nats, or their embedded stores routed together
// with -cluster) are one chat. The hub keeps to its own sessions and
// learns the others from the store (hub/cluster.go); this file carries
// between them, as durable.go does for messages, without the loop ever
// waiting:
//
//   - the names bucket: the hub's NameClaims, done by the store, their
//     outcomes back through the wake pipe (ClaimDone); the names let go
//     (TakeReleases); every change anyone makes, from a watch (RemoteName);
//   - room events, published on the room's subject and followed with its
//     messages (durable.deliver), and each node's members in the members
//     bucket, read at start;
//   - this node's lease in the nodes bucket, kept alive by the store: a
//     node whose lease expired is dead, and one survivor (the one that
//     wins its cleanup key) tells the rooms of its users who did not come
//     back elsewhere meanwhile, and lets their names go;
//   - takeover requests from other nodes (a login of an account held
//     here), answered once the hub closed the session.
type cluster struct {
	node string // this server's node: its name and a suffix new at each start

	mu       sync.Mutex
	claims   []*hub.NameClaim      // outcomes not yet taken by the loop
	names    []nameChange          // the names bucket's changes
	asked    []takeoverAsk         // takeovers asked by other nodes
	forwards []*hub.Forward        // frames other nodes forwarded to users here
	logins   []loginElsewhere      // checked logins on other nodes
	waiting  []hub.SessionID       // logins waiting for a name held by a silent node
	gone     []string              // nodes whose lease expired
	isolated error                 // set when this node's lease could not be kept
	alive    map[string]bool       // the nodes with a lease, as the watch saw them
	watched  map[string]*nodeWatch // what takeovers found of other nodes (takeover.go)
	retry    time.Duration         // takeoverRetry, but in tests
	pipes    *pipes                // transfers with other nodes (relay_cluster.go)

	releases []hub.NameClaim // names let go that the store had no room for yet
	events   []roomEvent     // room events likewise, in order
	members  memberSync      // this node's records in the members bucket

	stops     []func()
	leaseStop func() // ends the lease: nil while there is none
	leaving   bool   // the server is stopping: no new lease
}

// nameChange is a change of the names bucket: name held by o (nil: free).
type nameChange struct {
	name string
	o    *hub.Owner
}

// loginElsewhere is a checked login on another node, for the throttle.
type loginElsewhere struct {
	Node string `json:"node"`
	Name string `json:"name"`
	OK   bool   `json:"ok"`
}

// loginsTopic is where nodes announce their checked logins.
const loginsTopic = "logins"

// takeoverAsk is another node's request that this node close a session.
type takeoverAsk struct {
	name    string
	session int64
	reply   func(error)
}

// DefaultLease is Config.Lease's default: longer than NATS takes to
// elect a new leader for the nodes bucket when its leader's server goes
// (a few seconds), so that no node gives its sessions up for that.
const DefaultLease = 10 * time.Second

// minLease is the shortest Config.Lease: the store renews a lease every
// third of it, in whole seconds.
const minLease = 2 * time.Second

// lostGrace is how long after a node's lease expired its users have to
// come back on another node before their rooms are told they were lost:
// their logins could only complete once the lease expired.
const lostGrace = 3 * time.Second

// takeoverRetry is how often a login asks again for a name held by a node
// that does not answer, until that node's lease expires.
const takeoverRetry = 250 * time.Millisecond

// takeoverWait is how long a login waits for the node that holds its
// account to answer before asking again.
const takeoverWait = time.Second

// clustered reports whether the server shares its store with other chat
// servers: an external NATS, or an embedded store in a cluster.
func (c *Config) clustered() bool {
	return c.durable() && (len(c.NATS) > 0 || c.Cluster != "")
}

// nodeName is this start's node: ServerName (or the host name) and a
// random suffix, so that a restarted server is a new node whose lease the
// old one's expiry cannot touch.
func (c *Config) nodeName() string {
	base := c.ServerName
	if base == "" {
		base, _ = os.Hostname()
	}
	base = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, base)
	if base == "" {
		base = "chat"
	}
	b := make([]byte, 3)
	rand.Read(b)
	return base + "-" + hex.EncodeToString(b)
}

// nodeBase is the server name a node is a run of.
func nodeBase(node string) string {
	if i := strings.LastIndexByte(node, '-'); i > 0 {
		return node[:i]
	}
	return node
}

// joinCluster starts this node's part: its lease, the watches and the
// takeover service, and the other nodes' users in their rooms. It runs in
// New, after the store is open and before the loop.
func (s *Server) joinCluster() error {
	cl := s.cluster
	st := s.durable.st
	if s.cfg.Lease < minLease {
		return fmt.Errorf("a lease of %v is too short: at least %v, to outlast a NATS leader election", s.cfg.Lease, minLease)
	}
	if err := st.Retry(func() error { return s.takeLease(0) }); err != nil {
		return err
	}
	stop, err := retry(st, func() (func(), error) {
		return st.WatchNodes(func(node string, _ []byte, alive bool) {
			cl.mu.Lock()
			cl.alive[node] = alive
			asleep := cl.forget(node)
			if !alive {
				delete(cl.alive, node)
				cl.gone = append(cl.gone, node)
			}
			cl.mu.Unlock()
			s.wakeup.wake()
			if len(asleep) > 0 {
				go func() {
					for _, again := range asleep {
						again()
					}
				}()
			}
		})
	})
	if err != nil {
		return err
	}
	cl.stops = append(cl.stops, stop)
	cl.mu.Lock()
	for node := range cl.alive {
		if node != cl.node && nodeBase(node) == nodeBase(cl.node) {
			// This server's earlier run, killed: nobody else has its name,
			// so its users need not wait for its lease to expire.
			delete(cl.alive, node)
			cl.gone = append(cl.gone, node)
		}
	}
	cl.mu.Unlock()
	owners := map[string]string{}
	starting := true
	if stop, err = retry(st, func() (func(), error) {
		return st.WatchNames(func(name string, o *store.Owner) {
			var ho *hub.Owner
			if o != nil {
				ho = &hub.Owner{Node: o.Node, Session: o.Session, Guest: o.Guest}
			}
			cl.mu.Lock()
			if starting && o != nil {
				owners[name] = o.Node
			}
			cl.names = append(cl.names, nameChange{name, ho})
			cl.mu.Unlock()
			s.wakeup.wake()
		})
	}); err != nil {
		return err
	}
	cl.stops = append(cl.stops, stop)
	cl.mu.Lock()
	starting = false
	cl.mu.Unlock()
	members, err := retry(st, st.LoadMembers)
	if err != nil {
		return err
	}
	byRoom := map[string][]string{}
	for _, m := range members {
		if owners[m.Name] == m.Node {
			byRoom[m.Room] = append(byRoom[m.Room], m.Name)
		}
	}
	s.collectCluster(time.Now()) // the names first: RestoreMembers needs them
	s.hub.RestoreMembers(byRoom, func(name string) string { return owners[name] })
	if stop, err = st.ServeTakeovers(cl.node, func(name string, session int64, reply func(error)) {
		cl.mu.Lock()
		cl.asked = append(cl.asked, takeoverAsk{name, session, reply})
		cl.mu.Unlock()
		s.wakeup.wake()
	}); err != nil {
		return err
	}
	cl.stops = append(cl.stops, stop)
	if stop, err = st.ServeForwards(cl.node, func(data []byte) {
		fw := new(hub.Forward)
		if err := json.Unmarshal(data, fw); err != nil {
			s.cfg.Logf("cluster: a forwarded frame cannot be read: %v", err)
			return
		}
		cl.mu.Lock()
		cl.forwards = append(cl.forwards, fw)
		cl.mu.Unlock()
		s.wakeup.wake()
	}); err != nil {
		return err
	}
	cl.stops = append(cl.stops, stop)
	if stop, err = st.Listen(loginsTopic, func(data []byte) {
		var l loginElsewhere
		if json.Unmarshal(data, &l) != nil || l.Node == cl.node {
			return
		}
		cl.mu.Lock()
		cl.logins = append(cl.logins, l)
		cl.mu.Unlock()
		s.wakeup.wake()
	}); err != nil {
		return err
	}
	cl.stops = append(cl.stops, stop)
	return s.openPipes()
}

// loginChecked tells the other nodes of a checked login, for their
// throttles.
func (s *Server) loginChecked(name string, v hub.Verdict) {
	if s.cluster == nil || (v != hub.VerdictOK && v != hub.VerdictWrong) {
		return
	}
	data, _ := json.Marshal(loginElsewhere{Node: s.cluster.node, Name: name, OK: v == hub.VerdictOK})
	if err := s.durable.st.Announce(loginsTopic, data); err != nil {
		s.cfg.Logf("cluster: cannot tell the other servers of a login: %v", err)
	}
}

// forward sends a frame to a user of another node.
func (s *Server) forward(fw *hub.Forward) {
	data, err := json.Marshal(fw)
	if err == nil {
		err = s.durable.st.Forward(fw.Node, data)
	}
	if err != nil {
		s.cfg.Logf("cluster: cannot forward a frame to %s on %s: %v", fw.To, fw.Node, err)
	}
}

// leaseInfo is what a node's lease says of it. SessionsFrom is the first
// session of this lease: the node's sessions before it were closed when
// it lost its last one, and a node cleaning up after that loss tells the
// rooms of those alone (lostAll), not of users back on it since.
type leaseInfo struct {
	Node         string        `json:"node"`
	Started      int64         `json:"started"` // Unix ms
	SessionsFrom hub.SessionID `json:"sessionsFrom,omitempty"`
}

// takeLease takes this node's lease and keeps it, its sessions from
// sessionsFrom on; losing it isolates the node (collectCluster), which
// then takes a new one (retakeLease).
func (s *Server) takeLease(sessionsFrom hub.SessionID) error {
	cl := s.cluster
	info, _ := json.Marshal(leaseInfo{Node: cl.node, Started: time.Now().UnixMilli(), SessionsFrom: sessionsFrom})
	stop, err := s.durable.st.KeepLease(cl.node, info, s.cfg.Lease, func(err error) {
		cl.mu.Lock()
		cl.isolated = err
		cl.mu.Unlock()
		s.wakeup.wake()
	})
	if err != nil {
		return err
	}
	cl.mu.Lock()
	cl.leaseStop = stop
	cl.mu.Unlock()
	return nil
}

// retakeLease takes a new lease for this node after it lost one, trying
// every third of a lease until NATS lets it or the server stops; it runs
// on a goroutine of its own, since taking a lease waits for its write.
// Until then the node's logins wait (their names' claims fail) and other
// nodes take it as dead. Its sessions from sessionsFrom on are those of
// the new lease.
func (s *Server) retakeLease(sessionsFrom hub.SessionID) {
	cl := s.cluster
	for {
		cl.mu.Lock()
		leaving := cl.leaving
		cl.mu.Unlock()
		if leaving {
			return
		}
		err := s.takeLease(sessionsFrom)
		if err == nil {
			s.cfg.Logf("cluster: node %s has a lease again", cl.node)
			return
		}
		time.Sleep(s.cfg.Lease / 3)
	}
}

// leaveCluster stops the lease (so that the others know at once), the
// watches and the takeover service.
func (s *Server) leaveCluster() {
	cl := s.cluster
	if cl == nil {
		return
	}
	cl.mu.Lock()
	cl.leaving = true
	stop := cl.leaseStop
	cl.leaseStop = nil
	cl.mu.Unlock()
	if stop != nil {
		stop()
	}
	for i := len(cl.stops) - 1; i >= 0; i-- {
		cl.stops[i]()
	}
	cl.stops = nil
}

// claimOp hands a step of taking a name to the store.
func (s *Server) claimOp(c *hub.NameClaim) {
	cl, st := s.cluster, s.durable.st
	finish := func(held *store.Owner, err error) {
		if held != nil {
			c.Held = &hub.Owner{Node: held.Node, Session: held.Session, Guest: held.Guest}
		}
		c.Failure, c.Detail = storeFailure(err)
		cl.mu.Lock()
		cl.claims = append(cl.claims, c)
		cl.mu.Unlock()
		s.wakeup.wake()
	}
	cl.mu.Lock()
	leased := cl.leaseStop != nil
	cl.mu.Unlock()
	if !leased {
		// Lost, and not taken again yet: the others take this node as
		// gone, and a cleanup after it would take a name won now as a
		// lost user's.
		finish(nil, fmt.Errorf("%w: this node has no lease", store.ErrUnavailable))
		return
	}
	me := storeOwner(c.Owner(cl.node))
	var err error
	switch c.Kind {
	case hub.ClaimCreate:
		err = st.ClaimName(c.Name, me, finish)
	case hub.ClaimReplace:
		err = st.ReplaceName(c.Name, storeOwner(c.From), me, finish)
	case hub.ClaimAsk:
		s.askTakeover(c, time.Now().Add(s.cfg.Lease+takeoverWait), finish)
		return
	}
	if err != nil {
		finish(nil, err)
	}
}

func storeOwner(o hub.Owner) store.Owner {
	return store.Owner{Node: o.Node, Session: o.Session, Guest: o.Guest, At: time.Now().UnixMilli()}
}

// publishEvent hands a room event to the store, and keeps the members
// bucket in step with it (members.go): a node's own members are what the
// others read at their start, and what a cleanup finds of a dead node.
func (s *Server) publishEvent(ev *hub.RoomEvent) {
	st, node := s.durable.st, s.cluster.node
	data, err := json.Marshal(ev)
	if err != nil {
		s.cfg.Logf("cluster: cannot encode a room event: %v", err)
		return
	}
	s.cluster.events = append(s.cluster.events, roomEvent{ev.Rooms[0], data})
	s.publishEvents()
	n := ev.Notice
	if n == nil || ev.Node != node {
		return
	}
	members := &s.cluster.members
	switch n.Code {
	case wire.NoticeEntered:
		members.set(ev.Rooms[0], n.Name, true)
	case wire.NoticeLeft:
		members.set(ev.Rooms[0], n.Name, false)
	case wire.NoticeKicked:
		// The member may be another node's: whoever it is, it is out.
		members.set(ev.Rooms[0], n.Name, false)
		err := st.DeleteMember(ev.Rooms[0], n.Name, "", func(err error) {
			if err != nil {
				s.cfg.Logf("cluster: cannot forget a member kicked: %v", err)
			}
		})
		if err != nil {
			s.cfg.Logf("cluster: cannot forget a member kicked: %v", err)
		}
	case wire.NoticeQuit, wire.NoticeLost, wire.NoticeRenamed:
		for _, r := range ev.Rooms {
			members.set(r, n.Name, false)
			if n.Code == wire.NoticeRenamed {
				members.set(r, n.To, true)
			}
		}
	}
}

// releaseNames lets go in the store of the names the hub let go. Those
// the store has no room for (thousands of users leaving at once) wait
// for the next pass.
func (s *Server) releaseNames() {
	cl := s.cluster
	if cl == nil {
		return
	}
	cl.releases = append(cl.releases, s.hub.TakeReleases()...)
	cl.releases = offerInOrder(cl.releases, func(c hub.NameClaim) error {
		return s.durable.st.ReleaseName(c.Name, storeOwner(c.Owner(cl.node)), func(_ bool, err error) {
			if err != nil {
				s.cfg.Logf("cluster: cannot let go of the name %s: %v", c.Name, err)
			}
		})
	}, func(c hub.NameClaim, err error) { s.cfg.Logf("cluster: cannot let go of the name %s: %v", c.Name, err) })
}

// roomEvent is a room event encoded, waiting for the store to take it.
type roomEvent struct {
	room string
	data []byte
}

// publishEvents hands the store the room events waiting, in order. Those
// it has no room for (thousands of users leaving at once) wait for the
// next pass: an event lost would leave its user in the room on every
// other node.
func (s *Server) publishEvents() {
	cl := s.cluster
	if cl == nil {
		return
	}
	cl.events = offerInOrder(cl.events, func(e roomEvent) error {
		return s.durable.st.PublishEvent(e.room, e.data, func(err error) {
			if err != nil {
				s.cfg.Logf("cluster: cannot publish a room event: %v", err)
			}
		})
	}, func(_ roomEvent, err error) { s.cfg.Logf("cluster: cannot publish a room event: %v", err) })
}

// offerInOrder offers items to the store in order, until it refuses one
// for a full queue, and returns the rest, that one first, for the next
// pass. An item refused otherwise is told to refused and dropped.
func offerInOrder[T any](items []T, offer func(T) error, refused func(T, error)) []T {
	for i, it := range items {
		err := offer(it)
		if errors.Is(err, store.ErrBusy) {
			return slices.Delete(items, 0, i)
		}
		if err != nil {
			refused(it, err)
		}
	}
	return items[:0]
}

// collectCluster gives the hub what the cluster said since the last pass:
// claims' outcomes, names' changes, takeovers asked, dead nodes, and this
// node's own isolation.
func (s *Server) collectCluster(now time.Time) {
	cl := s.cluster
	if cl == nil {
		return
	}
	cl.mu.Lock()
	claims, names, asked, gone, isolated, forwards, logins, waiting := cl.claims, cl.names, cl.asked, cl.gone, cl.isolated, cl.forwards, cl.logins, cl.waiting
	cl.claims, cl.names, cl.asked, cl.gone, cl.isolated, cl.forwards, cl.logins, cl.waiting = nil, nil, nil, nil, nil, nil, nil, nil
	cl.mu.Unlock()
	for _, fw := range forwards {
		s.apply(s.hub.Forwarded(fw), now)
	}
	for _, l := range logins {
		s.checks.Elsewhere(l.Name, l.OK, now)
	}
	for _, sid := range waiting {
		if c := s.bySid[sid]; c != nil && c.held && !c.dead && !c.closing && now.Sub(c.lastAlive) >= takeoverWait {
			c.lastAlive = now
			if s.writeNow(c, pingFrame(now)) {
				s.afterWrite(c)
			}
		}
	}
	for _, ch := range names {
		s.apply(s.hub.RemoteName(ch.name, ch.o, now), now)
		s.reap(now)
	}
	for _, c := range claims {
		s.outcome(c.Session, true, func() []hub.Output { return s.hub.ClaimDone(c, now) }, now)
	}
	for _, a := range asked {
		s.apply(s.hub.TakeoverAsked(a.name, a.session, now), now)
		s.reap(now)
		a.reply(nil)
	}
	for _, node := range gone {
		s.cleanUpAfter(node)
	}
	s.collectPipes(now)
	if isolated != nil {
		s.cfg.Logf("cluster: node %s lost its lease (%v): closing its sessions, whose names other servers may now give out", cl.node, isolated)
		s.apply(s.hub.Isolated(now), now)
		s.reap(now)
		cl.mu.Lock()
		cl.leaseStop = nil
		cl.mu.Unlock()
		go s.retakeLease(s.nextSid + 1)
	}
	s.releaseNames()
}
