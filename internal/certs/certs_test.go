package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
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
	missing := filepath.Join(dir, "none.pem")
	garbled := filepath.Join(dir, "garbled.pem")
	os.WriteFile(garbled, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}), 0o644)
	for _, c := range []struct {
		name, cert, key, want string
		is                    error
	}{
		{"missing certificate", missing, keyPath, "cannot read TLS certificate file " + missing + ": no such file or directory", fs.ErrNotExist},
		{"missing key", certPath, missing, "cannot read TLS key file " + missing + ": no such file or directory", fs.ErrNotExist},
		{"key is a directory", certPath, dir, "cannot read TLS key file " + dir + ": is a directory", nil},
		{"key of another certificate", certPath, otherKey, "the TLS key in " + otherKey + " does not belong to the certificate in " + certPath, nil},
		{"a key for a certificate", keyPath, keyPath, "no certificate in " + keyPath, nil},
		{"a certificate for a key", certPath, certPath, "no private key in TLS key file " + certPath, nil},
		{"certificate not DER", garbled, keyPath, "bad TLS certificate or key (" + garbled, nil},
	} {
		_, err := NewStore(c.cert, c.key, nil)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to begin %q", c.name, err, c.want)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v is not %v", c.name, err, c.is)
		}
	}
}

func TestStoreWarnsOfAnExpiredCertificateAndAnOpenKey(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := SelfSigned([]string{"old.example"}, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := WriteFiles(certPath, keyPath, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	os.Chmod(keyPath, 0o640)
	var logged []string
	if _, err := NewStore(certPath, keyPath, func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"warning: TLS key file " + keyPath + " has mode 0640: others may read the server's private key; fix it with: chmod 600 " + keyPath,
		"warning: the TLS certificate in " + certPath + " expired on ",
	}
	if len(logged) != len(want) {
		t.Fatalf("logged %q, want lines beginning %q", logged, want)
	}
	for i := range want {
		if !strings.HasPrefix(logged[i], want[i]) {
			t.Errorf("logged %q, want it to begin %q", logged[i], want[i])
		}
	}
}

func TestFingerprintPEM(t *testing.T) {
	certPEM, keyPEM, err := SelfSigned([]string{"a.example"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	// A key before the certificate, as in a file holding both.
	if got, err := FingerprintPEM(append(keyPEM, certPEM...)); err != nil || got != Fingerprint(block.Bytes) {
		t.Fatalf("FingerprintPEM = %q, %v, want %q", got, err, Fingerprint(block.Bytes))
	}
	if _, err := FingerprintPEM(keyPEM); err == nil {
		t.Fatal("a key alone has a fingerprint")
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
