package client

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"chat/internal/certs"
)

// testCert is a certificate made for a test, with its key.
type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	tls  tls.Certificate // for a tls.Config; the chain up to, not including, the root
}

// makeCert makes a certificate for hosts valid from nb to na, signed by
// parent (nil: by itself). isCA makes an authority.
func makeCert(t testing.TB, cn string, hosts []string, nb, na time.Time, parent *testCert, isCA bool) *testCert {
	t.Helper()
	spec := certs.Spec{Name: cn, Hosts: hosts, NotBefore: nb, NotAfter: na, IsCA: isCA}
	if parent != nil {
		spec.Signer = &certs.Cert{X509: parent.cert, Key: parent.key}
	}
	made, err := certs.Make(spec)
	if err != nil {
		t.Fatal(err)
	}
	c, key := made.X509, made.Key
	tc := &testCert{cert: c, key: key, tls: tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: key, Leaf: c}}
	if parent != nil && parent.cert.CheckSignatureFrom(parent.cert) != nil {
		// An intermediate: the server shows it after its own.
		tc.tls.Certificate = append(tc.tls.Certificate, parent.tls.Certificate...)
	}
	return tc
}

func (c *testCert) fp() string { return certs.Fingerprint(c.cert.Raw) }

func (c *testCert) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// chainOf is what a server shows: its certificate and intermediates.
func chainOf(c *testCert) []*x509.Certificate {
	var chain []*x509.Certificate
	for _, der := range c.tls.Certificate {
		x, _ := x509.ParseCertificate(der)
		chain = append(chain, x)
	}
	return chain
}

var (
	hour = time.Hour
	now  = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
)

// selfSigned is a server certificate like the ones chat-server makes.
func selfSigned(t testing.TB, hosts ...string) *testCert {
	return makeCert(t, hosts[0], hosts, now.Add(-hour), now.Add(24*hour), nil, false)
}

