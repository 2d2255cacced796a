package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/harness"
	"chat/server/hub"

	"github.com/nats-io/nats-server/v2/server"
)

// freePorts finds n ports free on 127.0.0.1, listening on all of them at
// once so that they differ: for a cluster whose nodes must know each
// other's route address before they start.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// clusterConfigs are the configurations of n embedded nodes of one
// cluster on 127.0.0.1, each with its own directory, every node given
// every route.
func clusterConfigs(t testing.TB, n int, base Config) []Config {
	t.Helper()
	var routes []string
	ports := freePorts(t, n)
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfg := base
		cfg.Dir = t.TempDir()
		cfg.Cluster = "chat-test"
		cfg.ClusterListen = fmt.Sprintf("127.0.0.1:%d", ports[i])
		cfg.Routes = routes
		cfgs[i] = cfg
	}
	return cfgs
}

// openAll opens the stores at once, as the servers of a cluster start:
// each Open waits for the others.
func openAll(t testing.TB, cfgs []Config) []*Store {
	t.Helper()
	stores := make([]*Store, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Go(func() { stores[i], errs[i] = Open(cfg) })
	}
	wg.Wait()
	for i, s := range stores {
		if s != nil {
			t.Cleanup(s.Close)
		}
		if errs[i] != nil {
			t.Fatalf("Open node %d: %v", i, errs[i])
		}
	}
	return stores
}

// eventually polls check until it returns nil or the deadline passes,
// and then fails with its last error.
func eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still after %v: %v", what, wait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// localState is what the node's own replica of the stream holds.
func localState(t testing.TB, s *Store, stream string) (msgs, last uint64) {
	t.Helper()
	jsz, err := s.srv.Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, acc := range jsz.AccountDetails {
		for _, st := range acc.Streams {
			if st.Name == stream {
				return st.State.Msgs, st.State.LastSeq
			}
		}
	}
	return 0, 0
}

func TestClusterOfThreeSharesRoomsAndMessages(t *testing.T) {
	stores := openAll(t, clusterConfigs(t, 3, Config{}))
	a, b, c := stores[0], stores[1], stores[2]
	names := map[string]bool{}
	for i, s := range stores {
		if s.srv.Addr() != nil {
			t.Errorf("node %d listens for clients on %v; it must open no client port", i, s.srv.Addr())
		}
		if s.Replicas() != 3 {
			t.Errorf("node %d keeps %d replicas, want 3 in a cluster of three", i, s.Replicas())
		}
		if want := "nats://" + s.cfg.ClusterListen; s.RouteURL() != want {
			t.Errorf("node %d: RouteURL %q, want %q", i, s.RouteURL(), want)
		}
		names[s.ServerName()] = true
	}
	if len(names) != 3 {
		t.Errorf("server names %v: want three different ones", names)
	}
	info, err := c.rooms.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Config.AllowDirect {
		t.Errorf("ROOMS has %d replicas, direct gets %v: want 3 and none", info.Config.Replicas, info.Config.AllowDirect)
	}

	for i := 1; i <= 5; i++ {
		appendWait(t, a, "lounge", fmt.Sprint("a", i))
	}
	// Reads go to the stream's leader, which has every acknowledged
	// write: no waiting for C's replica.
	expectPage(t, "lounge replayed through C", replayWait(t, c, "lounge", 0, 100), "1:a1 2:a2 3:a3 4:a4 5:a5")
	expectPage(t, "last 2 of lounge through B", lastWait(t, b, "lounge", 2), "4:a4 5:a5")
	if st := appendWait(t, c, "lounge", "c6"); st.Seq != 6 {
		t.Errorf("C's first message in lounge has Seq %d, want 6: C must number after A's", st.Seq)
	}
	if seq, err := b.LastSeq("lounge"); err != nil || seq != 6 {
		t.Errorf("LastSeq through B: %d, %v; want 6", seq, err)
	}

	saved := make(chan error, 1)
	if err := a.SaveRoom(hub.RoomState{Name: "Lounge", Seq: 6, Topic: "tea"}, func(err error) { saved <- err }); err != nil {
		t.Fatal(err)
	}
	if err := await(t, saved, "save room"); err != nil {
		t.Fatal(err)
	}
	// The bucket's gets are direct, answered by C's own replica, which
	// may be a moment behind.
	eventually(t, "the room saved through A, loaded through C", func() error {
		rooms, err := c.LoadRooms()
		if err != nil {
			return err
		}
		if len(rooms) != 1 || rooms[0].Topic != "tea" {
			return fmt.Errorf("rooms %+v", rooms)
		}
		return nil
	})
}

