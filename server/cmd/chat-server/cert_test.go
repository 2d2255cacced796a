package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"chat/internal/certs"
)

func TestCertCommand(t *testing.T) {
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "my server.crt"), filepath.Join(dir, "my.key")
	code, out, errs := runCmd(t, "", "cert", "-host", "chat.example", "-host", "127.0.0.1", "-cert", crt, "-key", key, "-days", "30")
	if code != 0 || errs != "" {
		t.Fatalf("cert: exit %d, stderr %q", code, errs)
	}
	for path, mode := range map[string]os.FileMode{crt: 0o644, key: 0o600} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v, mode %v, want %v", path, err, st.Mode().Perm(), mode)
		}
	}
	certPEM, _ := os.ReadFile(crt)
	fingerprint, err := certs.FingerprintPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	lineMatching(t, lines, `^chat-server: wrote certificate `+regexp.QuoteMeta(crt)+` and key `+regexp.QuoteMeta(key)+
		` \(mode 0600\) for chat.example, 127.0.0.1, valid until \d{4}-\d\d-\d\d$`)
	if m := lineMatching(t, lines, `^chat-server: certificate (\S+)$`); m[1] != fingerprint {
		t.Fatalf("printed fingerprint %s, the file's is %s", m[1], fingerprint)
	}
	serveLine := lineMatching(t, lines, `^chat-server: serve with: (.*)$`)[1]
	if want := "chat-server -tls-cert '" + crt + "' -tls-key " + key; serveLine != want {
		t.Fatalf("serve with %q, want %q", serveLine, want)
	}
	block, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.VerifyHostname("chat.example") != nil || leaf.VerifyHostname("127.0.0.1") != nil {
		t.Fatalf("certificate names %v %v", leaf.DNSNames, leaf.IPAddresses)
	}
	if days := time.Until(leaf.NotAfter).Hours() / 24; days < 29.9 || days > 30.1 {
		t.Fatalf("valid for %.1f days, want 30", days)
	}

	// Existing files are kept unless -force.
	for _, args := range [][]string{{"-cert", crt, "-key", filepath.Join(dir, "new.key")}, {"-cert", filepath.Join(dir, "new.crt"), "-key", key}} {
		code, _, errs := runCmd(t, "", append([]string{"cert", "-host", "other.example"}, args...)...)
		if code != 1 || !strings.Contains(errs, " exists, not replaced (replace it with -force") {
			t.Fatalf("cert over an existing file %v: exit %d, %q", args, code, errs)
		}
	}
	if again, _ := os.ReadFile(crt); string(again) != string(certPEM) {
		t.Fatal("a refused cert command changed the certificate")
	}
	if _, err := os.Stat(filepath.Join(dir, "new.key")); err == nil {
		t.Fatal("a refused cert command wrote a key")
	}
	if code, _, errs := runCmd(t, "", "cert", "-host", "other.example", "-cert", crt, "-key", key, "-force"); code != 0 {
		t.Fatalf("cert -force: exit %d, %q", code, errs)
	}
	if again, _ := os.ReadFile(crt); string(again) == string(certPEM) {
		t.Fatal("cert -force kept the old certificate")
	}

	for _, args := range [][]string{
		{},                                   // no host
		{"-host", "a b"},                     // not a host name
		{"-host", "a.example", "-days", "0"}, // not valid for a day
		{"-host", "a.example", "-days", "x"},
		{"-host", "a.example", "extra"},
		{"-host", "a.example", "-cert", "same", "-key", "same"},
	} {
		code, out, errs := runCmd(t, "", append([]string{"cert", "-cert", filepath.Join(dir, "u.crt"), "-key", filepath.Join(dir, "u.key")}, args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, "usage: chat-server cert -host NAME") {
			t.Errorf("cert %q: exit %d, stdout %q, stderr %q; want a usage error", args, code, out, errs)
		}
	}
}

// TestBinaryServesWhatCertWrote runs the cert command in a directory with
// its defaults and then the server with the command line it printed.
func TestBinaryServesWhatCertWrote(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "cert", "-host", "localhost")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cert: %v %s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	fingerprint := lineMatching(t, lines, `^chat-server: certificate (\S+)$`)[1]
	args := strings.Fields(lineMatching(t, lines, `^chat-server: serve with: chat-server (.*)$`)[1])
	if !slices.Equal(args, []string{"-tls-cert", defaultCertFile, "-tls-key", defaultKeyFile}) {
		t.Fatalf("serve with %q", args)
	}
	srv := exec.Command(bin, append(args, "-addr", "127.0.0.1:0", "-users", testUsers(t))...)
	srv.Dir = dir
	s := startReady(t, srv)
	if m := lineMatching(t, s.before, fingerprintLine); m[1] != fingerprint || !s.tls {
		t.Fatalf("served %s (TLS %v), cert printed %s", m[1], s.tls, fingerprint)
	}
	if got, err := servedFingerprint(s.addr); err != nil || got != fingerprint {
		t.Fatalf("served %s (%v), want %s", got, err, fingerprint)
	}
}
