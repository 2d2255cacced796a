package loadgen

import (
	"bytes"
	"strings"
	"testing"
)

func TestServerForSpreadsEveryRoomOverEveryServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		sessions, rooms int
		n               int
		wantEach        []int // sessions on each server
	}{
		{"one server", 10, 2, 1, []int{10}},
		{"rooms of 100 over three", 10000, 100, 3, []int{3334, 3333, 3333}},
		// A room count that is a multiple of the servers would put every
		// member of a room on one server with i%n.
		{"rooms a multiple of the servers", 30000, 300, 3, []int{10000, 10000, 10000}},
		{"one room", 7, 1, 3, []int{3, 2, 2}},
		{"rooms of two over three", 6, 3, 3, []int{2, 2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			each := make([]int, tt.n)
			inRoom := make([]map[int]bool, tt.rooms)
			for i := range uint32(tt.sessions) {
				s := serverFor(i, tt.rooms, tt.n)
				if s < 0 || s >= tt.n {
					t.Fatalf("session %d on server %d of %d", i, s, tt.n)
				}
				each[s]++
				r := int(i) % tt.rooms
				if inRoom[r] == nil {
					inRoom[r] = map[int]bool{}
				}
				inRoom[r][s] = true
			}
			if !equalInts(each, tt.wantEach) {
				t.Errorf("sessions on each server %v, want %v", each, tt.wantEach)
			}
			for r, on := range inRoom {
				members := (tt.sessions - r + tt.rooms - 1) / tt.rooms
				if want := min(members, tt.n); len(on) != want {
					t.Errorf("room %d (%d members) on %d servers, want %d", r, members, len(on), want)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAddrForIsTheSessionsServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		id   uint32
		want string
	}{
		{"one server", Config{Addr: "a:1", Rooms: 2}, 5, "a:1"},
		{"first member of room 0", Config{Addr: "a:1", Addrs: []string{"a:1", "b:2", "c:3"}, Rooms: 2}, 0, "a:1"},
		{"second member of room 0", Config{Addr: "a:1", Addrs: []string{"a:1", "b:2", "c:3"}, Rooms: 2}, 2, "b:2"},
		{"first member of room 1", Config{Addr: "a:1", Addrs: []string{"a:1", "b:2", "c:3"}, Rooms: 2}, 1, "b:2"},
		{"third member of room 1", Config{Addr: "a:1", Addrs: []string{"a:1", "b:2", "c:3"}, Rooms: 2}, 5, "a:1"},
	}
	for _, tt := range tests {
		if got := tt.cfg.addrFor(tt.id); got != tt.want {
			t.Errorf("%s: session %d connects to %s, want %s", tt.name, tt.id, got, tt.want)
		}
	}
}

func TestClusterFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		servers int
		wantErr string // part of the error; empty for none
	}{
		{"idle alone stays on one server", []string{"-profile", "idle", "-addr", "x:1"}, 0, ""},
		{"idle over three", []string{"-profile", "idle", "-spawn-server", "s", "-servers", "3"}, 3, ""},
		{"rooms over three without spawning", []string{"-profile", "rooms", "-addr", "x:1", "-servers", "3"}, 0, "needs -spawn-server"},
		{"bigroom refuses -servers", []string{"-profile", "bigroom", "-spawn-server", "s", "-servers", "3"}, 0, "-servers is for"},
		{"kill-after outside failover", []string{"-profile", "rooms", "-addr", "x:1", "-kill-after", "5s"}, 0, "-kill-after is for"},
		{"failover's default", []string{"-profile", "failover", "-spawn-server", "s"}, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			m, _ := parseFlags(tt.args, &stderr)
			switch {
			case tt.wantErr != "":
				if m != nil || !strings.Contains(stderr.String(), tt.wantErr) {
					t.Errorf("parsed: %v; stderr %q, want an error with %q", m != nil, stderr.String(), tt.wantErr)
				}
			case m == nil:
				t.Errorf("refused: %s", stderr.String())
			case m.cfg.Servers != tt.servers:
				t.Errorf("-servers %d, want %d", m.cfg.Servers, tt.servers)
			}
		})
	}
}

// TestIdleOverThreeServers runs the idle profile over three chat servers
// on a NATS cluster that loadgen starts: every session comes up, on its
// own server, and the report has each server's memory.
func TestIdleOverThreeServers(t *testing.T) {
	t.Parallel()
	var rep Report
	runMain(t, []string{"-spawn-server", buildServer(t), "-profile", "idle", "-servers", "3", "-sessions", "300",
		"-duration", "1s", "-quiet"}, &rep, ExitOK)
	if rep.Up != 300 || rep.Failed != 0 {
		t.Errorf("%d up, %d failed; want 300, 0", rep.Up, rep.Failed)
	}
	if len(rep.Servers) != 3 || strings.Count(rep.Addr, ",") != 2 {
		t.Fatalf("servers %+v at %s, want three", rep.Servers, rep.Addr)
	}
	var sum float64
	for _, s := range rep.Servers {
		if s.RSSHeldMB <= 0 {
			t.Errorf("%s held %.1f MB", s.Name, s.RSSHeldMB)
		}
		sum += s.RSSHeldMB
	}
	if rep.Server == nil || rep.Server.RSSHeldMB < sum-0.1 || rep.Server.RSSHeldMB > sum+0.1 {
		t.Errorf("the servers' summed RSS %+v, each summing to %.1f MB", rep.Server, sum)
	}
}
