package e2e_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// Hostile peers of a TLS listener: handshakes begun and never finished
// are bounded as connections that never say Hello are, while a pair over
// TLS talks.
var _ = Describe("Hostile peers of a TLS listener", Label("tls"), func() {
	It("keeps serving a TLS pair while 1,000 handshakes are begun and never finished, and closes them at the Hello deadline [S0.1 S0.25]", func() {
		const halfOpen = 1000
		srv, err := harness.StartServer(harness.ServerOptions{Users: accounts, Dir: GinkgoT().TempDir(), TLS: true,
			Args: []string{"-guests", "-msg-rate", "-1", "-hello-timeout", "3s"}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			srv.Kill()
			if CurrentSpecReport().Failed() {
				AddReportEntry("server output", srv.Output())
			}
		})
		cfg := trustingConfig(srv)
		pair := newHostilePairOn(func() *harness.RawClient {
			c, err := harness.DialRawTLS(srv.Addr, cfg)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(c.Close)
			return c
		}, "lounge")

		m := measureAttack(srv, "1,000 TLS handshakes begun and never finished")
		hello := clientHelloBytes(cfg)
		conns := make([]net.Conn, 0, halfOpen)
		DeferCleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		opened := time.Now()
		for i := range halfOpen {
			c, err := net.Dial("tcp", srv.Addr)
			Expect(err).NotTo(HaveOccurred(), "connection %d", i)
			conns = append(conns, c)
			// Part of a ClientHello: the handshake waits for the rest.
			_, err = c.Write(hello[:1+i%(len(hello)-1)])
			Expect(err).NotTo(HaveOccurred())
		}
		pair.exchange(50, "among half-open handshakes")
		m.record(pair.probe(20, "probe among half-open handshakes", nil)...)
		m.done()

		// Each is closed once the Hello deadline passes, not before.
		buf := make([]byte, 4096)
		for i, c := range conns {
			Expect(c.SetReadDeadline(time.Now().Add(2 * deadline))).To(Succeed())
			for {
				_, err := c.Read(buf)
				if err == nil {
					continue
				}
				var ne net.Error
				Expect(errors.As(err, &ne) && ne.Timeout()).To(BeFalse(), "half-open handshake %d still open", i)
				break
			}
		}
		Expect(time.Since(opened)).To(BeNumerically(">=", 3*time.Second), "closed before the Hello deadline")
		pair.exchange(10, "after the half-open handshakes were closed")
	})
})

// trustingConfig is a TLS client configuration that trusts srv's
// certificate, for raw clients.
func trustingConfig(srv *harness.Server) *tls.Config {
	GinkgoHelper()
	pem, err := os.ReadFile(srv.Cert.CertFile)
	Expect(err).NotTo(HaveOccurred())
	roots := x509.NewCertPool()
	Expect(roots.AppendCertsFromPEM(pem)).To(BeTrue())
	return &tls.Config{RootCAs: roots, ServerName: "localhost"}
}

// clientHelloBytes returns the first flight of a TLS client with cfg.
func clientHelloBytes(cfg *tls.Config) []byte {
	GinkgoHelper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, cfg.Clone()).Handshake()
	buf := make([]byte, 8192)
	n, err := b.Read(buf)
	Expect(err).NotTo(HaveOccurred())
	return buf[:n]
}
