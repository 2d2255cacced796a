// Command chat is the terminal chat client. See docs/DESIGN.md for what it
// shows and accepts.
//
//	chat [-mode rooms|names|menu|course] [-share DIR] [-download DIR] [-retry-min 1s] [-retry-max 30s] [HOST:PORT | HOST PORT | PORT]
//	chat [flags] [-tls-ca FILE | -tls-fingerprint SHA256:…] [-known-servers FILE] tls://HOST:PORT
//	chat -mode menu -l PORT -p PORT [HOST]
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
		fmt.Fprintf(fs.Output(), "usage: chat [flags] [[tls://]HOST:PORT | HOST PORT | PORT] (default %s)\n", client.DefaultAddr)
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
	args, schemeTLS, err := scheme(fs.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "chat: %v\n", err)
		return 2
	}
	tlsCfg, err := tlsConfig(*useTLS || schemeTLS, *caFile, *pin, *known)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chat: %v\n", err)
		return 2
	}
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
	addr, err := address(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chat: %v\n", err)
		fs.Usage()
		return 2
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
		Addr:        addr,
		Mode:        m,
		RetryMin:    *retryMin,
		RetryMax:    *retryMax,
		PingAfter:   *ping,
		ShareDir:    *share,
		DownloadDir: *download,
		TLS:         tlsCfg,
	})
}

// scheme takes tls:// off the server's address, where it asks for TLS.
func scheme(args []string) ([]string, bool, error) {
	if len(args) == 0 {
		return args, false, nil
	}
	name, rest, ok := strings.Cut(args[0], "://")
	if !ok {
		return args, false, nil
	}
	if !strings.EqualFold(name, "tls") {
		return nil, false, fmt.Errorf("unknown scheme %s:// in %q: give tls://HOST:PORT, or HOST:PORT for plain TCP", name, args[0])
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return args[1:], true, nil // the default server
	}
	return append([]string{rest}, args[1:]...), true, nil
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

// address makes "host:port" of the arguments: none, HOST:PORT, HOST PORT or
// PORT.
func address(args []string) (string, error) {
	switch len(args) {
	case 0:
		return client.DefaultAddr, nil
	case 1:
		a := args[0]
		if _, err := strconv.ParseUint(a, 10, 16); err == nil {
			return net.JoinHostPort("localhost", a), nil
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return "", fmt.Errorf("bad server address %q: want HOST:PORT, HOST PORT or PORT", a)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", fmt.Errorf("bad port %q in %q", port, a)
		}
		if host == "" {
			host = "localhost"
		}
		return net.JoinHostPort(host, port), nil
	case 2:
		if _, err := strconv.ParseUint(args[1], 10, 16); err != nil {
			return "", fmt.Errorf("bad port %q", args[1])
		}
		return net.JoinHostPort(args[0], args[1]), nil
	}
	return "", fmt.Errorf("too many arguments: %q", args)
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
