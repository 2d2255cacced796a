package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"chat/internal/certs"
	"chat/internal/wireconn"
)

// testPair is a certificate and key written for a test, and the
// certificate's fingerprint.
type testPair struct {
	cert, key, fingerprint string
}

// writeTestPair writes a self-signed certificate for localhost and
// 127.0.0.1, valid for valid from now (negative: expired), into dir.
func writeTestPair(t *testing.T, dir string, valid time.Duration) testPair {
	t.Helper()
	certPEM, keyPEM, err := certs.SelfSigned([]string{"localhost", "127.0.0.1"}, valid)
	if err != nil {
		t.Fatal(err)
	}
	p := testPair{cert: filepath.Join(dir, "server.crt"), key: filepath.Join(dir, "server.key")}
	if err := certs.WriteFiles(p.cert, p.key, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	if p.fingerprint, err = certs.FingerprintPEM(certPEM); err != nil {
		t.Fatal(err)
	}
	return p
}

// trusting is a TLS client's configuration that trusts only p's
// certificate, as issued to localhost.
func trusting(t *testing.T, p testPair) *tls.Config {
	t.Helper()
	pemBytes, err := os.ReadFile(p.cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in " + p.cert)
	}
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// pinning is a TLS client's configuration that accepts the one
// certificate whose fingerprint is pin, as a client that remembers a
// self-signed server does.
func pinning(pin string) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // the fingerprint is the check
		VerifyConnection: func(cs tls.ConnectionState) error {
			if got := certs.Fingerprint(cs.PeerCertificates[0].Raw); got != pin {
				return fmt.Errorf("server certificate %s, want %s", got, pin)
			}
			return nil
		},
	}
}

// servedFingerprint makes a TLS handshake with addr and returns the
// fingerprint of the certificate the server presented.
func servedFingerprint(addr string) (string, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return certs.Fingerprint(c.ConnectionState().PeerCertificates[0].Raw), nil
}

// testUsers writes a users file holding alice with password "wonderland".
func testUsers(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "users.db")
	if code, _, errs := runCmd(t, "wonderland\n", "useradd", "-users", db, "alice"); code != 0 {
		t.Fatalf("useradd: %d %s", code, errs)
	}
	return db
}

