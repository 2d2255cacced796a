package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"chat/internal/certs"
	"chat/server"
)

// tlsFlags are the command line's TLS choices beyond the Config's
// addresses: the files of the certificate and its key, and whether -addr's
// listener was made the TLS one.
type tlsFlags struct {
	cert, key string
	// onAddr: no -tls-addr was given, so -addr serves TLS (Config.TLSAddr
	// took its address and Config.Addr is empty).
	onAddr bool
}

// makeCert is the hint for every certificate problem that a new pair cures.
const makeCert = "make a self-signed pair with: chat-server cert -host NAME"

// placeTLS decides which listeners speak TLS, and returns what is wrong
// with the command line's TLS flags ("" when nothing is). With a
// certificate, -addr serves TLS unless -tls-addr was given: an address
// puts TLS there beside a plain -addr, an empty one (tlsAddrGiven with
// cfg.TLSAddr "") leaves the chat protocol plain, for IRC over TLS alone.
// haveCert counts the certificate -demo makes when none is given.
func (t *tlsFlags) placeTLS(cfg *server.Config, tlsAddrGiven, haveCert bool) string {
	if (t.cert == "") != (t.key == "") {
		return "-tls-cert and -tls-key go together: give the certificate file and its key file, or neither"
	}
	if !haveCert {
		switch {
		case cfg.TLSAddr != "":
			return "-tls-addr needs a certificate: give -tls-cert FILE -tls-key FILE (" + makeCert + ")"
		case cfg.IRCTLSAddr != "":
			return "-irc-tls needs a certificate: give -tls-cert FILE -tls-key FILE (" + makeCert + ")"
		}
		return ""
	}
	if !tlsAddrGiven {
		cfg.TLSAddr, cfg.Addr = cfg.Addr, ""
		t.onAddr = true
	}
	if cfg.TLSAddr == "" && cfg.IRCTLSAddr == "" && t.cert != "" {
		return "-tls-addr '' without -irc-tls leaves the certificate no TLS listener to serve: leave out -tls-addr to serve TLS on -addr, or add -irc-tls HOST:PORT"
	}
	return ""
}

// loadCertificate opens the Store that serves the certificate and key and
// reads them again when they change, so a renewed certificate needs no
// restart. On failure it says on stderr which file is at fault and what to
// do about it.
func loadCertificate(certFile, keyFile string, logf func(string, ...any), stderr io.Writer) (*tls.Config, *certs.Store, bool) {
	store, err := certs.NewStore(certFile, keyFile, logf)
	if err != nil {
		var hint string
		switch {
		case errors.Is(err, fs.ErrNotExist):
			hint = "check -tls-cert and -tls-key, or " + makeCert
		case errors.Is(err, fs.ErrPermission):
			hint = "let the user that runs chat-server read it"
		default:
			hint = "give a PEM certificate and the key it was made with, or " + makeCert
		}
		fmt.Fprintf(stderr, "chat-server: %v (%s)\n", err, hint)
		return nil, nil, false
	}
	return &tls.Config{GetCertificate: store.Certificate}, store, true
}

// printListening writes the lines of the listeners srv opened, its
// metrics endpoint, which node of a cluster it is, the certificate's
// fingerprint, the demo's accounts, and the ready line last, so whoever
// waits for that has read them all.
func printListening(stdout io.Writer, srv *server.Server, store *certs.Store, d *demo) {
	mainTLS := srv.TLSAddr() != "" && srv.Addr() == srv.TLSAddr()
	if a := srv.IRCAddr(); a != "" {
		fmt.Fprintf(stdout, "chat-server: IRC listening on %s\n", a)
	}
	if a := srv.IRCTLSAddr(); a != "" {
		fmt.Fprintf(stdout, "chat-server: IRC TLS listening on %s\n", a)
	}
	if a := srv.TLSAddr(); a != "" && !mainTLS {
		fmt.Fprintf(stdout, "chat-server: TLS listening on %s\n", a)
	}
	if a := srv.MetricsAddr(); a != "" {
		fmt.Fprintf(stdout, "chat-server: metrics on http://%s/metrics\n", a)
	}
	if line := nodeLine(srv.Node()); line != "" {
		fmt.Fprintln(stdout, line)
	}
	fingerprint := ""
	if store != nil {
		fingerprint = store.Fingerprint()
		fmt.Fprintf(stdout, "chat-server: TLS certificate %s\n", fingerprint)
	}
	if d != nil {
		d.print(stdout, srv, fingerprint)
	}
	suffix := ""
	if mainTLS {
		suffix = " (TLS)"
	}
	fmt.Fprintf(stdout, "chat-server: listening on %s%s\n", srv.Addr(), suffix)
}
