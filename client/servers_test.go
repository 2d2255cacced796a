package client

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
)

// fakeLookup resolves the names of hosts, and no other.
func fakeLookup(hosts map[string][]string) lookupFunc {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		ips, ok := hosts[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var addrs []netip.Addr
		for _, ip := range ips {
			addrs = append(addrs, netip.MustParseAddr(ip))
		}
		return addrs, nil
	}
}

// How an attempt ends, in TestRotation.
const (
	fails     = "fails"     // it fails before the server answers the Hello
	connects  = "connects"  // the server answers, and the connection lasts
	isLostEnd = "then lost" // the server answers, and the connection is lost later
)

// try is one connection attempt: the server it goes to (as reports name
// it), whether a pause came before it, and how it ends.
type try struct {
	to     string
	paused bool
	ends   string
}

// TestRotation: which server each attempt goes to, across failed
// attempts, lost connections and successes, and which attempts wait for
// a pause (a round of failures, or a loss) rather than go at once.
func TestRotation(t *testing.T) {
	hosts := map[string][]string{
		"a.test":     {"192.0.2.1"},
		"b.test":     {"192.0.2.2"},
		"multi.test": {"2001:db8::3", "192.0.2.3", "192.0.2.4", "192.0.2.3"}, // IPv4 first, each once
		"c.test":     {"192.0.2.5"},
	}
	tests := []struct {
		name  string
		addrs []string
		tries []try
	}{
		{"one server: every failure is a round, as before failover", []string{"a.test:1"}, []try{
			{"a.test:1", false, fails},
			{"a.test:1", true, fails},
			{"a.test:1", true, isLostEnd},
			{"a.test:1", true, connects},
		}},
		{"the first answers: the client stays on it", []string{"a.test:1", "b.test:2"}, []try{
			{"a.test:1", false, connects},
		}},
		{"the first refuses at start: the second at once", []string{"a.test:1", "b.test:2"}, []try{
			{"a.test:1", false, fails},
			{"b.test:2", false, connects},
		}},
		{"a round of failures pauses, and begins again at the first", []string{"a.test:1", "b.test:2", "c.test:3"}, []try{
			{"a.test:1", false, fails},
			{"b.test:2", false, fails},
			{"c.test:3", false, fails},
			{"a.test:1", true, fails},
			{"b.test:2", false, fails},
			{"c.test:3", false, connects},
		}},
		{"a loss goes to the next server after a pause, and stays there", []string{"a.test:1", "b.test:2"}, []try{
			{"a.test:1", false, isLostEnd},
			{"b.test:2", true, isLostEnd},
			{"a.test:1", true, isLostEnd},
			{"b.test:2", true, connects},
		}},
		{"after a loss, a round counts from the next server and includes the lost one", []string{"a.test:1", "b.test:2", "c.test:3"}, []try{
			{"a.test:1", false, isLostEnd},
			{"b.test:2", true, fails},
			{"c.test:3", false, fails},
			{"a.test:1", false, fails},
			{"b.test:2", true, fails},
			{"c.test:3", false, connects},
		}},
		{"a host with several addresses is a server for each, in turn", []string{"multi.test:7"}, []try{
			{"multi.test:7 (192.0.2.3)", false, fails},
			{"multi.test:7 (192.0.2.4)", false, isLostEnd},
			{"multi.test:7 (2001:db8::3)", true, fails},
			{"multi.test:7 (192.0.2.3)", false, fails},
			{"multi.test:7 (192.0.2.4)", false, fails},
			{"multi.test:7 (2001:db8::3)", true, connects},
		}},
		{"a host's addresses come before the next server's", []string{"a.test:1", "multi.test:7", "b.test:2"}, []try{
			{"a.test:1", false, isLostEnd},
			{"multi.test:7 (192.0.2.3)", true, fails},
			{"multi.test:7 (192.0.2.4)", false, fails},
			{"multi.test:7 (2001:db8::3)", false, fails},
			{"b.test:2", false, fails},
			{"a.test:1", false, fails}, // the round is five servers long
			{"multi.test:7 (192.0.2.3)", true, connects},
		}},
		{"a name that does not resolve is a failed attempt like any other", []string{"nowhere.test:1", "a.test:1"}, []try{
			{"nowhere.test:1", false, fails},
			{"a.test:1", false, isLostEnd},
			{"nowhere.test:1", true, fails},
			{"a.test:1", false, connects},
		}},
		{"IP literals are not looked up", []string{"127.0.0.1:1", "[::1]:2"}, []try{
			{"127.0.0.1:1", false, fails},
			{"[::1]:2", false, connects},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRotation(tt.addrs, fakeLookup(hosts))
			paused := false
			for i, want := range tt.tries {
				s, err := r.current()
				if got := s.String(); got != want.to || paused != want.paused {
					t.Fatalf("attempt %d went to %s after a pause %v, want %s after a pause %v", i+1, got, paused, want.to, want.paused)
				}
				if err != nil && want.ends != fails {
					t.Fatalf("attempt %d: %v", i+1, err)
				}
				switch want.ends {
				case fails:
					paused = r.attemptFailed()
				case connects:
					r.connected()
				case isLostEnd:
					r.connected()
					r.lost()
					paused = true
				}
			}
		})
	}
}

