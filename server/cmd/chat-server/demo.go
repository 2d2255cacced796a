package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"chat/internal/certs"
	"chat/server"
	"chat/server/auth"
)

// A demo is what -demo makes for one run, in a temporary directory that
// remove deletes: a users file with accounts alice and bob, and, when a
// listener serves TLS and no certificate was given, a self-signed
// certificate for this machine.
type demo struct {
	dir      string
	accounts string // "alice PASSWORD, bob PASSWORD", shown once
}

// demoValid is how long the demo's certificate is valid: longer than any
// demo runs; the certificate goes with the run's directory.
const demoValid = 30 * 24 * time.Hour

// startDemo makes the demo's files and points cfg and t at them.
func startDemo(cfg *server.Config, t *tlsFlags) (*demo, error) {
	dir, err := os.MkdirTemp("", "chat-server-demo-")
	if err != nil {
		return nil, fmt.Errorf("cannot create the demo users file: %w", err)
	}
	d := &demo{dir: dir}
	cfg.UsersFile = filepath.Join(dir, "users.db")
	if d.accounts, err = writeDemoUsers(cfg.UsersFile); err != nil {
		d.remove()
		return nil, fmt.Errorf("cannot create the demo users file: %w", err)
	}
	if t.cert == "" && (cfg.TLSAddr != "" || cfg.IRCTLSAddr != "") {
		t.cert, t.key = filepath.Join(dir, "demo.crt"), filepath.Join(dir, "demo.key")
		certPEM, keyPEM, err := certs.SelfSigned(demoHosts(cfg.TLSAddr, cfg.IRCTLSAddr), demoValid)
		if err == nil {
			err = certs.WriteFiles(t.cert, t.key, certPEM, keyPEM)
		}
		if err != nil {
			d.remove()
			return nil, fmt.Errorf("cannot create the demo certificate: %w", err)
		}
	}
	return d, nil
}

func (d *demo) remove() { os.RemoveAll(d.dir) }

// demoHosts are the names a client on this machine or the network reaches
// it by: localhost and its addresses, the host name, and the host of each
// TLS listener bound to one address.
func demoHosts(addrs ...string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	add := func(h string) {
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if name, err := os.Hostname(); err == nil {
		add(name)
	}
	for _, a := range addrs {
		if h, _, err := net.SplitHostPort(a); err == nil {
			if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
				add(h)
			}
		}
	}
	return hosts
}

// writeDemoUsers writes a users file with accounts alice and bob, and
// returns their generated passwords to show once.
func writeDemoUsers(path string) (string, error) {
	var u auth.Users
	var shown []string
	for _, name := range []string{"alice", "bob"} {
		pw := randomPassword(12)
		hash, err := auth.HashPassword(pw)
		if err == nil {
			err = u.Add(name, hash)
		}
		if err != nil {
			return "", err
		}
		shown = append(shown, name+" "+pw)
	}
	if err := u.Save(path); err != nil {
		return "", err
	}
	return strings.Join(shown, ", "), nil
}

// print shows the accounts, and how to connect to the chat listener: over
// TLS, pinning the certificate made for this run. The fingerprint goes
// from this terminal to the client's, the way a person would check it,
// and a client that trusted a previous demo's certificate on the same
// port is not alarmed by this one.
func (d *demo) print(stdout io.Writer, srv *server.Server, fingerprint string) {
	fmt.Fprintf(stdout, "chat-server: demo accounts (passwords shown once): %s\n", d.accounts)
	addr, trust := srv.Addr(), ""
	if a := srv.TLSAddr(); a != "" {
		addr, trust = a, fmt.Sprintf("-tls-fingerprint %s tls://", fingerprint)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsUnspecified() || ip.IsLoopback()) {
		host = "localhost"
	}
	fmt.Fprintf(stdout, "chat-server: demo: connect with: chat %s%s\n", trust, net.JoinHostPort(host, port))
}