// wireLogin logs alice in over the chat protocol, over TLS if cfg is set.
func wireLogin(t *testing.T, addr string, cfg *tls.Config, password string) {
	t.Helper()
	c, err := wireconn.Dial(addr, wireconn.Options{TLS: cfg, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("tls_test", 10*time.Second); err != nil {
		t.Fatalf("hello on %s: %v", addr, err)
	}
	if err := c.Login("alice", password, 10*time.Second); err != nil {
		t.Fatalf("login on %s: %v", addr, err)
	}
}

var fingerprintLine = `^chat-server: TLS certificate (SHA256:[0-9a-f]{64})$`

func TestTLSFlagsPlaceTheListeners(t *testing.T) {
	withCert := []string{"-tls-cert", "c.pem", "-tls-key", "k.pem"}
	for _, c := range []struct {
		name                          string
		args                          []string
		addr, tlsAddr, ircTLS, errSay string
	}{
		{"no TLS", []string{"-addr", ":1"}, ":1", "", "", ""},
		{"TLS on -addr", append([]string{"-addr", ":1"}, withCert...), "", ":1", "", ""},
		{"TLS on the port argument", append(slices.Clone(withCert), "4242"), "", ":4242", "", ""},
		{"TLS beside plain", append([]string{"-addr", ":1", "-tls-addr", ":2"}, withCert...), ":1", ":2", "", ""},
		{"IRC over TLS alone", append([]string{"-addr", ":1", "-tls-addr", "", "-irc-tls", ":3"}, withCert...), ":1", "", ":3", ""},
		{"IRC over TLS and TLS on -addr", append([]string{"-addr", ":1", "-irc-tls", ":3"}, withCert...), "", ":1", ":3", ""},
		{"demo on -addr", []string{"-demo", "-addr", ":1"}, "", ":1", "", ""},
		{"demo plain", []string{"-demo", "-addr", ":1", "-tls-addr", ""}, ":1", "", "", ""},
		{"no TLS, -tls-addr empty", []string{"-addr", ":1", "-tls-addr", ""}, ":1", "", "", ""},
		{"certificate without key", []string{"-tls-cert", "c.pem"}, "", "", "", "-tls-cert and -tls-key go together"},
		{"key without certificate", []string{"-tls-key", "k.pem"}, "", "", "", "-tls-cert and -tls-key go together"},
		{"-tls-addr without certificate", []string{"-tls-addr", ":2"}, "", "", "", "-tls-addr needs a certificate"},
		{"-irc-tls without certificate", []string{"-irc-tls", ":3"}, "", "", "", "-irc-tls needs a certificate"},
		{"certificate with nothing to serve", append([]string{"-tls-addr", ""}, withCert...), "", "", "", "-tls-addr '' without -irc-tls leaves the certificate no TLS listener"},
	} {
		var stderr strings.Builder
		cfg, _, code, ok := parseServe(c.args, &stderr)
		if c.errSay != "" {
			if ok || code != 2 || !strings.HasPrefix(stderr.String(), "chat-server: "+c.errSay) || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("%s: ok %v code %d, stderr %q; want exit 2 and one line %q", c.name, ok, code, stderr.String(), c.errSay)
			}
			continue
		}
		if !ok || cfg.Addr != c.addr || cfg.TLSAddr != c.tlsAddr || cfg.IRCTLSAddr != c.ircTLS {
			t.Errorf("%s: ok %v, Addr %q TLSAddr %q IRCTLSAddr %q; want %q %q %q (%s)",
				c.name, ok, cfg.Addr, cfg.TLSAddr, cfg.IRCTLSAddr, c.addr, c.tlsAddr, c.ircTLS, stderr.String())
		}
	}
}

func TestBinaryServesTLSOnAddr(t *testing.T) {
	bin := buildBinary(t)
	pair := writeTestPair(t, t.TempDir(), time.Hour)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-users", testUsers(t), "-tls-cert", pair.cert, "-tls-key", pair.key)
	s := startReady(t, cmd)
	if !s.tls {
		t.Fatalf("the ready line does not say (TLS); lines before it: %q", s.before)
	}
	if m := lineMatching(t, s.before, fingerprintLine); m[1] != pair.fingerprint {
		t.Fatalf("fingerprint line %s, the certificate's is %s", m[1], pair.fingerprint)
	}
	if got, err := servedFingerprint(s.addr); err != nil || got != pair.fingerprint {
		t.Fatalf("served %s (%v), want %s", got, err, pair.fingerprint)
	}
	wireLogin(t, s.addr, trusting(t, pair), "wonderland")
}

func TestBinaryTLSAddrBesidePlainAddr(t *testing.T) {
	bin := buildBinary(t)
	pair := writeTestPair(t, t.TempDir(), time.Hour)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-tls-addr", "127.0.0.1:0", "-users", testUsers(t),
		"-tls-cert", pair.cert, "-tls-key", pair.key)
	s := startReady(t, cmd)
	if s.tls {
		t.Fatal("the ready line says (TLS) for the plain listener")
	}
	tlsAddr := lineMatching(t, s.before, `^chat-server: TLS listening on (\S+)$`)[1]
	if tlsAddr == s.addr {
		t.Fatalf("the TLS listener has the plain one's address %s", tlsAddr)
	}
	if m := lineMatching(t, s.before, fingerprintLine); m[1] != pair.fingerprint {
		t.Fatalf("fingerprint line %s, the certificate's is %s", m[1], pair.fingerprint)
	}
	wireLogin(t, s.addr, nil, "wonderland")
	wireLogin(t, tlsAddr, trusting(t, pair), "wonderland")
}

