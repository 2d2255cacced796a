package loadgen

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"chat/internal/certs"
	"chat/internal/wireconn"
)

// With -tls every connection loadgen makes is a TLS client's: the stable
// sessions, churn sessions, reconnects and probes alike. Each process
// builds one *tls.Config for its run (clientConfig), shared by all its
// connections, so that its one ClientSessionCache lets a reconnect resume
// the session an earlier handshake made instead of doing a full one.

// TLSOptions are a run's TLS settings, as they travel to the child
// processes (JSON): each builds its own *tls.Config from them.
type TLSOptions struct {
	// CAPEM holds the certificates (PEM) the server's must chain to: the
	// spawned server's own self-signed certificate, or -tls-ca's file.
	// Empty: the system's roots.
	CAPEM []byte
	// ServerName is the name the server's certificate is verified for;
	// empty: the host of the run's address.
	ServerName string
	// Resume lets a handshake resume a session (a TLS 1.3 ticket) that an
	// earlier connection of the same process was given, as a returning
	// client does. Without it every handshake is a full one.
	Resume bool
}

// clientConfig builds a process's TLS client configuration for the server
// at addr. Build it once per process and share it: its session cache is
// what makes resumption work across connections.
func (o *TLSOptions) clientConfig(addr string) (*tls.Config, error) {
	name := o.ServerName
	if name == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("TLS server name from %q: %w", addr, err)
		}
		name = host
	}
	cfg := &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12}
	if len(o.CAPEM) > 0 {
		pool, err := certs.Pool(o.CAPEM)
		if err != nil {
			return nil, fmt.Errorf("the certificates to verify the server by: %w", err)
		}
		cfg.RootCAs = pool
	}
	if o.Resume {
		// The cache is keyed by server name, which every connection of
		// the run shares: one entry, the latest ticket, which each new
		// handshake offers. A cache per session would model distinct
		// clients more closely, at the price of a ticket and its state
		// held for each of thousands of sessions; the server's cost of a
		// resumption is the same either way, since its tickets are
		// stateless.
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	}
	return cfg, nil
}

// tlsState says whether c is a TLS connection and whether its handshake
// resumed a session.
func tlsState(c *wireconn.Conn) (isTLS, resumed bool) {
	tc, ok := c.NetConn().(*tls.Conn)
	if !ok {
		return false, false
	}
	return true, tc.ConnectionState().DidResume
}

// certValidity is how long the spawned server's certificate is valid: far
// longer than any run.
const certValidity = 7 * 24 * time.Hour

// writeServerCert makes a self-signed certificate for the loopback
// address the spawned server listens on, writes it and its key into dir
// (which the caller removes), and returns the files and the certificate,
// which the run's clients trust.
func writeServerCert(dir string) (certFile, keyFile string, certPEM []byte, err error) {
	certPEM, keyPEM, err := certs.SelfSigned([]string{"127.0.0.1", "localhost"}, certValidity)
	if err != nil {
		return "", "", nil, fmt.Errorf("server certificate: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := certs.WriteFiles(certFile, keyFile, certPEM, keyPEM); err != nil {
		return "", "", nil, fmt.Errorf("server certificate: %w", err)
	}
	return certFile, keyFile, certPEM, nil
}

// readCA reads -tls-ca's file and checks that it holds a certificate.
func readCA(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-tls-ca: %w", err)
	}
	if _, err := certs.Pool(data); err != nil {
		return nil, fmt.Errorf("-tls-ca %s: %w", path, err)
	}
	return data, nil
}