func TestVerify(t *testing.T) {
	ca := makeCert(t, "Test CA", nil, now.Add(-hour), now.Add(100*hour), nil, true)
	otherCA := makeCert(t, "Other CA", nil, now.Add(-hour), now.Add(100*hour), nil, true)
	inter := makeCert(t, "Intermediate", nil, now.Add(-hour), now.Add(100*hour), ca, true)
	signed := makeCert(t, "chat.example", []string{"chat.example"}, now.Add(-hour), now.Add(24*hour), ca, false)
	renewed := makeCert(t, "chat.example", []string{"chat.example"}, now.Add(-hour), now.Add(48*hour), ca, false)
	viaInter := makeCert(t, "chat.example", []string{"chat.example"}, now.Add(-hour), now.Add(24*hour), inter, false)
	expired := makeCert(t, "chat.example", []string{"chat.example"}, now.Add(-48*hour), now.Add(-24*hour), ca, false)
	early := makeCert(t, "chat.example", []string{"chat.example"}, now.Add(24*hour), now.Add(48*hour), ca, false)
	otherName := makeCert(t, "elsewhere", []string{"elsewhere.example", "10.0.0.1"}, now.Add(-hour), now.Add(24*hour), ca, false)
	self := selfSigned(t, "chat.example", "127.0.0.1")
	self2 := selfSigned(t, "chat.example", "127.0.0.1")
	selfExpired := makeCert(t, "chat.example", []string{"chat.example"}, now.Add(-48*hour), now.Add(-24*hour), nil, false)

	base := check{addr: "chat.example:7777", host: "chat.example", now: now, knownFile: "/home/u/.config/chat/known_servers"}
	withCA := func(ck check, c *testCert) check { ck.ca, ck.caFile = c.pool(), "ca.pem"; return ck }
	pinned := func(ck check, fp string) check { ck.pin = fp; return ck }
	known := func(ck check, entries ...knownEntry) check { ck.known = entries; return ck }
	ran := func(ck check, id identity) check { ck.run = id; return ck }
	accepted := func(ck check, fp string) check { ck.accepted = fp; return ck }

	tests := []struct {
		name  string
		check check
		cert  *testCert
		want  identity   // when trusted
		kind  *trustKind // when not
		text  string     // in the error's text
	}{
		{name: "signed by -tls-ca", check: withCA(base, ca), cert: signed, want: identity{signed.fp(), true}},
		{name: "through an intermediate", check: withCA(base, ca), cert: viaInter, want: identity{viaInter.fp(), true}},
		{name: "-tls-ca is the server's own certificate", check: withCA(base, self), cert: self, want: identity{self.fp(), true}},
		{name: "signed by another authority", check: withCA(base, otherCA), cert: signed, kind: ptr(trustUnknownCA), text: "is not signed by the authority in ca.pem"},
		{name: "self-signed, with -tls-ca", check: withCA(base, ca), cert: self, kind: ptr(trustUnknownCA), text: "issued by chat.example"},
		{name: "expired", check: withCA(base, ca), cert: expired, kind: ptr(trustExpired), text: "expired on " + whenText(now.Add(-24*hour))},
		{name: "not valid yet", check: withCA(base, ca), cert: early, kind: ptr(trustExpired), text: "valid only from " + whenText(now.Add(24*hour))},
		{name: "made for other names", check: withCA(base, ca), cert: otherName, kind: ptr(trustWrongHost), text: "is for elsewhere.example, 10.0.0.1, not for chat.example"},

		{name: "pinned", check: pinned(base, self.fp()), cert: self, want: identity{fingerprint: self.fp()}},
		{name: "pinned: nothing else is checked", check: pinned(base, selfExpired.fp()), cert: selfExpired, want: identity{fingerprint: selfExpired.fp()}},
		{name: "pinned, another certificate", check: pinned(base, self2.fp()), cert: self, kind: ptr(trustPinMismatch), text: self.fp() + ", not " + self2.fp()},

		{name: "self-signed, unknown: ask", check: base, cert: self, kind: ptr(trustUnknown), text: self.fp()},
		{name: "self-signed, known", check: known(base, knownEntry{"chat.example:7777", self.fp(), 3}), cert: self, want: identity{fingerprint: self.fp()}},
		{name: "self-signed, one of two known", check: known(base, knownEntry{"chat.example:7777", self2.fp(), 2}, knownEntry{"chat.example:7777", self.fp(), 5}), cert: self, want: identity{fingerprint: self.fp()}},
		{name: "self-signed, known as another", check: known(base, knownEntry{"chat.example:7777", self2.fp(), 3}), cert: self, kind: ptr(trustChanged), text: "not " + self2.fp()},
		{name: "self-signed, accepted in this run", check: accepted(base, self.fp()), cert: self, want: identity{fingerprint: self.fp()}},
		{name: "self-signed, expired", check: base, cert: selfExpired, kind: ptr(trustExpired)},
		{name: "self-signed, for another host", check: base, cert: selfSigned(t, "elsewhere.example"), kind: ptr(trustWrongHost)},

		{name: "reconnection, the same certificate", check: ran(base, identity{fingerprint: self.fp()}), cert: self, want: identity{fingerprint: self.fp()}},
		{name: "reconnection, another certificate", check: ran(base, identity{fingerprint: self.fp()}), cert: self2, kind: ptr(trustChanged), text: self2.fp() + ", not " + self.fp()},
		{name: "reconnection, another certificate even if known", check: known(ran(base, identity{fingerprint: self.fp()}), knownEntry{"chat.example:7777", self2.fp(), 1}), cert: self2, kind: ptr(trustChanged)},
		{name: "reconnection after an authority, a renewed certificate", check: ran(withCA(base, ca), identity{signed.fp(), true}), cert: renewed, want: identity{renewed.fp(), true}},
		{name: "reconnection after an authority, a self-signed certificate", check: known(ran(base, identity{signed.fp(), true}), knownEntry{"chat.example:7777", self.fp(), 1}), cert: self, kind: ptr(trustChanged), text: "signed by no authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ck := tt.check
			got, err := ck.verify(chainOf(tt.cert))
			if tt.kind == nil {
				if err != nil || got != tt.want {
					t.Fatalf("verify = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			var te *trustError
			if !errors.As(err, &te) {
				t.Fatalf("verify = %+v, %v; want a trust error of kind %d", got, err, *tt.kind)
			}
			if te.kind != *tt.kind || !strings.Contains(te.text, tt.text) || te.fingerprint != tt.cert.fp() {
				t.Errorf("error kind %d %q (fingerprint %s); want kind %d containing %q", te.kind, te.text, te.fingerprint, *tt.kind, tt.text)
			}
			if strings.Contains(te.text, "\n") {
				t.Errorf("a message of more than one line: %q", te.text)
			}
		})
	}
}

// TestVerifyChangedNamesTheLine checks that a changed certificate says
// where the trusted one is written, for the person to remove.
func TestVerifyChangedNamesTheLine(t *testing.T) {
	self, self2 := selfSigned(t, "chat.example"), selfSigned(t, "chat.example")
	ck := check{addr: "chat.example:7777", host: "chat.example", now: now, knownFile: "/k",
		known: []knownEntry{{"chat.example:7777", self2.fp(), 4}}}
	_, err := ck.verify(chainOf(self))
	te, ok := err.(*trustError)
	if !ok || te.kind != trustChanged || te.want != self2.fp() || te.knownLine != 4 || te.knownFile != "/k" {
		t.Fatalf("verify = %#v", err)
	}
	// The same, met in this run after the known one.
	ck.run = identity{fingerprint: self2.fp()}
	_, err = ck.verify(chainOf(self))
	if te, ok := err.(*trustError); !ok || te.knownLine != 4 {
		t.Fatalf("verify after the run's first handshake = %#v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestHandshakeFate(t *testing.T) {
	tests := []struct {
		err  error
		want fate
		text string
	}{
		{&trustError{kind: trustUnknown, text: "unknown"}, fateAsk, "unknown"},
		{&trustError{kind: trustChanged, text: "changed"}, fateChanged, "changed"},
		{&trustError{kind: trustExpired, text: "expired"}, fateStop, "expired"},
		{&trustError{kind: trustWrongHost, text: "names"}, fateStop, "names"},
		{&trustError{kind: trustUnknownCA, text: "ca"}, fateStop, "ca"},
		{&trustError{kind: trustPinMismatch, text: "pin"}, fateStop, "pin"},
		{fmt.Errorf("wrapped: %w", &trustError{kind: trustChanged}), fateChanged, ""},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, fateNotTLS, "h:1 does not speak TLS: connect without tls://"},
		{io.EOF, fateRetry, "closed the connection during the TLS handshake"},
		{io.ErrUnexpectedEOF, fateRetry, "closed the connection during the TLS handshake"},
		{net.ErrClosed, fateRetry, ""},
		{syscall.ECONNRESET, fateRetry, "connection reset by peer"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: protocol version not supported")}, fateStop, "protocol version not supported"},
		{errors.New("tls: server selected unsupported protocol version 300"), fateStop, "server selected unsupported protocol version"},
	}
	for _, tt := range tests {
		if got := handshakeFate(tt.err); got != tt.want {
			t.Errorf("handshakeFate(%v) = %d, want %d", tt.err, got, tt.want)
		}
		if got := handshakeText("h:1", tt.err); !strings.Contains(got, tt.text) {
			t.Errorf("handshakeText(%v) = %q, want it to contain %q", tt.err, got, tt.text)
		}
	}
}
