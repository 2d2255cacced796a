// Command chat is the terminal chat client. See docs/DESIGN.md for what it
// shows and accepts.
//
//	chat [-mode rooms|names|menu|course] [-share DIR] [-download DIR] [-retry-min 1s] [-retry-max 30s] [HOST:PORT... | HOST PORT | PORT]
//	chat [flags] [-tls-ca FILE | -tls-fingerprint SHA256:…] [-known-servers FILE] tls://HOST:PORT...
//	chat -mode menu -l PORT -p PORT [HOST]
//
// Given several servers (or a host name with several addresses), the
// client connects to the first that answers and fails over to the next
// when its server goes.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"chat/client"
	"chat/internal/certs"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: chat [flags] [[tls://]HOST:PORT... | HOST PORT | PORT] (default %s)\n", client.DefaultAddr)
		fmt.Fprintln(fs.Output(), "Several servers (or a host with several addresses): it fails over from one to the next.")
		fs.PrintDefaults()
	}
	mode := fs.String("mode", "rooms", "front-end: rooms (rooms and passwords), names (NAME, GETNAMES, MSG, EXIT), menu (m, f, x), course (login, list, sendto, logout, exit)")
	share := fs.String("share", "", "directory whose regular files other users may get from you (default: the current directory)")
	download := fs.String("download", "", "directory where the files you get are stored (default: the current directory)")
	port := fs.String("p", "", "the server's `PORT` (on localhost, or on HOST given as the argument)")
	filePort := fs.String("l", "", "this client's own file `PORT` (seed 002); accepted, but files are always relayed through the server, which works behind NAT")
	fs.Var(stringAlias{filePort}, "1", "the same as -l (the seed writes -1)")
	retryMin := fs.Duration("retry-min", client.DefaultRetryMin, "first pause before reconnecting (jittered up to twice this)")
	retryMax := fs.Duration("retry-max", client.DefaultRetryMax, "longest pause between reconnection attempts")
	ping := fs.Duration("ping", client.DefaultPingAfter, "server silence before the client checks it is alive; twice this counts as lost")
	useTLS := fs.Bool("tls", false, "connect over TLS, as tls://HOST:PORT does")
	caFile := fs.String("tls-ca", "", "trust only the authorities in this PEM `FILE` to vouch for the server's certificate, instead of the system's (implies -tls)")
	pin := fs.String("tls-fingerprint", "", "accept exactly the server certificate of this `SHA256:fingerprint`, whoever signed it (implies -tls)")
	known := fs.String("known-servers", "", "the `FILE` of servers trusted on first use (default: chat/known_servers in the user's configuration directory)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	args = fs.Args()
	if *port != "" {
		if _, err := strconv.ParseUint(*port, 10, 16); err != nil {
			fmt.Fprintf(os.Stderr, "chat: bad port %q for -p\n", *port)
			return 2
		}
		switch len(args) {
		case 0:
			args = []string{"localhost", *port}
		case 1:
			args = []string{args[0], *port}
		default:
			fmt.Fprintln(os.Stderr, "chat: with -p PORT, give at most the server's host as an argument")
			return 2
		}
	}
	addrs, withScheme, err := servers(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chat: %v\n", err)
		fs.Usage()
		return 2
	}
	if withScheme > 0 && withScheme < len(addrs) && !*useTLS {
		// Failing over from TLS to plain TCP would hand the password to
		// whoever can make the TLS servers unreachable.
		fmt.Fprintln(os.Stderr, "chat: give tls:// on every server's address or on none (or -tls for all)")
		return 2
	}
	tlsCfg, err := tlsConfig(*useTLS || withScheme > 0, *caFile, *pin, *known)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chat: %v\n", err)
		return 2
	}
	if *filePort != "" {
		if _, err := strconv.ParseUint(*filePort, 10, 16); err != nil {
			fmt.Fprintf(os.Stderr, "chat: bad port %q for -l\n", *filePort)
			return 2
		}
	}
	for _, d := range []struct{ flag, dir string }{{"-share", *share}, {"-download", *download}} {
		if d.dir == "" {
			continue
		}
		if st, err := os.Stat(d.dir); err != nil || !st.IsDir() {
			fmt.Fprintf(os.Stderr, "chat: %s %s: not a directory\n", d.flag, d.dir)
			return 2
		}
	}
	if *retryMin <= 0 || *retryMax <= 0 || *ping <= 0 {
		fmt.Fprintln(os.Stderr, "chat: -retry-min, -retry-max and -ping must be positive durations")
		return 2
	}
	m, err := client.NewMode(*mode)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chat: %v\n", err)
		return 2
	}
	return client.Run(client.Config{
		Servers:     addrs,
		Mode:        m,
		RetryMin:    *retryMin,
		RetryMax:    *retryMax,
		PingAfter:   *ping,
		ShareDir:    *share,
		DownloadDir: *download,
		TLS:         tlsCfg,
	})
}