func TestBinaryIRCOverTLS(t *testing.T) {
	bin := buildBinary(t)
	pair := writeTestPair(t, t.TempDir(), time.Hour)
	// As the harness starts it: IRC over TLS, the chat protocol plain.
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-tls-addr", "", "-irc-tls", "127.0.0.1:0", "-users", testUsers(t),
		"-tls-cert", pair.cert, "-tls-key", pair.key)
	s := startReady(t, cmd)
	if s.tls {
		t.Fatal("the ready line says (TLS) with -tls-addr ''")
	}
	want := []*regexp.Regexp{regexp.MustCompile(`^chat-server: IRC TLS listening on (\S+)$`), regexp.MustCompile(fingerprintLine)}
	if len(s.before) != len(want) || !want[0].MatchString(s.before[0]) || !want[1].MatchString(s.before[1]) {
		t.Fatalf("lines before the ready line: %q, want /%s/ then /%s/", s.before, want[0], want[1])
	}
	ircAddr := want[0].FindStringSubmatch(s.before[0])[1]
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ircAddr, trusting(t, pair))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "PASS wonderland\r\nNICK alice\r\nUSER alice 0 * :Alice\r\n")
	var seen []string
	for sc := bufio.NewScanner(c); sc.Scan(); {
		if seen = append(seen, sc.Text()); strings.Contains(sc.Text(), " 001 alice ") {
			return
		}
	}
	t.Fatalf("no welcome (001) over IRC TLS; got %q", seen)
}

// TestBinaryReloadsRenewedCertificate replaces the certificate and key
// files under a running server and waits for a new connection to be
// served the new certificate, without a restart.
func TestBinaryReloadsRenewedCertificate(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	old := writeTestPair(t, dir, time.Hour)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-users", testUsers(t), "-tls-cert", old.cert, "-tls-key", old.key)
	log := captureStderr(t, cmd)
	s := startReady(t, cmd)
	if got, err := servedFingerprint(s.addr); err != nil || got != old.fingerprint {
		t.Fatalf("served %s (%v), want %s", got, err, old.fingerprint)
	}
	renewed := writeTestPair(t, dir, 2*time.Hour) // the same paths
	// The server looks at the files at most once per certs.CheckEvery.
	deadline := time.Now().Add(certs.CheckEvery + 10*time.Second)
	var seen []string
	for {
		got, err := servedFingerprint(s.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got == renewed.fingerprint {
			break
		}
		if seen = append(seen, got); time.Now().After(deadline) {
			t.Fatalf("the renewed certificate %s is not served; served %q", renewed.fingerprint, seen)
		}
		<-time.After(50 * time.Millisecond) // a pace for the handshakes, not a wait for the server
	}
	log.waitLine(t, "TLS certificate reloaded from "+old.cert+" ("+renewed.fingerprint+")")
	wireLogin(t, s.addr, trusting(t, renewed), "wonderland")
}

func TestTLSFileErrors(t *testing.T) {
	users := testUsers(t)
	dir := t.TempDir()
	pair := writeTestPair(t, dir, time.Hour)
	other := writeTestPair(t, t.TempDir(), time.Hour)
	missing := filepath.Join(dir, "missing.key")
	unreadable := filepath.Join(dir, "unreadable.key")
	// A directory where the key should be is unreadable as a file even by
	// root, who reads any file whatever its mode.
	if err := os.Mkdir(unreadable, 0o700); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, cert, key, want string
	}{
		{"missing certificate", missing, pair.key, "chat-server: cannot read TLS certificate file " + missing + ": no such file or directory (check -tls-cert and -tls-key, or make a self-signed pair with: chat-server cert -host NAME)"},
		{"missing key", pair.cert, missing, "chat-server: cannot read TLS key file " + missing + ": no such file or directory (check -tls-cert and -tls-key, or make a self-signed pair with: chat-server cert -host NAME)"},
		{"unreadable key", pair.cert, unreadable, "chat-server: cannot read TLS key file " + unreadable + ": is a directory (give a PEM certificate and the key it was made with, or make a self-signed pair with: chat-server cert -host NAME)"},
		{"key of another certificate", pair.cert, other.key, "chat-server: the TLS key in " + other.key + " does not belong to the certificate in " + pair.cert + " (give a PEM certificate and the key it was made with, or make a self-signed pair with: chat-server cert -host NAME)"},
	}
	if os.Geteuid() != 0 {
		noRead := filepath.Join(dir, "no-read.key")
		data, _ := os.ReadFile(pair.key)
		if err := os.WriteFile(noRead, data, 0o200); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ name, cert, key, want string }{"key without read permission", pair.cert, noRead,
			"chat-server: cannot read TLS key file " + noRead + ": permission denied (let the user that runs chat-server read it)"})
	}
	for _, c := range cases {
		code, out, errs := runCmd(t, "", "-addr", "127.0.0.1:0", "-users", users, "-tls-cert", c.cert, "-tls-key", c.key)
		if code != 1 || errs != c.want+"\n" || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and %q", c.name, code, out, errs, c.want)
		}
	}
	// The binary exits with the same status and line.
	bin := buildBinary(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-users", users, "-tls-cert", pair.cert)
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.HasPrefix(string(out), "chat-server: -tls-cert and -tls-key go together") {
		t.Fatalf("certificate without -tls-key: exit %d (%v), output %q; want exit 2", code, err, out)
	}
	cmd = exec.Command(bin, "-addr", "127.0.0.1:0", "-users", users, "-tls-cert", pair.cert, "-tls-key", missing)
	out, err = cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 || string(out) != cases[1].want+"\n" {
		t.Fatalf("missing key: exit %d (%v), output %q; want exit 1 and %q", code, err, out, cases[1].want)
	}
}

