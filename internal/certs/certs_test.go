package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writePair(t *testing.T, dir, host string) (certPath, keyPath string, der []byte) {
	t.Helper()
	certPEM, keyPEM, err := SelfSigned([]string{host, "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := WriteFiles(certPath, keyPath, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	return certPath, keyPath, block.Bytes
}

func TestSelfSignedServesItsHosts(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, der := writePair(t, dir, "chat.example")
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("chat.example"); err != nil {
		t.Error(err)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := cert.VerifyHostname("other.example"); err == nil {
		t.Error("a host not asked for is accepted")
	}
	if st, _ := os.Stat(keyPath); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	s, err := NewStore(certPath, keyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Fingerprint(), Fingerprint(der); got != want || !strings.HasPrefix(got, "SHA256:") || len(got) != 7+64 {
		t.Fatalf("fingerprint %q, want %q", got, want)
	}
}

func TestStoreErrorsSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, _ := writePair(t, dir, "a.example")
	other := t.TempDir()
	_, otherKey, _ := writePair(t, other, "b.example")
	for _, c := range []struct {
		name, cert, key, want string
	}{
		{"missing certificate", filepath.Join(dir, "none.pem"), keyPath, "cannot read TLS certificate file"},
		{"missing key", certPath, filepath.Join(dir, "none.pem"), "cannot read TLS key file"},
		{"key of another certificate", certPath, otherKey, "does not belong to the certificate"},
		{"not a certificate", keyPath, keyPath, "bad TLS certificate or key"},
	} {
		if _, err := NewStore(c.cert, c.key, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestStoreReloadsChangedFilesAndKeepsAGoodPair(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, der1 := writePair(t, dir, "a.example")
	var logged []string
	s, err := NewStore(certPath, keyPath, func(f string, a ...any) { logged = append(logged, f) })
	if err != nil {
		t.Fatal(err)
	}
	s.every = 0
	_, _, der2 := writePair(t, dir, "b.example")
	pair, _ := s.Certificate(&tls.ClientHelloInfo{})
	if Fingerprint(pair.Certificate[0]) != Fingerprint(der2) || Fingerprint(der1) == Fingerprint(der2) {
		t.Fatal("the renewed certificate is not served")
	}
	os.WriteFile(keyPath, []byte("garbage"), 0o600)
	pair, _ = s.Certificate(&tls.ClientHelloInfo{})
	if Fingerprint(pair.Certificate[0]) != Fingerprint(der2) {
		t.Fatal("a bad key file replaced the good pair")
	}
	if len(logged) != 2 || !strings.Contains(logged[1], "not reloaded") {
		t.Fatalf("logged %q", logged)
	}
}

func TestKeyModeWarningAndParseFingerprint(t *testing.T) {
	if KeyModeWarning("k", 0o600) != "" || KeyModeWarning("k", 0o644) == "" {
		t.Error("key mode warning")
	}
	fp := "SHA256:" + strings.Repeat("ab", 32)
	for _, in := range []string{fp, strings.ToUpper(fp[7:]), strings.Repeat("AB:", 31) + "AB"} {
		if got, err := ParseFingerprint(in); err != nil || got != fp {
			t.Errorf("ParseFingerprint(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFingerprint("SHA256:abc"); err == nil {
		t.Error("a short fingerprint is accepted")
	}
}
