package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"chat/internal/wire"
	"chat/server/hub"
)

// clusterXfer: two servers on one NATS, alice (the requester) logged in
// on one and bob (the owner) on two.
type clusterXfer struct {
	one, two   *startedServer
	alice, bob *client
}

func newClusterXfer(t *testing.T, tc hub.TransferConfig) *clusterXfer {
	t.Helper()
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder"})
	return newClusterXferOn(t, startNATS(t, t.TempDir(), 0).ClientURL(), users, tc)
}

// newClusterXferOn is newClusterXfer on the NATS at url, with the users
// file users.
func newClusterXferOn(t *testing.T, url, users string, tc hub.TransferConfig) *clusterXfer {
	t.Helper()
	cfg := Config{NATS: []string{url}, UsersFile: users, Transfer: tc}
	cfg.ServerName = "one"
	x := &clusterXfer{one: start(t, cfg)}
	cfg.ServerName = "two"
	x.two = start(t, cfg)
	x.alice, x.bob = dial(t, x.one.Addr()), dial(t, x.two.Addr())
	if r := x.alice.login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("alice: %+v", r)
	}
	if r := x.bob.login("bob", "builder"); r.Code != wire.OK {
		t.Fatalf("bob: %+v", r)
	}
	waitFor(t, "bob on two, seen from one", func() bool {
		return len(x.alice.call(&wire.Frame{Type: wire.TypeWho}).Users) == 2
	})
	return x
}

// fetch has alice ask bob for file across the servers and returns the
// token bob was offered.
func (x *clusterXfer) fetch(t *testing.T, file string) string {
	t.Helper()
	r := x.alice.call(&wire.Frame{Type: wire.TypeFetch, To: "bob", Name: file})
	if r.Code != wire.OK || r.Token == "" || r.Text != "asking bob for "+file {
		t.Fatalf("fetch: %+v", r)
	}
	o := x.bob.must()
	if o.Type != wire.TypeFileOffer || o.From != "alice" || o.Name != file || o.Token != r.Token {
		t.Fatalf("offer: %+v", o)
	}
	return r.Token
}

// forgotten waits until neither server has a transfer under way.
func (x *clusterXfer) forgotten(t *testing.T) {
	t.Helper()
	waitFor(t, "both servers to forget the transfer", func() bool {
		return x.one.transfers() == 0 && x.two.transfers() == 0
	})
}

// fileStream is what an owner's client sends: a FileHeader, the file, a
// FileEnd with its SHA-256.
func fileStream(name string, data []byte) []byte {
	sum := sha256.Sum256(data)
	b := wire.Encode(&wire.Frame{Type: wire.TypeFileHeader, Name: name, Count: uint64(len(data))})
	b = append(b, data...)
	return append(b, wire.Encode(&wire.Frame{Type: wire.TypeFileEnd, Text: hex.EncodeToString(sum[:])})...)
}

// checkFileStream reads a requester's stream as its client does and
// checks the file and its digest.
func checkFileStream(t *testing.T, got []byte, name string, data []byte) {
	t.Helper()
	body, rest, err := wire.Split(got)
	var h wire.Frame
	if err != nil || body == nil || wire.Unmarshal(body, &h) != nil || h.Type != wire.TypeFileHeader || h.Name != name || h.Count != uint64(len(data)) {
		t.Fatalf("the stream does not start with the header: %v %+v", err, h)
	}
	if uint64(len(rest)) < h.Count || !bytes.Equal(rest[:h.Count], data) {
		t.Fatalf("got %d bytes of the file (sha %x), want %d (sha %x)", min(uint64(len(rest)), h.Count), sha256.Sum256(rest[:min(uint64(len(rest)), h.Count)]), len(data), sha256.Sum256(data))
	}
	body, rest, err = wire.Split(rest[h.Count:])
	var e wire.Frame
	if err != nil || body == nil || wire.Unmarshal(body, &e) != nil || e.Type != wire.TypeFileEnd || len(rest) != 0 {
		t.Fatalf("the stream does not end with FileEnd alone: %v %+v, %d bytes after", err, e, len(rest))
	}
	if sum := sha256.Sum256(data); e.Text != hex.EncodeToString(sum[:]) {
		t.Fatalf("digest %s, want %x", e.Text, sum)
	}
}

// countFdsOutside counts the process's descriptors but the files under
// dir: the NATS server's, which keeps the streams' files open.
func countFdsOutside(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); !strings.HasPrefix(l, dir+"/") {
			n++
		}
	}
	return n
}

// goroutinesOutsideNATS counts the goroutines but the NATS server's,
// which runs some for each stream and consumer the chat servers made.
func goroutinesOutsideNATS() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "nats-io/nats-server/") {
			n++
		}
	}
	return n
}

