package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"chat/internal/certs"
)

// Where "chat-server cert" writes, and for how long its certificate is
// valid: long, because a client that trusted a self-signed certificate by
// its fingerprint must be asked again when it is renewed.
const (
	defaultCertFile = "chat-server.crt"
	defaultKeyFile  = "chat-server.key"
	defaultCertDays = 3650
	maxCertDays     = 36500
)

// certCommand writes a self-signed certificate and its key for a server
// to serve TLS with.
//
//	chat-server cert -host NAME [-host NAME...] [-cert FILE] [-key FILE] [-days N] [-force]
func certCommand(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("chat-server cert", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, "usage: chat-server cert -host NAME [-host NAME...] [-cert FILE] [-key FILE] [-days N] [-force]\n")
		fl.PrintDefaults()
	}
	var hosts hostList
	fl.Var(&hosts, "host", "a `NAME` or address clients connect to (repeat for more; the first names the certificate)")
	certFile := fl.String("cert", defaultCertFile, "write the certificate to `FILE`")
	keyFile := fl.String("key", defaultKeyFile, "write the private key to `FILE` (mode 0600)")
	days := fl.Int("days", defaultCertDays, "the certificate is valid for `N` days")
	force := fl.Bool("force", false, "replace the files if they exist")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageError := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "chat-server cert: "+format+"\n", args...)
		fl.Usage()
		return 2
	}
	switch {
	case fl.NArg() > 0:
		return usageError("unexpected arguments: %s", strings.Join(fl.Args(), " "))
	case len(hosts) == 0:
		return usageError("give at least one -host NAME: the name or address clients connect to")
	case *days < 1 || *days > maxCertDays:
		return usageError("bad -days %d: give a number of days from 1 to %d", *days, maxCertDays)
	case *certFile == "" || *keyFile == "":
		return usageError("-cert and -key need a file name")
	case *certFile == *keyFile:
		return usageError("-cert and -key name the same file %s: the key needs a file of its own", *certFile)
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "chat-server cert: "+format+"\n", args...)
		return 1
	}
	if !*force {
		for _, f := range []struct{ path, flag string }{{*certFile, "-cert"}, {*keyFile, "-key"}} {
			if _, err := os.Lstat(f.path); !errors.Is(err, fs.ErrNotExist) {
				return fail("%s exists, not replaced (replace it with -force, or write elsewhere with %s FILE)", f.path, f.flag)
			}
		}
	}
	valid := time.Duration(*days) * 24 * time.Hour
	certPEM, keyPEM, err := certs.SelfSigned(hosts, valid)
	if err != nil {
		return fail("%v", err)
	}
	if err := certs.WriteFiles(*certFile, *keyFile, certPEM, keyPEM); err != nil {
		return fail("cannot write the certificate and key: %v", err)
	}
	fingerprint, err := certs.FingerprintPEM(certPEM)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "chat-server: wrote certificate %s and key %s (mode 0600) for %s, valid until %s\n",
		*certFile, *keyFile, strings.Join(hosts, ", "), time.Now().Add(valid).UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "chat-server: certificate %s\n", fingerprint)
	fmt.Fprintf(stdout, "chat-server: serve with: chat-server -tls-cert %s -tls-key %s\n", shellQuote(*certFile), shellQuote(*keyFile))
	return 0
}

// hostList is the repeated -host flag; each value is checked as it comes,
// so a bad one is a usage error naming it.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(s string) error {
	if err := checkHost(s); err != nil {
		return err
	}
	*h = append(*h, s)
	return nil
}

// checkHost accepts an IP address or a DNS name (a wildcard "*." first
// label allowed): what a certificate's subject alternative names hold.
func checkHost(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	name := strings.TrimPrefix(s, "*.")
	if name == "" || len(name) > 253 {
		return fmt.Errorf("bad host %q: give a DNS name or an IP address", s)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.IndexFunc(label, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
			}) >= 0 {
			return fmt.Errorf("bad host %q: give a DNS name (letters, digits, hyphens and dots) or an IP address", s)
		}
	}
	return nil
}

// shellQuote quotes a path for a command line a person copies, when it
// holds anything a shell would read differently.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./,:+@%=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