// One node down of three: the two others keep a majority of every
// stream's replicas, so they take writes and answer reads. The node back
// (same name, same directory) catches up. This node listens on port 0
// and is in no other node's routes: it joins through its own.
func TestClusterNodeDownAndBack(t *testing.T) {
	cfgs := clusterConfigs(t, 3, Config{Replicas: 3})
	cfgs[2].ClusterListen = "127.0.0.1:0"
	cfgs[2].Routes = cfgs[2].Routes[:2]
	for i := range 2 {
		cfgs[i].Routes = cfgs[i].Routes[:2]
	}
	stores := openAll(t, cfgs)
	if u, err := url.Parse(stores[2].RouteURL()); err != nil || u.Port() == "" || u.Port() == "0" {
		t.Fatalf("node listening on port 0: RouteURL %q", stores[2].RouteURL())
	}
	for i := 1; i <= 3; i++ {
		appendWait(t, stores[i%3], "lounge", fmt.Sprint("m", i))
	}

	// Stop the node that leads ROOMS: a clean shutdown hands its
	// leaderships over.
	down := 0
	for i, s := range stores {
		if s.srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, roomStream) {
			down = i
		}
	}
	name := stores[down].ServerName()
	stores[down].Close()
	up := []*Store{stores[(down+1)%3], stores[(down+2)%3]}
	for i, s := range up {
		st := appendWait(t, s, "lounge", fmt.Sprint("up", i))
		if st.Seq != uint64(4+i) {
			t.Errorf("written with a node down: Seq %d, want %d", st.Seq, 4+i)
		}
	}
	expectPage(t, "lounge with a node down", replayWait(t, up[1], "lounge", 0, 100), "1:m1 2:m2 3:m3 4:up0 5:up1")

	back, err := Open(cfgs[down])
	if err != nil {
		t.Fatalf("reopen node %d: %v", down, err)
	}
	t.Cleanup(back.Close)
	if back.ServerName() != name {
		t.Errorf("node back as %q, was %q", back.ServerName(), name)
	}
	// Open waited for its replicas to catch up: its own copy of ROOMS
	// has every message.
	_, leaderLast := localState(t, up[0], roomStream)
	if msgs, last := localState(t, back, roomStream); msgs != 5 || last != leaderLast {
		t.Errorf("the node back holds %d messages up to stream sequence %d; want 5 up to %d", msgs, last, leaderLast)
	}
	expectPage(t, "lounge read through the node back", replayWait(t, back, "lounge", 3, 100), "4:up0 5:up1")
	if st := appendWait(t, back, "lounge", "back"); st.Seq != 6 {
		t.Errorf("the node back numbers its first message %d, want 6", st.Seq)
	}
}

// Open of a node whose peers are not there waits OpenTimeout, then says
// what is missing.
func TestClusterWithoutQuorumSaysWhatIsMissing(t *testing.T) {
	cfg := clusterConfigs(t, 3, Config{OpenTimeout: time.Second})[0]
	start := time.Now()
	s, err := Open(cfg)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded with no peer up")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Open took %v to fail, OpenTimeout is 1s", time.Since(start))
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("error %v, want ErrUnavailable", err)
	}
	for _, want := range []string{"no JetStream meta leader", "majority", "no route to any of", cfg.Routes[1]} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	t.Log(err)
}

func TestClusterConfigRefused(t *testing.T) {
	dir := t.TempDir()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Dir: dir, Replicas: 3}, "3 replicas need a cluster"},
		{Config{URLs: []string{"nats://127.0.0.1:1"}, Cluster: "c"}, "with NATS URLs"},
		{Config{Dir: dir, Routes: []string{"nats://127.0.0.1:1"}}, "without a cluster name"},
		{Config{Dir: dir, Cluster: "c", Routes: []string{"127.0.0.1:1"}}, "no address to listen for routes"},
		{Config{Dir: dir, Cluster: "c", ClusterListen: "127.0.0.1:0"}, "no routes"},
		{Config{Dir: dir, Cluster: "c", ClusterListen: "127.0.0.1", Routes: []string{"127.0.0.1:1"}}, "listen address"},
		{Config{Dir: dir, Cluster: "c", ClusterListen: "127.0.0.1:0", Routes: []string{"nats://:1"}}, "route"},
		{Config{Dir: dir, Cluster: "my cluster", ClusterListen: "127.0.0.1:0", Routes: []string{"127.0.0.1:1"}}, "spaces"},
		{Config{Dir: dir, Cluster: "c", ClusterListen: taken.Addr().String(), Routes: []string{"127.0.0.1:1"}}, "cannot listen for routes"},
	} {
		s, err := Open(tc.cfg)
		if err == nil {
			s.Close()
			t.Errorf("%+v: Open succeeded", tc.cfg)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want it to say %q", tc.cfg, err, tc.want)
		}
	}
}