// A file moves from an owner on one server to a requester on another,
// byte for byte with its header and digest, whichever side attaches
// first, and both servers forget the transfer once it is over; nothing
// is left of it on either (descriptors, goroutines).
func TestClusterRelayTransfer(t *testing.T) {
	warmUp(t)
	natsDir := t.TempDir()
	url := startNATS(t, natsDir, 0).ClientURL()
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder"})
	fdsBefore, goBefore := countFdsOutside(t, natsDir), goroutinesOutsideNATS()
	func() {
		x := newClusterXferOn(t, url, users, hub.TransferConfig{})
		for _, tc := range []struct {
			name       string
			size       int
			ownerFirst bool
		}{
			{"empty", 0, false},
			{"8MiB requester first", 8 << 20, false},
			{"8MiB owner first streaming", 8 << 20, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				token := x.fetch(t, "report.pdf")
				data := randomBytes(tc.size, uint64(tc.size)+1)
				var req, own *dataClient
				var sent <-chan error
				if tc.ownerFirst {
					own = attach(t, x.two.Addr(), token, wire.RoleOwner)
					sent = own.sendAndClose(fileStream("report.pdf", data))
					req = attach(t, x.one.Addr(), token, wire.RoleRequester)
					req.expectReply(wire.OK, "waiting for report.pdf from bob")
				} else {
					req = attach(t, x.one.Addr(), token, wire.RoleRequester)
					req.expectReply(wire.OK, "waiting for report.pdf from bob")
					own = attach(t, x.two.Addr(), token, wire.RoleOwner)
					own.expectReply(wire.OK, "send report.pdf to alice")
					sent = own.sendAndClose(fileStream("report.pdf", data))
				}
				got, err := req.readAll()
				if err != nil {
					t.Fatalf("requester: %v", err)
				}
				req.conn.Close()
				if err := <-sent; err != nil {
					t.Fatalf("owner: %v", err)
				}
				checkFileStream(t, got, "report.pdf", data)
				own.expectClosed()
				// Nothing more for alice: the transfer ended normally.
				if r := x.alice.call(&wire.Frame{Type: wire.TypePing}); r.Code != wire.OK {
					t.Fatalf("ping: %+v", r)
				}
				x.forgotten(t)
			})
		}
		if q := x.two.relay.maxUnacked.Load(); q > pipeWindow {
			t.Fatalf("two sent %d bytes not acknowledged; the window is %d", q, pipeWindow)
		}
		if x.one.relay.acks.Load() == 0 {
			t.Fatal("one acknowledged nothing")
		}
		x.alice.conn.Close()
		x.bob.conn.Close()
		x.one.stop(t)
		x.two.stop(t)
	}()
	waitFor(t, "descriptors to be released", func() bool { return countFdsOutside(t, natsDir) <= fdsBefore })
	waitFor(t, "goroutines to end", func() bool { return goroutinesOutsideNATS() <= goBefore })
}

// The owner's data connection resets in the middle of the stream: the
// requester gets the FileFailed it would get on one server, its data
// connection is closed, and both servers forget the transfer. So does a
// refusal, and the owner leaving.
func TestClusterRelayBreaks(t *testing.T) {
	x := newClusterXfer(t, hub.TransferConfig{})
	t.Run("owner resets", func(t *testing.T) {
		token := x.fetch(t, "movie.mkv")
		req := attach(t, x.one.Addr(), token, wire.RoleRequester)
		req.expectReply(wire.OK, "")
		own := attach(t, x.two.Addr(), token, wire.RoleOwner)
		own.expectReply(wire.OK, "")
		if _, err := own.conn.Write(randomBytes(300<<10, 3)); err != nil {
			t.Fatal(err)
		}
		// The first bytes reach the requester, then the owner's
		// connection resets.
		var first [1]byte
		if _, err := req.conn.Read(first[:]); err != nil {
			t.Fatal(err)
		}
		own.conn.(*net.TCPConn).SetLinger(0)
		own.conn.Close()
		expectFailed(x.alice, wire.ErrOwnerGone, "the transfer of movie.mkv broke off: bob's data connection closed")
		if got, _ := req.readAll(); len(got) >= 300<<10 {
			t.Fatalf("the requester got all %d bytes", len(got)+1)
		}
		x.forgotten(t)
	})
	t.Run("requester closes", func(t *testing.T) {
		token := x.fetch(t, "movie.mkv")
		req := attach(t, x.one.Addr(), token, wire.RoleRequester)
		req.expectReply(wire.OK, "")
		own := attach(t, x.two.Addr(), token, wire.RoleOwner)
		own.expectReply(wire.OK, "")
		req.conn.Close()
		expectFailed(x.alice, wire.ErrUnavailable, "your data connection for movie.mkv closed before the transfer finished")
		own.expectClosed()
		x.forgotten(t)
	})
	t.Run("refused", func(t *testing.T) {
		token := x.fetch(t, "missing.txt")
		req := attach(t, x.one.Addr(), token, wire.RoleRequester)
		req.expectReply(wire.OK, "")
		if r := x.bob.call(&wire.Frame{Type: wire.TypeRefuse, Token: token, Code: wire.ErrNoSuchFile}); r.Code != wire.OK {
			t.Fatalf("refuse: %+v", r)
		}
		f := expectFailed(x.alice, wire.ErrNoSuchFile, "bob has no file named missing.txt")
		if f.From != "bob" || f.Token != token {
			t.Fatalf("file failed: %+v", f)
		}
		req.expectClosed()
		x.forgotten(t)
	})
	t.Run("owner leaves", func(t *testing.T) {
		token := x.fetch(t, "movie.mkv")
		req := attach(t, x.one.Addr(), token, wire.RoleRequester)
		req.expectReply(wire.OK, "")
		own := attach(t, x.two.Addr(), token, wire.RoleOwner)
		own.expectReply(wire.OK, "")
		x.bob.conn.Close()
		expectFailed(x.alice, wire.ErrOwnerGone, "bob left before sending movie.mkv")
		req.expectClosed()
		own.expectClosed()
		x.forgotten(t)
	})
}

