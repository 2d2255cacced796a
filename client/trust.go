package client

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"chat/internal/certs"
)

// Whether to trust the certificate a server shows. The decision is pure:
// check holds everything it depends on, fixed before a handshake starts,
// and verify looks at the certificates alone, so that the handshake's
// goroutine can run it while the loop goes on, and tests can run it
// without a handshake.
//
// A server is trusted, in this order of precedence, when
//
//   - -tls-fingerprint pins it: its certificate is exactly that one, and
//     nothing else is checked, whoever signed it;
//   - otherwise its certificate is valid now and names the host, and
//   - it is signed by an authority: the one in -tls-ca, or else one of the
//     system's; or, with neither flag, the person trusted this certificate
//     for this server before (the known-servers file) or says so now.
//
// After the run's first handshake with a server, every later one with the
// same server (reconnections, file transfers) must show the same
// certificate, unless the first was verified through an authority: a
// renewed certificate that still verifies is the same server. Each server
// of the run (servers.go) is held to its own first certificate: the nodes
// of a cluster have one each.

// identity is what the run's first handshake with a server established
// about it; the zero identity is none yet.
type identity struct {
	fingerprint string // the certificate's
	// byCA: an authority vouched for it, and may vouch for its renewal.
	byCA bool
}

// check is what one handshake is held to.
type check struct {
	addr string // the known-servers key of the server (server.knownKeys)
	host string
	now  time.Time
	// ca and caFile are -tls-ca's authorities and the file they came
	// from; ca nil means the system's authorities.
	ca     *x509.CertPool
	caFile string
	pin    string // -tls-fingerprint
	// known are the server's entries in the known-servers file, which is
	// knownFile; accepted is a fingerprint the person trusted in this run
	// (it may not have been written down).
	known     []knownEntry
	knownFile string
	accepted  string
	run       identity // established by the run's first handshake with the server
}

// trustKind says why a certificate was not trusted, and so what the
// client does about it (handshakeFate).
type trustKind int

const (
	trustUnknown     trustKind = iota // nobody vouches for it: ask the person
	trustPinMismatch                  // not the certificate -tls-fingerprint names
	trustExpired                      // outside its validity period
	trustWrongHost                    // made for other names
	trustUnknownCA                    // not signed by -tls-ca's authority
	trustChanged                      // not the certificate remembered or met before
	trustBad                          // something else x509 refuses
)

// trustError is a certificate the client does not trust. Its text
// completes "cannot connect to HOST:PORT: ".
type trustError struct {
	kind        trustKind
	fingerprint string // the certificate's
	text        string
	// trustChanged: what was expected instead, and where it was known
	// from: a known-servers line (file and line), or this run.
	want      string
	knownFile string
	knownLine int
	byCA      bool // the run verified its first certificate through an authority
}

func (e *trustError) Error() string { return e.text }

