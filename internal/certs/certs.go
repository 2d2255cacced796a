// Package certs makes, reads and identifies the certificates that TLS
// listeners serve: a self-signed certificate for people without a CA, a
// Store that serves a certificate and key from files and reads them again
// when they change (so a renewed certificate needs no restart), and the
// SHA-256 fingerprint by which a client can pin or remember a server.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrNoCertificate: PEM data meant to hold the certificates of
// authorities holds none.
var ErrNoCertificate = errors.New("no PEM certificate in it")

// Pool returns the certificates in PEM data as a pool of authorities to
// verify servers by, or ErrNoCertificate.
func Pool(pemData []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, ErrNoCertificate
	}
	return pool, nil
}

// SelfSigned makes a self-signed certificate for hosts (names or IP
// addresses), valid from now for the given duration, with a new ECDSA P-256
// key. It returns the certificate and the key, PEM-encoded.
func SelfSigned(hosts []string, valid time.Duration) (certPEM, keyPEM []byte, err error) {
	now := time.Now()
	// A client's clock a little behind still accepts it.
	c, err := Make(Spec{Hosts: hosts, Organization: "chat-server (self-signed)", NotBefore: now.Add(-time.Minute), NotAfter: now.Add(valid)})
	if err != nil {
		return nil, nil, err
	}
	return c.PEM()
}

// Spec says what certificate Make makes.
type Spec struct {
	// Name is the subject's common name (default: the first host).
	Name string
	// Hosts are the names and IP addresses it is for; an authority may
	// have none.
	Hosts        []string
	Organization string // optional
	NotBefore    time.Time
	NotAfter     time.Time
	// IsCA makes an authority, which signs other certificates.
	IsCA bool
	// Signer signs it; nil: it signs itself.
	Signer *Cert
}

