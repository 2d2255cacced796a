package harness

import (
	"os"
	"strings"
	"testing"
	"time"
)

// needBinaries skips a test that runs the chat binaries unless
// $CHAT_BIN_DIR holds them: building them here would take longer than the
// test (make build, or go build -o DIR ./server/cmd/chat-server
// ./client/cmd/chat, makes them).
func needBinaries(t *testing.T) {
	t.Helper()
	if d := os.Getenv(BinDirEnv); d == "" || !hasBinaries(d) {
		t.Skipf("needs %s and %s in $%s (%q): run make build, or go build -o DIR ./server/cmd/chat-server ./client/cmd/chat and set %s=DIR",
			ServerBinary, ClientBinary, BinDirEnv, d, BinDirEnv)
	}
}

func TestChatClusterStartsRestartsAndStops(t *testing.T) {
	needBinaries(t)
	if testing.Short() {
		t.Skip("starts a NATS cluster and three chat servers")
	}
	c, err := StartChatCluster(ChatClusterOptions{Users: map[string]string{"alice": "wonderland"}, IRC: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Log(c.Output())
		}
		c.Stop()
	}()

	urls := c.NATS.ClientURLs()
	seen := map[string]bool{}
	for i := range c.Len() {
		addr := c.Addr(i)
		if addr == "" || c.IRCAddr(i) == "" || seen[addr] {
			t.Fatalf("server %d: address %q, IRC %q (seen: %v)", i, addr, c.IRCAddr(i), seen)
		}
		seen[addr] = true
		// Each is its own node, its NATS list starting at another node.
		want := "chat-server: node " + c.Name(i) + " on NATS " + urls[i%len(urls)] + ","
		if out := c.Server(i).Stdout(); !strings.Contains(out, want) {
			t.Errorf("server %d printed no %q:\n%s", i, want, out)
		}
		hello(t, addr)
	}
	// Every server reads the accounts.
	rc := hello(t, c.Addr(0))
	if err := rc.Login("alice", "wonderland", 5*time.Second); err != nil {
		t.Fatalf("login on %s: %v", c.Name(0), err)
	}

	addr, ircAddr := c.Addr(1), c.IRCAddr(1)
	first := c.Server(1)
	if err := c.Kill(1); err != nil {
		t.Fatal(err)
	}
	if _, err := DialRaw(addr); err == nil {
		t.Fatalf("%s still takes connections on %s after Kill", c.Name(1), addr)
	}
	if err := c.Restart(1); err != nil {
		t.Fatal(err)
	}
	if c.Server(1) == first || c.Addr(1) != addr || c.Server(1).Addr != addr || c.Server(1).IRCAddr != ircAddr {
		t.Fatalf("restarted on %s (IRC %s), was on %s (IRC %s)", c.Server(1).Addr, c.Server(1).IRCAddr, addr, ircAddr)
	}
	hello(t, addr)
	if err := c.Restart(1); err == nil {
		t.Error("Restart of a running server did not fail")
	}

	servers := []*Server{c.Server(0), first, c.Server(1), c.Server(2)}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		if !s.hasExited() {
			t.Errorf("pid %d still runs after Stop", s.Pid())
		}
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", c.dir, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

// hello connects to addr and says Hello, closing the connection when the
// test ends.
func hello(t *testing.T, addr string) *RawClient {
	t.Helper()
	rc, err := DialRaw(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	if err := rc.Hello(5 * time.Second); err != nil {
		t.Fatalf("hello %s: %v", addr, err)
	}
	return rc
}