// TestRotationFollowsDNS: an address is resolved again when its turn
// comes, and a round is as long as the servers it stood for last.
func TestRotationFollowsDNS(t *testing.T) {
	answers := [][]string{{"192.0.2.1"}, {"192.0.2.7", "192.0.2.8"}, {"192.0.2.9"}}
	looked := 0
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if looked == len(answers) {
			return nil, errors.New("no more answers")
		}
		var ips []netip.Addr
		for _, ip := range answers[looked] {
			ips = append(ips, netip.MustParseAddr(ip))
		}
		looked++
		return ips, nil
	}
	r := newRotation([]string{"moving.test:9"}, lookup)
	var went []string
	var rounds []bool
	for range 4 {
		s, err := r.current()
		if err != nil {
			t.Fatal(err)
		}
		went = append(went, s.String())
		rounds = append(rounds, r.attemptFailed())
	}
	want := []string{"moving.test:9", "moving.test:9 (192.0.2.7)", "moving.test:9 (192.0.2.8)", "moving.test:9"}
	if !slices.Equal(went, want) {
		t.Errorf("attempts went to %q, want %q", went, want)
	}
	// One address, then two: a round of one, then a round of two, then of one.
	if wantRounds := []bool{true, false, true, true}; !slices.Equal(rounds, wantRounds) {
		t.Errorf("rounds over after each attempt: %v, want %v", rounds, wantRounds)
	}
	if looked != 3 {
		t.Errorf("looked up %d times, want 3: once each time the name's turn came", looked)
	}
}

// TestServerKnownKeys: a server's certificate is looked up in the
// known-servers file under the address as given, and a node of a name
// with several addresses under its own address first.
func TestServerKnownKeys(t *testing.T) {
	one := server{addr: "chat.test:7777", ip: netip.MustParseAddrPort("192.0.2.1:7777")}
	if got := one.knownKeys(); !slices.Equal(got, []string{"chat.test:7777"}) {
		t.Errorf("one address: keys %q", got)
	}
	node := server{addr: "chat.test:7777", ip: netip.MustParseAddrPort("[2001:db8::2]:7777"), many: true}
	if got := node.knownKeys(); !slices.Equal(got, []string{"[2001:db8::2]:7777", "chat.test:7777"}) {
		t.Errorf("a node of several: keys %q", got)
	}
	if node.String() != "chat.test:7777 (2001:db8::2)" || node.host() != "chat.test" {
		t.Errorf("a node of several: named %q, host %q", node.String(), node.host())
	}
}
