package client

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"chat/internal/certs"
)

// The known-servers file is the client's memory of the servers a person
// trusted on first use, as ssh's known_hosts is: one server a line,
//
//	HOST:PORT SHA256:64-hex-digits
//
// the address as given to the client and the SHA-256 fingerprint of the
// certificate the server showed when it was trusted. Blank lines and lines
// starting with # are skipped. The client appends to it and never rewrites
// it: a person removes a line to forget a server (after its certificate was
// replaced on purpose), and the client's message names that line.

// knownHeader opens a known-servers file the client creates, for the
// person who opens it later.
const knownHeader = "# Servers trusted on first use by chat: HOST:PORT SHA256:fingerprint, one a line.\n" +
	"# Delete a server's line to forget it (after its operator replaced its certificate).\n"

// DefaultKnownServers returns the known-servers file of the user:
// chat/known_servers in the user's configuration directory
// ($XDG_CONFIG_HOME, or ~/.config).
func DefaultKnownServers() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration directory to keep the known servers in (%w); give -known-servers FILE", err)
	}
	return filepath.Join(dir, "chat", "known_servers"), nil
}

// knownEntry is one line of the known-servers file.
type knownEntry struct {
	addr        string // HOST:PORT, the host in lower case
	fingerprint string // as certs.Fingerprint writes it
	line        int    // 1-based
}

// knownProblem is a line of the file that is not an entry.
type knownProblem struct {
	line int
	text string
}

// knownServers is what a known-servers file holds.
type knownServers struct {
	entries  []knownEntry
	problems []knownProblem
	lines    int // lines in the file, for the number of the next one
}

// parseKnown reads a known-servers file's contents. A line that is not an
// entry is a problem reported by number and otherwise skipped: one bad
// line, made by hand, must not make the client forget every other server.
func parseKnown(data []byte) knownServers {
	var ks knownServers
	for i, raw := range bytes.SplitAfter(data, []byte{'\n'}) {
		if len(raw) == 0 {
			break // after a final newline
		}
		ks.lines = i + 1
		l := strings.TrimSpace(string(raw))
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			ks.problems = append(ks.problems, knownProblem{i + 1, `not "HOST:PORT SHA256:fingerprint"`})
			continue
		}
		addr, err := knownAddr(f[0])
		if err != nil {
			ks.problems = append(ks.problems, knownProblem{i + 1, err.Error()})
			continue
		}
		fp, err := certs.ParseFingerprint(f[1])
		if err != nil {
			ks.problems = append(ks.problems, knownProblem{i + 1, err.Error()})
			continue
		}
		ks.entries = append(ks.entries, knownEntry{addr: addr, fingerprint: fp, line: i + 1})
	}
	return ks
}

// knownAddr checks a server's address and puts it in the form entries are
// compared in: the host in lower case, since host names are not
// case-sensitive.
func knownAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("bad server address %q: want HOST:PORT", s)
	}
	return net.JoinHostPort(strings.ToLower(host), port), nil
}

// lookup returns the entries for addr, in the file's order.
func (ks knownServers) lookup(addr string) []knownEntry {
	addr, err := knownAddr(addr)
	if err != nil {
		return nil
	}
	var found []knownEntry
	for _, e := range ks.entries {
		if e.addr == addr {
			found = append(found, e)
		}
	}
	return found
}

// readKnown reads the known-servers file at path. A file that does not
// exist yet knows no server.
func readKnown(path string) (knownServers, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return knownServers{}, nil
	}
	if err != nil {
		return knownServers{}, fmt.Errorf("cannot read the known servers: %w", err)
	}
	return parseKnown(data), nil
}

// addKnown appends the entry "addr fingerprint" to the file at path,
// creating the file (mode 0600) and its directory (0700) if need be, since
// the file tells which servers a person talks to. It returns the entry's
// line number.
func addKnown(path, addr, fingerprint string) (int, error) {
	key, err := knownAddr(addr)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	var add []byte
	if len(old) == 0 {
		add = append(add, knownHeader...)
	} else if old[len(old)-1] != '\n' {
		add = append(add, '\n') // a line someone typed without its newline
	}
	add = append(add, key+" "+fingerprint+"\n"...)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(add); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return parseKnown(append(old, add...)).lines, nil
}