// Cert is a certificate Make made and its key.
type Cert struct {
	X509 *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Make makes a certificate as spec says, with a new ECDSA P-256 key: a
// server's (or an authority's) own, or signed by another (tests make
// authorities, expired certificates and certificates for other names).
func Make(spec Spec) (*Cert, error) {
	if len(spec.Hosts) == 0 && !spec.IsCA {
		return nil, errors.New("a certificate needs at least one host name or address")
	}
	if spec.Name == "" && len(spec.Hosts) > 0 {
		spec.Name = spec.Hosts[0]
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("make a serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.Name},
		NotBefore:             spec.NotBefore,
		NotAfter:              spec.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if spec.Organization != "" {
		tmpl.Subject.Organization = []string{spec.Organization}
	}
	if spec.IsCA {
		tmpl.IsCA, tmpl.KeyUsage, tmpl.ExtKeyUsage = true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature, nil
	}
	for _, h := range spec.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	parent, parentKey := tmpl, key
	if spec.Signer != nil {
		parent, parentKey = spec.Signer.X509, spec.Signer.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, fmt.Errorf("make the certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("read the certificate made: %w", err)
	}
	return &Cert{X509: cert, Key: key}, nil
}

// PEM returns the certificate and its key, PEM-encoded.
func (c *Cert) PEM() (certPEM, keyPEM []byte, err error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.X509.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// WriteFiles writes a certificate (mode 0644) and its key (mode 0600, which
// only the owner reads), each replacing the file atomically.
func WriteFiles(certPath, keyPath string, certPEM, keyPEM []byte) error {
	if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	return writeAtomic(certPath, certPEM, 0o644)
}

func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(dirOf(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// Fingerprint is the SHA-256 of a certificate's DER bytes, as
// "SHA256:" and 64 lower-case hex digits: what a client pins or remembers.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// ParseFingerprint accepts a fingerprint as Fingerprint writes it, with or
// without the "SHA256:" prefix, hex digits in either case, with or without
// colons between the bytes (as openssl prints them).
func ParseFingerprint(s string) (string, error) {
	h := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(s, "SHA256:"), "sha256:"))
	h = strings.ReplaceAll(h, ":", "")
	if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("bad fingerprint %q: want SHA256: and 64 hex digits", s)
	}
	return "SHA256:" + h, nil
}

// KeyModeWarning returns a warning when a private key file's mode lets
// group or others read or write it, "" otherwise.
func KeyModeWarning(path string, mode fs.FileMode) string {
	if mode.Perm()&0o066 == 0 {
		return ""
	}
	return fmt.Sprintf("warning: TLS key file %s has mode %04o: others may read the server's private key; fix it with: chmod 600 %s",
		path, mode.Perm(), path)
}

// Store serves a certificate and key read from files. It reads them again
// when either file's modification time or size changes, checked at most
// once per CheckEvery; if the new files are bad it keeps serving the last
// good pair and logs why. It is safe for concurrent use.
type Store struct {
	certPath, keyPath string
	logf              func(string, ...any)

	every time.Duration // CheckEvery; tests shorten it

	mu      sync.Mutex
	pair    *tls.Certificate
	stamp   string // the files' modification times and sizes when read
	checked time.Time
}

// CheckEvery is how often a Store looks at its files for a change.
const CheckEvery = time.Second

// NewStore reads the certificate and key, failing with an error a person
// can act on if they are missing, unreadable, or do not belong together.
func NewStore(certPath, keyPath string, logf func(string, ...any)) (*Store, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Store{certPath: certPath, keyPath: keyPath, logf: logf, every: CheckEvery}
	pair, stamp, err := s.load()
	if err != nil {
		return nil, err
	}
	s.pair, s.stamp, s.checked = pair, stamp, time.Now()
	return s, nil
}

// Certificate returns the pair to serve, read again if the files changed.
// It fits tls.Config.GetCertificate.
func (s *Store) Certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := time.Now(); now.Sub(s.checked) >= s.every {
		s.checked = now
		if stamp, err := s.fileStamp(); err == nil && stamp != s.stamp {
			pair, stamp, err := s.load()
			if err != nil {
				s.logf("TLS certificate not reloaded, still serving the previous one: %v", err)
				s.stamp = stamp // not again until the files change again
			} else {
				s.pair, s.stamp = pair, stamp
				s.logf("TLS certificate reloaded from %s (%s)", s.certPath, Fingerprint(pair.Certificate[0]))
			}
		}
	}
	return s.pair, nil
}

// Fingerprint returns the fingerprint of the certificate served now.
func (s *Store) Fingerprint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Fingerprint(s.pair.Certificate[0])
}

func (s *Store) fileStamp() (string, error) {
	var b strings.Builder
	for _, p := range []string{s.certPath, s.keyPath} {
		st, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%d/%d ", st.ModTime().UnixNano(), st.Size())
	}
	return b.String(), nil
}

// load reads the pair and says what is wrong with it in words a person can
// act on, naming the file at fault.
func (s *Store) load() (*tls.Certificate, string, error) {
	stamp, _ := s.fileStamp()
	certPEM, err := readFile("certificate", s.certPath)
	if err != nil {
		return nil, stamp, err
	}
	keyPEM, err := readFile("key", s.keyPath)
	if err != nil {
		return nil, stamp, err
	}
	if st, err := os.Stat(s.keyPath); err == nil {
		if w := KeyModeWarning(s.keyPath, st.Mode()); w != "" {
			s.logf("%s", w)
		}
	}
	if !hasBlock(certPEM, func(t string) bool { return t == "CERTIFICATE" }) {
		return nil, stamp, fmt.Errorf("no certificate in %s: want a PEM file with a CERTIFICATE block", s.certPath)
	}
	if !hasBlock(keyPEM, func(t string) bool { return strings.HasSuffix(t, "PRIVATE KEY") }) {
		return nil, stamp, fmt.Errorf("no private key in TLS key file %s: want a PEM file with a PRIVATE KEY block", s.keyPath)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return nil, stamp, fmt.Errorf("the TLS key in %s does not belong to the certificate in %s", s.keyPath, s.certPath)
		}
		return nil, stamp, fmt.Errorf("bad TLS certificate or key (%s, %s): %w", s.certPath, s.keyPath, err)
	}
	if pair.Leaf != nil && time.Now().After(pair.Leaf.NotAfter) {
		s.logf("warning: the TLS certificate in %s expired on %s: clients will refuse it; put a renewed one in its place, which is read without a restart", s.certPath, pair.Leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return &pair, stamp, nil
}

// readFile reads a certificate's or key's file. Its error names the file
// once ("cannot read TLS key file /etc/chat.key: permission denied") and
// still answers errors.Is(err, fs.ErrNotExist) and fs.ErrPermission.
func readFile(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read TLS %s file %s: %w", what, path, err)
	}
	return b, nil
}

// hasBlock reports whether data holds a PEM block whose type is wanted.
func hasBlock(data []byte, wanted func(typ string) bool) bool {
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return false
		}
		if wanted(b.Type) {
			return true
		}
	}
}

// FingerprintPEM returns the fingerprint of the first certificate in
// certPEM, the one a server presents.
func FingerprintPEM(certPEM []byte) (string, error) {
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return "", errors.New("no certificate in the PEM data")
		}
		if b.Type == "CERTIFICATE" {
			return Fingerprint(b.Bytes), nil
		}
	}
}