func TestClusterSizeAndServerName(t *testing.T) {
	for _, tc := range []struct {
		listen   string
		routes   []string
		size     int
		replicas int
	}{
		{"127.0.0.1:6222", []string{"127.0.0.1:6222", "127.0.0.1:6223", "127.0.0.1:6224"}, 3, 3},
		{"127.0.0.1:6222", []string{"nats://localhost:6222", "127.0.0.1:6223", "127.0.0.1:6224"}, 3, 3},
		{"0.0.0.0:6222", []string{"nats://127.0.0.1:6222", "10.9.9.9:6222"}, 2, 2},
		{"127.0.0.1:6222", []string{"127.0.0.1:6223", "127.0.0.1:6224"}, 3, 3},
		{"127.0.0.1:6222", []string{"a:6222", "b:6222", "c:6222", "d:6222", "e:6222"}, 6, 3},
		{"127.0.0.1:0", []string{"127.0.0.1:6223"}, 2, 2},
	} {
		s := &Store{cfg: Config{Dir: "/var/lib/chat", Cluster: "c", ClusterListen: tc.listen, Routes: tc.routes}}
		if err := s.clusterOptions(&server.Options{}); err != nil {
			t.Fatal(err)
		}
		if s.clusterSize != tc.size || s.replicas() != tc.replicas {
			t.Errorf("listen %s, routes %v: size %d, replicas %d; want %d, %d",
				tc.listen, tc.routes, s.clusterSize, s.replicas(), tc.size, tc.replicas)
		}
	}
	if n := defaultServerName("10.0.0.5", 6222, "/a"); n != "chat-10.0.0.5-6222" {
		t.Errorf("name from the route address: %q", n)
	}
	if n := defaultServerName("::1", 6222, "/a"); strings.ContainsAny(n, ": ") {
		t.Errorf("name from an IPv6 route address: %q", n)
	}
	for _, host := range []string{"0.0.0.0", "", "127.0.0.1"} {
		port := 6222
		if host == "127.0.0.1" {
			port = 0
		}
		a, a2, b := defaultServerName(host, port, "/srv/a"), defaultServerName(host, port, "/srv/a"), defaultServerName(host, port, "/srv/b")
		if a != a2 || a == b || strings.Contains(a, " ") {
			t.Errorf("listen %q:%d: names %q, %q for one directory and %q for another: want the same, then another",
				host, port, a, a2, b)
		}
	}
}

// A store on an external cluster of three (started in this process from
// the nats-server module, client ports on loopback) keeps R3 when asked,
// and two stores on two of its servers see one room.
func TestExternalClusterOfThree(t *testing.T) {
	c, err := harness.StartNATSCluster(harness.NATSClusterOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var stores []*Store
	for _, url := range []string{c.Nodes[0].ClientURL, c.Nodes[2].ClientURL} {
		s, err := Open(Config{URLs: []string{url}, Replicas: 3})
		if err != nil {
			t.Fatalf("Open on %s: %v", url, err)
		}
		t.Cleanup(s.Close)
		stores = append(stores, s)
	}
	a, b := stores[0], stores[1]
	info, err := a.rooms.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("ROOMS: %d replicas, cluster %+v; want 3", info.Config.Replicas, info.Cluster)
	}
	appendWait(t, a, "lounge", "from a")
	if st := appendWait(t, b, "lounge", "from b"); st.Seq != 2 {
		t.Errorf("b's message after a's: Seq %d, want 2", st.Seq)
	}
	expectPage(t, "lounge read through a", replayWait(t, a, "lounge", 0, 10), "1:from a 2:from b")
	privateWait(t, a, "bob", "kept", true)
	if got := texts(inboxWait(t, b, "bob")); got != "bob:kept" {
		t.Errorf("bob's inbox read through b: %s", got)
	}
}

// Replicas asked of a NATS that stands alone are refused at Open,
// saying so.
func TestReplicasOnAServerStandingAlone(t *testing.T) {
	url := externalNATS(t)
	s, err := Open(Config{URLs: []string{url}, Replicas: 3, OpenTimeout: 5 * time.Second})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted 3 replicas on a server standing alone")
	}
	if !strings.Contains(err.Error(), "need a JetStream cluster") || !strings.Contains(err.Error(), url) {
		t.Fatalf("got %v; want it to say that 3 replicas need a cluster, naming %s", err, url)
	}
	t.Log(err)
}
