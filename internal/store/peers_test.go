package store

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"chat/harness"
)

// describe is a peer list as one line per peer, for failures.
func describe(ps []Peer) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "\n  %+v", p)
	}
	return b.String()
}

// leaders checks that exactly one peer leads the meta group (when meta)
// and one the rooms' stream, and that every named peer keeps a replica.
func leaders(ps []Peer, meta bool) error {
	var metaLeaders, leaders int
	for _, p := range ps {
		if p.MetaLeader {
			metaLeaders++
		}
		if p.Leader {
			leaders++
		}
		if p.Name != "" && !p.Replica.Kept {
			return fmt.Errorf("%s keeps no replica of ROOMS", p.Name)
		}
	}
	if leaders != 1 || meta && metaLeaders != 1 || !meta && metaLeaders != 0 {
		return fmt.Errorf("%d ROOMS leaders and %d meta leaders", leaders, metaLeaders)
	}
	return nil
}

// Each node of an embedded cluster of three sees itself first and the
// two others, connected, by name and by the route address it was given,
// one meta leader and one leader of ROOMS among them. With one node
// stopped, the others see it gone: its name not connected, its address
// not answering.
func TestPeersOfAnEmbeddedCluster(t *testing.T) {
	cfgs := clusterConfigs(t, 3, Config{})
	stores := openAll(t, cfgs)
	for i, s := range stores {
		var others []string
		for j := range stores {
			if j != i {
				others = append(others, "nats://"+cfgs[j].ClusterListen)
			}
		}
		if got := s.PeerRoutes(); !slices.Equal(got, others) {
			t.Errorf("node %d: PeerRoutes %v, want %v", i, got, others)
		}
		if s.ClusterName() != "chat-test" {
			t.Errorf("node %d: ClusterName %q", i, s.ClusterName())
		}
		urls := map[string]string{} // name → route URL
		for j, o := range stores {
			urls[o.ServerName()] = "nats://" + cfgs[j].ClusterListen
		}
		eventually(t, fmt.Sprintf("node %d to see its peers", i), func() error {
			ps := s.Peers()
			if len(ps) != 3 || !ps[0].Self || ps[0].Name != s.ServerName() || ps[1].Name > ps[2].Name {
				return fmt.Errorf("want itself, then the two others by name:%s", describe(ps))
			}
			for j, p := range ps {
				if p.URL != urls[p.Name] || p.Self != (j == 0) || !p.Connected || p.Err != nil {
					return fmt.Errorf("peer %d: want it connected at %s:%s", j, urls[p.Name], describe(ps))
				}
			}
			return leaders(ps, true)
		})
	}

	down := 2
	gone, goneURL := stores[down].ServerName(), "nats://"+cfgs[down].ClusterListen
	stores[down].Close()
	eventually(t, "node 0 to see node 2 gone", func() error {
		ps := stores[0].Peers()
		var byName, byURL *Peer
		for i := range ps {
			switch {
			case ps[i].Name == gone:
				byName = &ps[i]
			case ps[i].URL == goneURL:
				byURL = &ps[i]
			}
		}
		switch {
		case len(ps) != 4 || byName == nil || byURL == nil:
			return fmt.Errorf("want the two up, %s by name and %s by address:%s", gone, goneURL, describe(ps))
		case byName.Connected || byName.URL != "" || byName.Leader || byName.MetaLeader:
			return fmt.Errorf("%s still connected or leading:%s", gone, describe(ps))
		case byURL.Name != "" || byURL.Err == nil:
			return fmt.Errorf("%s still answers:%s", goneURL, describe(ps))
		}
		return nil
	})
	start := time.Now()
	ps := stores[0].Peers()
	t.Logf("node 0 sees, in %v:%s", time.Since(start).Round(time.Millisecond), describe(ps))
}

// On an external cluster the connection's server is this node's; the
// other servers are found by the client URLs the connection learnt, and
// the rooms' stream says who leads it. The meta group is not shown.
func TestPeersOfAnExternalCluster(t *testing.T) {
	c, err := harness.StartNATSCluster(harness.NATSClusterOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s, err := Open(Config{URLs: []string{c.Nodes[0].ClientURL}, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if s.ClusterName() != c.Name || s.ServerName() != "" || s.PeerRoutes() != nil {
		t.Errorf("ClusterName %q, ServerName %q, PeerRoutes %v: want %q, none, none", s.ClusterName(), s.ServerName(), s.PeerRoutes(), c.Name)
	}
	eventually(t, "the external servers", func() error {
		ps := s.Peers()
		if len(ps) != 3 {
			return fmt.Errorf("%d peers:%s", len(ps), describe(ps))
		}
		for i, p := range ps {
			n := c.Nodes[i] // n1 is the connection's, and the others sort by name
			if p.Name != n.Name || p.URL != n.ClientURL || p.Self != (i == 0) || p.Connected != (i == 0) || p.Err != nil {
				return fmt.Errorf("peer %d: want %s at %s:%s", i, n.Name, n.ClientURL, describe(ps))
			}
		}
		return leaders(ps, false)
	})
}

// An embedded server standing alone has no peers.
func TestPeersStandingAlone(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	if ps := s.Peers(); ps != nil {
		t.Errorf("Peers of a server standing alone:%s", describe(ps))
	}
	if s.PeerRoutes() != nil || s.ClusterName() != "" {
		t.Errorf("PeerRoutes %v, ClusterName %q: want none", s.PeerRoutes(), s.ClusterName())
	}
}

// ask reads a server's name from its INFO, and says why when an address
// gives none, within its context's deadline even when the other side
// says nothing.
func TestAskReadsTheServersName(t *testing.T) {
	serve := func(greeting string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if greeting != "" {
					c.Write([]byte(greeting))
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		return "nats://" + ln.Addr().String()
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "nats://" + closed.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		what, url, name, err string
	}{
		{"a NATS server", serve("INFO {\"server_id\":\"X\",\"server_name\":\"n2\",\"cluster\":\"chat\"}\r\n"), "n2", ""},
		{"an HTTP server", serve("HTTP/1.1 400 Bad Request\r\n\r\n"), "", "not a NATS server"},
		{"a NATS server without a name", serve("INFO {\"server_id\":\"X\"}\r\n"), "", "not a NATS server"},
		{"silence", serve(""), "", "no INFO"},
		{"nobody", refused, "", "refused"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		a := ask(ctx, tc.url)
		cancel()
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: ask took %v with a deadline of 200ms", tc.what, took)
		}
		if a.url != tc.url || a.name != tc.name || tc.err == "" && a.err != nil || tc.err != "" && (a.err == nil || !strings.Contains(a.err.Error(), tc.err)) {
			t.Errorf("%s: %+v; want name %q, an error saying %q", tc.what, a, tc.name, tc.err)
		}
	}
}