// verify decides whether chain, the certificates a server showed (its own
// first), is to be trusted, and returns the identity it establishes.
func (ck *check) verify(chain []*x509.Certificate) (identity, error) {
	if len(chain) == 0 {
		return identity{}, &trustError{kind: trustBad, text: "the server showed no certificate"}
	}
	leaf := chain[0]
	fp := certs.Fingerprint(leaf.Raw)
	if ck.pin != "" {
		if fp != ck.pin {
			return identity{}, &trustError{kind: trustPinMismatch, fingerprint: fp,
				text: fmt.Sprintf("its certificate is %s, not %s as -tls-fingerprint says", fp, ck.pin)}
		}
		return identity{fingerprint: fp}, nil
	}
	if ck.run.fingerprint != "" && !ck.run.byCA && fp != ck.run.fingerprint {
		return identity{}, ck.changed(fp)
	}
	if err := validNow(leaf, ck.now); err != nil {
		return identity{}, err
	}
	if err := leaf.VerifyHostname(ck.host); err != nil {
		return identity{}, &trustError{kind: trustWrongHost, fingerprint: fp,
			text: fmt.Sprintf("its certificate is for %s, not for %s; connect with one of those names", certNames(leaf), ck.host)}
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: ck.host, Roots: ck.ca, Intermediates: inter, CurrentTime: ck.now})
	var unknownCA x509.UnknownAuthorityError
	var noRoots x509.SystemRootsError
	switch {
	case err == nil:
		if ck.run.fingerprint != "" && !ck.run.byCA {
			return ck.run, nil // the certificate met before, which now also verifies
		}
		return identity{fingerprint: fp, byCA: true}, nil
	case ck.ca != nil && errors.As(err, &unknownCA):
		return identity{}, &trustError{kind: trustUnknownCA, fingerprint: fp,
			text: fmt.Sprintf("its certificate (%s, issued by %s) is not signed by the authority in %s", fp, issuer(leaf), ck.caFile)}
	case !errors.As(err, &unknownCA) && !errors.As(err, &noRoots):
		return identity{}, &trustError{kind: trustBad, fingerprint: fp,
			text: "its certificate cannot be verified: " + strings.TrimPrefix(err.Error(), "x509: ")}
	}
	// No authority vouches for it (a self-signed server, or a system
	// without authorities): it is trusted if it is the one trusted before.
	switch {
	case ck.run.byCA:
		return identity{}, ck.changed(fp)
	case fp == ck.run.fingerprint || fp == ck.accepted:
		return identity{fingerprint: fp}, nil
	}
	for _, e := range ck.known {
		if e.fingerprint == fp {
			return identity{fingerprint: fp}, nil
		}
	}
	if len(ck.known) > 0 {
		return identity{}, ck.changed(fp)
	}
	return identity{}, &trustError{kind: trustUnknown, fingerprint: fp,
		text: fmt.Sprintf("its certificate (%s) is signed by no authority this system trusts, and it is not a known server", fp)}
}

// changed is the error of a server that shows another certificate than
// the one trusted before: in the known-servers file, or earlier in this
// run.
func (ck *check) changed(fp string) *trustError {
	e := &trustError{kind: trustChanged, fingerprint: fp, want: ck.run.fingerprint, byCA: ck.run.byCA, knownFile: ck.knownFile}
	if e.want == "" && len(ck.known) > 0 {
		e.want, e.knownLine = ck.known[0].fingerprint, ck.known[0].line
	}
	for _, k := range ck.known {
		if k.fingerprint == e.want {
			e.knownLine = k.line
		}
	}
	if ck.run.byCA {
		e.text = fmt.Sprintf("ITS CERTIFICATE HAS CHANGED: %s is signed by no authority this system trusts, while this run's first connection was verified through one", fp)
	} else {
		e.text = fmt.Sprintf("ITS CERTIFICATE HAS CHANGED: it is %s, not %s as trusted before", fp, e.want)
	}
	return e
}

// validNow says when a certificate outside its validity period expired or
// becomes valid.
func validNow(leaf *x509.Certificate, now time.Time) error {
	fp := certs.Fingerprint(leaf.Raw)
	switch {
	case now.After(leaf.NotAfter):
		return &trustError{kind: trustExpired, fingerprint: fp,
			text: fmt.Sprintf("its certificate expired on %s; the server's operator must renew it", whenText(leaf.NotAfter))}
	case now.Before(leaf.NotBefore):
		return &trustError{kind: trustExpired, fingerprint: fp,
			text: fmt.Sprintf("its certificate is valid only from %s; check this computer's clock", whenText(leaf.NotBefore))}
	}
	return nil
}

// whenText is a certificate's date as a person reads it, in UTC as the
// certificate states it.
func whenText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// certNames lists the names a certificate is for.
func certNames(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		if c.Subject.CommonName != "" {
			return "no host name (only the common name " + c.Subject.CommonName + ", which no longer counts)"
		}
		return "no host name"
	}
	return strings.Join(names, ", ")
}

// issuer names who signed a certificate.
func issuer(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	return c.Issuer.String()
}

// hostOf is the host of HOST:PORT.
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
