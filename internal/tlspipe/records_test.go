package tlspipe

import (
	"bytes"
	"crypto/tls"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestServerTakesOverTLS13RecordsAndKeepsCryptoTLSFor12(t *testing.T) {
	pr := newPair(t, nil)
	pr.shake(0)
	if pr.server.tc != nil || pr.server.rd == nil {
		t.Fatal("a TLS 1.3 server Pipe kept crypto/tls's connection after the handshake")
	}
	if pr.client.tc == nil {
		t.Fatal("a client Pipe let crypto/tls's connection go")
	}

	server, client := testTLS()
	old := client.Clone()
	old.MaxVersion = tls.VersionTLS12
	pr = newPairWith(t, &Config{TLS: server}, old)
	pr.shake(0)
	if pr.server.State().Version != tls.VersionTLS12 || pr.server.tc == nil {
		t.Fatalf("TLS 1.2: version %x, crypto/tls kept %v", pr.server.State().Version, pr.server.tc != nil)
	}
	pr.client.Write([]byte("over TLS 1.2"), nil)
	move(t, pr.client, pr.server, 0)
	if got, err := readAll(t, pr.server); err != nil || string(got) != "over TLS 1.2" {
		t.Fatalf("read %q, %v", got, err)
	}
}

// handPlayedPair is an established pair whose client logged its secrets:
// the test plays the client's side by hand with the returned cipher, the
// client's application traffic protection.
func handPlayedPair(t *testing.T) (*pair, *recordCipher) {
	t.Helper()
	server, _ := testTLS()
	client, secret := keyLogged()
	pr := newPairWith(t, &Config{TLS: server}, client)
	pr.shake(0)
	move(t, pr.server, pr.client, 0) // the session ticket
	readAll(t, pr.client)
	own, err := newRecordCipher(pr.server.State().CipherSuite, secret("CLIENT_TRAFFIC_SECRET_0"))
	if err != nil {
		t.Fatal(err)
	}
	return pr, own
}

// keyLogged returns a client configuration that logs its secrets, and a
// function that returns the one logged under a label.
func keyLogged() (*tls.Config, func(label string) []byte) {
	_, client := testTLS()
	c := client.Clone()
	c.ClientSessionCache = nil
	var mu sync.Mutex
	lines := &strings.Builder{}
	c.KeyLogWriter = writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return lines.Write(b)
	})
	return c, func(label string) []byte {
		mu.Lock()
		defer mu.Unlock()
		k := &keyLog{hs: &handshakeState{}}
		for _, line := range strings.Split(lines.String(), "\n") {
			if strings.HasPrefix(line, label+" ") {
				k.Write([]byte(line))
				return k.hs.clientSecret
			}
		}
		return nil
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// A KeyUpdate from the client changes the server's keys for reading, and,
// when asked for, its keys for writing too, announced with a KeyUpdate of
// its own that crypto/tls's client follows.
func TestKeyUpdate(t *testing.T) {
	pr, own := handPlayedPair(t)
	var wire []byte
	wire, _ = own.seal(wire, recordApplication, []byte("before"))
	wire, _ = own.seal(wire, recordHandshake, []byte{handshakeKeyUpdate, 0, 0, 1, 1})
	own.update()
	wire, _ = own.seal(wire, recordApplication, []byte(" after"))
	pr.server.Feed(wire)
	if got, err := readAll(t, pr.server); err != nil || string(got) != "before after" {
		t.Fatalf("server read %q, %v", got, err)
	}
	if pr.server.Pending() == 0 {
		t.Fatal("the server did not answer a KeyUpdate that asked for one")
	}
	pr.server.Write([]byte("with new keys"), nil)
	move(t, pr.server, pr.client, 0)
	if got, err := readAll(t, pr.client); err != nil || string(got) != "with new keys" {
		t.Fatalf("client read %q, %v", got, err)
	}
}

func TestTrimDropsCiphersOfQuietPipes(t *testing.T) {
	pr := newPair(t, nil)
	pr.shake(0)
	send := func(msg string) {
		t.Helper()
		pr.client.Write([]byte(msg), nil)
		move(t, pr.client, pr.server, 0)
		if got, err := readAll(t, pr.server); err != nil || string(got) != msg {
			t.Fatalf("read %q, %v", got, err)
		}
		pr.server.Write([]byte(msg), nil)
		move(t, pr.server, pr.client, 0)
		if got, err := readAll(t, pr.client); err != nil || string(got) != msg {
			t.Fatalf("client read %q, %v", got, err)
		}
	}
	send("busy")
	pr.server.Trim() // used since the last: kept
	if pr.server.rd.aead == nil || pr.server.wr.aead == nil {
		t.Fatal("Trim dropped the ciphers of a busy Pipe")
	}
	// Quiet since: dropped, and said so.
	if n := pr.server.Trim(); n < 2*cipherBytes {
		t.Fatalf("Trim let go of %d bytes, want at least two ciphers' %d", n, 2*cipherBytes)
	}
	if pr.server.rd.aead != nil || pr.server.wr.aead != nil {
		t.Fatal("Trim kept the ciphers of a quiet Pipe")
	}
	if n := pr.server.Trim(); n != 0 {
		t.Fatalf("a second Trim let go of %d bytes more", n)
	}
	send("quiet no more")
}

func TestAlertsEndTheStream(t *testing.T) {
	for _, tc := range []struct {
		alert   []byte
		wantEOF bool
	}{{[]byte{1, 0}, true}, {[]byte{2, 40}, false}, {[]byte{1}, false}} {
		pr, own := handPlayedPair(t)
		rec, _ := own.seal(nil, recordAlert, tc.alert)
		pr.server.Feed(rec)
		_, err := readAll(t, pr.server)
		if (err == io.EOF) != tc.wantEOF || err == nil {
			t.Errorf("alert %v: %v", tc.alert, err)
		}
	}
}

// detachedPair is a reading Pipe and the cipher that writes to it, with a
// made-up secret: records without a handshake, for fuzzing.
func detachedPair(t testing.TB, suite uint16) (*Pipe, *recordCipher) {
	secret := bytes.Repeat([]byte{7}, 48)
	rd, err := newRecordCipher(suite, secret)
	if err != nil {
		t.Fatal(err)
	}
	wr, _ := newRecordCipher(suite, secret)
	p := &Pipe{rd: rd, wr: wr, done: true, started: true}
	p.wake.L = &p.mu
	return p, wr
}

// FuzzOwnRecords feeds a Pipe that protects its own records what a peer
// may send: records sealed right and cut anywhere, which must read back
// exactly, and bytes of any kind, which must end in an error or nothing,
// never a panic or content no one sealed.
func FuzzOwnRecords(f *testing.F) {
	f.Add([]byte("hello"), []byte{3, 9}, false, uint8(0))
	f.Add(bytes.Repeat([]byte("y"), 40000), []byte{200}, false, uint8(2))
	f.Add([]byte("\x17\x03\x03\x00\x05abcde"), []byte{}, true, uint8(1))
	suites := []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}
	f.Fuzz(func(t *testing.T, data, cuts []byte, raw bool, suite uint8) {
		p, wr := detachedPair(t, suites[int(suite)%len(suites)])
		stream := data
		if !raw {
			stream = nil
			for rest := data; len(rest) > 0 || len(stream) == 0; {
				chunk := rest[:min(len(rest), maxPlaintext)]
				rest = rest[len(chunk):]
				stream, _ = wr.seal(stream, recordApplication, chunk)
				if len(rest) == 0 {
					break
				}
			}
		}
		var got []byte
		var readErr error
		buf := make([]byte, 1000)
		for i := 0; len(stream) > 0 && readErr == nil; i++ {
			n := len(stream)
			if len(cuts) > 0 {
				n = min(n, int(cuts[i%len(cuts)])+1)
			}
			p.Feed(stream[:n])
			stream = stream[n:]
			for {
				k, err := p.Read(buf)
				got = append(got, buf[:k]...)
				if err != nil {
					readErr = err
					break
				}
				if k == 0 {
					break
				}
			}
		}
		if !raw && (readErr != nil || !bytes.Equal(got, data)) {
			t.Fatalf("sealed %d bytes, read %d (%v)", len(data), len(got), readErr)
		}
		if raw && len(got) > 0 {
			t.Fatalf("bytes no one sealed read as %q", got)
		}
	})
}