// The window holds the owner back when the requester does not read: the
// owner's server stops reading it once it has sent a window that the
// requester's server has not acknowledged, so the owner's writes block,
// and neither server queues more than the window; once the requester
// reads, the whole file arrives.
func TestClusterRelayWindow(t *testing.T) {
	x := newClusterXfer(t, hub.TransferConfig{})
	token := x.fetch(t, "big.bin")
	req := attach(t, x.one.Addr(), token, wire.RoleRequester)
	req.expectReply(wire.OK, "")
	own := attach(t, x.two.Addr(), token, wire.RoleOwner)
	own.expectReply(wire.OK, "")
	data := randomBytes(64<<20, 9)
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		for off := 0; off < len(data); off += 64 << 10 {
			n, err := own.conn.Write(data[off : off+64<<10])
			written.Add(int64(n))
			if err != nil {
				done <- err
				return
			}
		}
		done <- own.conn.CloseWrite()
	}()
	waitFor(t, "the owner to be paused at the window", func() bool {
		return x.two.relay.pauses.Load() > 0 && x.two.relay.maxUnacked.Load() >= pipeWindow
	})
	if w := written.Load(); w == int64(len(data)) {
		t.Fatalf("the owner wrote all %d bytes to a requester that reads nothing", w)
	}
	if q := x.two.relay.maxUnacked.Load(); q > pipeWindow {
		t.Fatalf("two sent %d bytes not acknowledged; the window is %d", q, pipeWindow)
	}
	if q := x.one.relay.maxQueued.Load(); q > pipeWindow {
		t.Fatalf("one queued %d bytes for the requester; the window is %d", q, pipeWindow)
	}
	got, err := req.readAll()
	if err != nil {
		t.Fatal(err)
	}
	req.conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("owner: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d", len(got), len(data))
	}
	if q := x.two.relay.maxUnacked.Load(); q > pipeWindow {
		t.Fatalf("two sent %d bytes not acknowledged; the window is %d", q, pipeWindow)
	}
	if q := x.one.relay.maxQueued.Load(); q > pipeWindow {
		t.Fatalf("one queued %d bytes for the requester; the window is %d", q, pipeWindow)
	}
	t.Logf("owner paused %d times; %d acknowledgements", x.two.relay.pauses.Load(), x.one.relay.acks.Load())
	x.forgotten(t)
}

// NATS goes away in the middle of a transfer between servers: the path is
// broken, whichever server finds it first (a send refused, or the other
// server silent past PeerTimeout); the requester is told so, and both
// data connections are closed.
func TestClusterRelayNATSGoes(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder"})
	x := newClusterXferOn(t, ns.ClientURL(), users, hub.TransferConfig{Heartbeat: 50 * time.Millisecond, PeerTimeout: 500 * time.Millisecond})
	token := x.fetch(t, "movie.mkv")
	req := attach(t, x.one.Addr(), token, wire.RoleRequester)
	req.expectReply(wire.OK, "")
	own := attach(t, x.two.Addr(), token, wire.RoleOwner)
	own.expectReply(wire.OK, "")
	if _, err := own.conn.Write(randomBytes(100<<10, 5)); err != nil {
		t.Fatal(err)
	}
	var first [1]byte
	if _, err := req.conn.Read(first[:]); err != nil {
		t.Fatal(err)
	}
	ns.Shutdown()
	f := x.alice.must()
	if f.Type != wire.TypeFileFailed || (f.Code != wire.ErrOwnerGone && f.Code != wire.ErrUnavailable) || !strings.HasPrefix(f.Text, "the transfer of movie.mkv broke off: ") {
		t.Fatalf("alice's FileFailed: %+v", f)
	}
	t.Logf("alice was told: %s", f.Text)
	req.expectClosed()
	own.expectClosed()
	x.forgotten(t)
}
