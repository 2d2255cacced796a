package e2e_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"chat/harness"
	"chat/internal/certs"
)

// Helpers of the specs of the client over TLS: certificates made for a
// spec (an authority and what it signs, expired ones, ones for other
// names), servers that serve them, and clients that speak TLS.

// tlsAuthority is a certificate authority made for a spec.
type tlsAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its certificate, PEM: what -tls-ca takes
}

// newAuthority makes an authority called name.
func newAuthority(name string) *tlsAuthority {
	GinkgoHelper()
	cert, key, der := makeCertificate(name, nil, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), nil, true)
	file := filepath.Join(GinkgoT().TempDir(), "ca.pem")
	Expect(os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)).To(Succeed())
	return &tlsAuthority{cert: cert, key: key, file: file}
}

// issue makes a server certificate for hosts, valid for a day, signed by
// the authority.
func (a *tlsAuthority) issue(hosts ...string) harness.Cert {
	GinkgoHelper()
	return certificateFiles(hosts, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), a)
}

// selfSignedFor makes a self-signed server certificate for hosts, valid
// from notBefore to notAfter.
func selfSignedFor(notBefore, notAfter time.Time, hosts ...string) harness.Cert {
	GinkgoHelper()
	return certificateFiles(hosts, notBefore, notAfter, nil)
}

// certificateFiles writes a certificate signed by signer (nil: by itself)
// and its key into a new directory.
func certificateFiles(hosts []string, notBefore, notAfter time.Time, signer *tlsAuthority) harness.Cert {
	GinkgoHelper()
	_, key, der := makeCertificate(hosts[0], hosts, notBefore, notAfter, signer, false)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	dir := GinkgoT().TempDir()
	c := harness.Cert{CertFile: filepath.Join(dir, "server.crt"), KeyFile: filepath.Join(dir, "server.key"), Fingerprint: certs.Fingerprint(der)}
	Expect(certs.WriteFiles(c.CertFile, c.KeyFile,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))).To(Succeed())
	return c
}

func makeCertificate(cn string, hosts []string, notBefore, notAfter time.Time, signer *tlsAuthority, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	GinkgoHelper()
	spec := certs.Spec{Name: cn, Hosts: hosts, NotBefore: notBefore, NotAfter: notAfter, IsCA: isCA}
	if signer != nil {
		spec.Signer = &certs.Cert{X509: signer.cert, Key: signer.key}
	}
	made, err := certs.Make(spec)
	Expect(err).NotTo(HaveOccurred())
	return made.X509, made.Key, made.X509.Raw
}

// startTLSServer starts a server with the usual accounts serving cert
// over TLS on its address, and args.
func startTLSServer(cert harness.Cert, args ...string) *harness.Server {
	GinkgoHelper()
	return startServer(accounts, append([]string{"-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile}, args...)...)
}

// startSelfSignedServer starts a server over TLS with the certificate the
// harness makes for localhost and 127.0.0.1 (Server.Cert), and args.
func startSelfSignedServer(args ...string) *harness.Server {
	GinkgoHelper()
	srv, err := harness.StartServer(harness.ServerOptions{Users: accounts, Args: args, Dir: GinkgoT().TempDir(), TLS: true})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		srv.Kill()
		if CurrentSpecReport().Failed() {
			AddReportEntry("server output", srv.Output())
		}
	})
	return srv
}

// knownServersFile is a known-servers file for one spec, in a directory
// the client has to create: no spec touches the user's own.
func knownServersFile() string {
	GinkgoHelper()
	return filepath.Join(GinkgoT().TempDir(), "chat", "known_servers")
}

// startTLSClient runs a rooms client connected to tls://addr, with flags
// (which say how it trusts the server), and waits until it has connected.
func startTLSClient(addr string, flags ...string) *harness.Terminal {
	GinkgoHelper()
	term := startClientProcess(append(append([]string{}, flags...), "tls://"+addr)...)
	awaitConnected(term, addr)
	return term
}

// pinnedClient is startTLSClient trusting exactly srv's certificate.
func pinnedClient(srv *harness.Server) *harness.Terminal {
	GinkgoHelper()
	return startTLSClient(srv.Addr, "-tls-fingerprint", srv.Cert.Fingerprint)
}

// refusedWith waits for the client's one-line report that it cannot
// connect to addr, and why, then for its exit with status 1. It checks
// the report came once: the client did not try again.
func refusedWith(term *harness.Terminal, addr, why string) {
	GinkgoHelper()
	re := client(`cannot connect to ` + regexp.QuoteMeta(addr) + `: ` + why + `; not retrying, exiting\n`)
	expect(term, re)
	exitsWith(term, 1)
	Expect(count(term.Output(), `cannot connect to `)).To(Equal(1), "the client tried again:\n%s", term.Output())
}

// exitsWith waits for the client to exit with code, and checks that it
// left the terminal cooked.
func exitsWith(term *harness.Terminal, code int) {
	GinkgoHelper()
	got, err := term.Wait(deadline)
	Expect(err).NotTo(HaveOccurred())
	Expect(got).To(Equal(code), "exit status; screen:\n%s", term.Tail(2000))
	terminalCooked(term)
}

// terminalCooked checks that the client left its terminal with echo and
// line editing on, as it found it.
func terminalCooked(term *harness.Terminal) {
	GinkgoHelper()
	tio, err := term.Termios()
	Expect(err).NotTo(HaveOccurred())
	Expect(tio.Lflag&(unix.ECHO|unix.ICANON)).To(Equal(uint32(unix.ECHO|unix.ICANON)), "the terminal was left raw")
}