// tlsConfig makes the client's TLS settings of the flags; nil for plain
// TCP. -tls-ca and -tls-fingerprint ask for TLS by themselves.
func tlsConfig(on bool, caFile, pin, known string) (*client.TLSConfig, error) {
	if !on && caFile == "" && pin == "" {
		return nil, nil
	}
	cfg := &client.TLSConfig{KnownServers: known}
	if caFile != "" && pin != "" {
		return nil, errors.New("give -tls-ca or -tls-fingerprint, not both: a pinned certificate is accepted whoever signed it")
	}
	if caFile != "" {
		pool, err := client.LoadCA(caFile)
		if err != nil {
			return nil, fmt.Errorf("-tls-ca: %w", err)
		}
		cfg.CA, cfg.CAFile = pool, caFile
	}
	if pin != "" {
		fp, err := certs.ParseFingerprint(pin)
		if err != nil {
			return nil, fmt.Errorf("-tls-fingerprint: %w", err)
		}
		cfg.Fingerprint = fp
	}
	return cfg, nil
}

// servers makes the servers' addresses (HOST:PORT each) of the
// arguments, and counts those that asked for TLS with tls://:
//
//	(none)           localhost:7777
//	PORT             localhost:PORT, when it is the only argument
//	HOST PORT        HOST:PORT, when they are the only two arguments and
//	                 HOST has no port of its own
//	ADDR [ADDR...]   each [tls://]HOST:PORT, or [tls://]:PORT on localhost
//
// The forms are told apart by the whole list, never by guessing at one
// argument: "example.org 8000" is one server, "a:1 b:2" two, and "8000
// 8001" or "a:1 8000" neither (a port alone is the whole list, and a host
// "8000" would be read as a port), so they are refused with what to type.
func servers(args []string) (addrs []string, withScheme int, err error) {
	rests := make([]string, len(args))
	for i, a := range args {
		rest, tls, err := scheme(a)
		if err != nil {
			return nil, 0, err
		}
		if tls {
			withScheme++
		}
		rests[i] = rest
	}
	switch {
	case len(args) == 0 || len(args) == 1 && rests[0] == "" && withScheme == 1:
		return []string{client.DefaultAddr}, withScheme, nil // "tls://" alone: the default server
	case len(args) == 1 && isPort(rests[0]):
		return []string{net.JoinHostPort("localhost", rests[0])}, withScheme, nil
	case len(args) == 2 && isPort(args[1]) && !hasPort(rests[0]):
		if rests[0] == "" || isPort(rests[0]) {
			return nil, 0, fmt.Errorf("%q %q: give HOST PORT for one server, or each server as HOST:PORT", args[0], args[1])
		}
		host := strings.TrimSuffix(strings.TrimPrefix(rests[0], "["), "]") // "[::1] 8000" as "::1 8000"
		return []string{net.JoinHostPort(host, args[1])}, withScheme, nil
	}
	for i, rest := range rests {
		addr, err := hostPort(rest, len(args))
		if err != nil {
			return nil, 0, fmt.Errorf("%w (in %q)", err, args[i])
		}
		addrs = append(addrs, addr)
	}
	return addrs, withScheme, nil
}

// scheme takes tls:// off an address, where it asks for TLS.
func scheme(arg string) (rest string, tls bool, err error) {
	name, rest, ok := strings.Cut(arg, "://")
	if !ok {
		return arg, false, nil
	}
	if !strings.EqualFold(name, "tls") {
		return "", false, fmt.Errorf("unknown scheme %s:// in %q: give tls://HOST:PORT, or HOST:PORT for plain TCP", name, arg)
	}
	return strings.TrimSuffix(rest, "/"), true, nil
}

// hostPort checks one server's HOST:PORT, one of n arguments.
func hostPort(a string, n int) (string, error) {
	if isPort(a) {
		return "", fmt.Errorf("a port alone (%s) is the whole argument list, for localhost:%s; give each of several servers as HOST:PORT", a, a)
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		if n == 1 {
			return "", fmt.Errorf("bad server address %q: want HOST:PORT, HOST PORT or PORT", a)
		}
		return "", fmt.Errorf("bad server address %q: want HOST:PORT", a)
	}
	if !isPort(port) {
		return "", fmt.Errorf("bad port %q in %q", port, a)
	}
	if host == "" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port), nil
}

// isPort reports whether s is a port number.
func isPort(s string) bool {
	_, err := strconv.ParseUint(s, 10, 16)
	return err == nil
}

// hasPort reports whether s is HOST:PORT (with any port, to be checked).
func hasPort(s string) bool {
	_, _, err := net.SplitHostPort(s)
	return err == nil
}

// stringAlias is a second flag name for a string flag.
type stringAlias struct{ p *string }

func (a stringAlias) String() string {
	if a.p == nil {
		return ""
	}
	return *a.p
}

func (a stringAlias) Set(v string) error { *a.p = v; return nil }
