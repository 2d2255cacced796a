package tlspipe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/internal/certs"
)

// testTLS returns a server and a client configuration that trust each
// other, made once per test binary.
var testTLS = sync.OnceValues(func() (*tls.Config, *tls.Config) {
	certPEM, keyPEM, err := certs.SelfSigned([]string{"chat.test"}, time.Hour)
	if err != nil {
		panic(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	server := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	client := &tls.Config{RootCAs: roots, ServerName: "chat.test", MinVersion: tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	return server, client
})

// pair is a client and a server Pipe joined by a test that plays both
// loops: pump moves each side's ciphertext to the other.
type pair struct {
	t              *testing.T
	client, server *Pipe
	notified       chan uint64
}

func newPair(t *testing.T, gate *Gate) *pair {
	t.Helper()
	server, client := testTLS()
	return newPairWith(t, &Config{TLS: server, Gate: gate}, client)
}

// newPairWith is newPair with a server Config (its Notify is set here)
// and a client configuration of the test's.
func newPairWith(t *testing.T, server *Config, client *tls.Config) *pair {
	t.Helper()
	pr := &pair{t: t, notified: make(chan uint64, 64)}
	notify := func(tag uint64) {
		select {
		case pr.notified <- tag:
		default:
		}
	}
	server.Notify = notify
	pr.server = NewServer(server, 1)
	pr.client = NewClient(&Config{TLS: client, Notify: notify}, 2)
	t.Cleanup(func() { pr.server.Close(); pr.client.Close() })
	return pr
}

// move flushes from's ciphertext into to, cut into pieces of at most cut
// bytes (all at once if cut is 0).
func move(t *testing.T, from, to *Pipe, cut int) {
	t.Helper()
	var buf []byte
	from.Flush(func(b []byte) (int, error) { buf = append(buf, b...); return len(b), nil })
	for len(buf) > 0 {
		n := len(buf)
		if cut > 0 {
			n = min(n, cut)
		}
		if err := to.Feed(buf[:n]); err != nil {
			t.Fatalf("feed: %v", err)
		}
		buf = buf[n:]
	}
}

// shake pumps until both handshakes end, and fails the test if either
// failed.
func (pr *pair) shake(cut int) {
	pr.t.Helper()
	deadline := time.After(10 * time.Second)
	for !ready(pr.client) || !ready(pr.server) {
		move(pr.t, pr.client, pr.server, cut)
		move(pr.t, pr.server, pr.client, cut)
		if done, err := pr.client.Handshake(); done && err != nil {
			pr.t.Fatalf("client handshake: %v", err)
		}
		if done, err := pr.server.Handshake(); done && err != nil {
			pr.t.Fatalf("server handshake: %v", err)
		}
		select {
		case <-pr.notified:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			pr.t.Fatal("handshake did not end")
		}
	}
}

// ready reports whether p's handshake ended well.
func ready(p *Pipe) bool {
	done, err := p.Handshake()
	return done && err == nil
}

// readAll decrypts everything whole that p holds.
func readAll(t *testing.T, p *Pipe) ([]byte, error) {
	t.Helper()
	var got []byte
	buf := make([]byte, 100)
	for {
		n, err := p.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil || n == 0 {
			return got, err
		}
	}
}

func TestPipesHandshakeAndCarryBothWays(t *testing.T) {
	for _, cut := range []int{0, 1, 7, 300} {
		pr := newPair(t, nil)
		pr.shake(cut)
		if v := pr.server.State().Version; v != tls.VersionTLS13 {
			t.Errorf("version %x, want TLS 1.3", v)
		}
		for _, msg := range []string{"hello", strings.Repeat("x", 40000), "after a big one"} {
			if err := pr.client.Write([]byte(msg), nil); err != nil {
				t.Fatal(err)
			}
			move(t, pr.client, pr.server, cut)
			got, err := readAll(t, pr.server)
			if err != nil || string(got) != msg {
				t.Fatalf("cut %d: server read %d bytes (%v), want %d", cut, len(got), err, len(msg))
			}
			if err := pr.server.Write([]byte(msg), nil); err != nil {
				t.Fatal(err)
			}
			move(t, pr.server, pr.client, cut)
			if got, err := readAll(t, pr.client); err != nil || string(got) != msg {
				t.Fatalf("cut %d: client read %d bytes (%v), want %d", cut, len(got), err, len(msg))
			}
		}
	}
}

func TestPartialRecordWaitsForItsRest(t *testing.T) {
	pr := newPair(t, nil)
	pr.shake(0)
	pr.client.Write([]byte("split across reads"), nil)
	var rec []byte
	pr.client.Flush(func(b []byte) (int, error) { rec = append(rec, b...); return len(b), nil })
	pr.server.Feed(rec[:len(rec)-1])
	if got, err := readAll(t, pr.server); err != nil || len(got) != 0 {
		t.Fatalf("a partial record read as %q, %v", got, err)
	}
	pr.server.Feed(rec[len(rec)-1:])
	if got, err := readAll(t, pr.server); err != nil || string(got) != "split across reads" {
		t.Fatalf("read %q, %v", got, err)
	}
}

func TestCloseNotifyAndEOFEndTheStream(t *testing.T) {
	pr := newPair(t, nil)
	pr.shake(0)
	pr.client.Write([]byte("last words"), nil)
	if err := pr.client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	move(t, pr.client, pr.server, 0)
	got, err := readAll(t, pr.server)
	if string(got) != "last words" || err != io.EOF {
		t.Fatalf("read %q, %v; want the words and io.EOF", got, err)
	}

	// A bare end of stream between records is an end too.
	pr = newPair(t, nil)
	pr.shake(0)
	pr.server.FeedEOF()
	if _, err := readAll(t, pr.server); err != io.EOF {
		t.Fatalf("after EOF: %v, want io.EOF", err)
	}
}

func TestTamperedRecordIsAnError(t *testing.T) {
	pr := newPair(t, nil)
	pr.shake(0)
	pr.client.Write([]byte("do not touch"), nil)
	var rec []byte
	pr.client.Flush(func(b []byte) (int, error) { rec = append(rec, b...); return len(b), nil })
	rec[len(rec)-3] ^= 1
	pr.server.Feed(rec)
	if got, err := readAll(t, pr.server); err == nil || len(got) != 0 {
		t.Fatalf("tampered record read as %q, %v", got, err)
	}
}

func TestPlainBytesOnAServerPipe(t *testing.T) {
	server, _ := testTLS()
	p := NewServer(&Config{TLS: server, Notify: func(uint64) {}}, 1)
	defer p.Close()
	if err := p.Feed([]byte("\x00\x00\x00\x10hello")); !errors.Is(err, ErrNotTLS) {
		t.Fatalf("plain bytes: %v, want ErrNotTLS", err)
	}
	if p.started {
		t.Fatal("a handshake started on plain bytes")
	}
}

func TestCloseEndsAWaitingHandshake(t *testing.T) {
	pr := newPair(t, nil)
	<-pr.notified // the ClientHello is written
	var hello []byte
	pr.client.Flush(func(b []byte) (int, error) { hello = append(hello, b...); return len(b), nil })
	pr.server.Feed(hello[:10]) // part of it only: the server waits for the rest
	pr.server.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if done, err := pr.server.Handshake(); done {
			if err == nil {
				t.Fatal("handshake succeeded after Close")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the handshake goroutine did not end after Close")
		}
		<-pr.notified
	}
}

func TestGateBoundsComputingHandshakes(t *testing.T) {
	gate := NewGate(1)
	pairs := make([]*pair, 8)
	for i := range pairs {
		pairs[i] = newPair(t, gate)
	}
	for _, pr := range pairs {
		pr.shake(0)
	}
	if n := len(gate.tokens); n != 0 {
		t.Fatalf("%d tokens held after every handshake ended", n)
	}
}

func TestSessionResumption(t *testing.T) {
	// One server configuration for both connections, as a server has:
	// its session ticket keys are its own.
	server, client := testTLS()
	serverCfg := &Config{TLS: server}
	pr := newPairWith(t, serverCfg, client)
	pr.shake(0)
	// The server's session ticket is read after the handshake.
	move(t, pr.server, pr.client, 0)
	readAll(t, pr.client)
	pr = newPairWith(t, serverCfg, client)
	pr.shake(0)
	if !pr.client.State().DidResume || !pr.server.State().DidResume {
		t.Fatal("the second handshake did not resume the first session")
	}
	pr.client.Write([]byte("resumed"), nil)
	move(t, pr.client, pr.server, 0)
	if got, err := readAll(t, pr.server); err != nil || string(got) != "resumed" {
		t.Fatalf("over the resumed session the server read %q, %v", got, err)
	}
}