func TestBinaryWarnsAboutKeyModeAndExpiredCertificate(t *testing.T) {
	bin := buildBinary(t)
	pair := writeTestPair(t, t.TempDir(), -time.Hour)
	if err := os.Chmod(pair.key, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-users", testUsers(t), "-tls-cert", pair.cert, "-tls-key", pair.key)
	errs := captureStderr(t, cmd)
	startReady(t, cmd)
	want := "warning: TLS key file " + pair.key + " has mode 0644: others may read the server's private key; fix it with: chmod 600 " + pair.key
	if line := errs.waitLine(t, "warning: TLS key file"); !strings.HasSuffix(line, want) {
		t.Fatalf("warning line %q, want it to end with %q", line, want)
	}
	expired := regexp.MustCompile(`warning: the TLS certificate in ` + regexp.QuoteMeta(pair.cert) + ` expired on \d{4}-\d\d-\d\d: clients will refuse it`)
	if line := errs.waitLine(t, "expired"); !expired.MatchString(line) {
		t.Fatalf("expiry line %q, want /%s/", line, expired)
	}
}

// TestListenFailureNamesTheFlag: an address in use is reported with the
// flag that moves that listener.
func TestListenFailureNamesTheFlag(t *testing.T) {
	users := testUsers(t)
	pair := writeTestPair(t, t.TempDir(), time.Hour)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	for _, c := range []struct {
		args     []string
		flagName string
	}{
		{[]string{"-addr", busy}, "-addr HOST:PORT or PORT"},
		{[]string{"-addr", "127.0.0.1:0", "-tls-addr", busy}, "-tls-addr HOST:PORT"},
		{[]string{"-addr", "127.0.0.1:0", "-irc-tls", busy}, "-irc-tls HOST:PORT"},
	} {
		args := append([]string{"-users", users, "-tls-cert", pair.cert, "-tls-key", pair.key}, c.args...)
		code, _, errs := runCmd(t, "", args...)
		want := "chat-server: cannot listen on " + busy + ": address already in use (is another server running there? choose another with " + c.flagName + ")\n"
		if code != 1 || errs != want {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and %q", c.args, code, errs, want)
		}
	}
}
