package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// statusCommand asks a running server's operations endpoint (-metrics)
// which node it is, what it sees of its cluster and whether it is ready,
// and prints the answer: exit status 0 when the server is ready, 1 when
// it is not or cannot be reached, 2 for a command line it cannot use.
//
//	chat-server status [-timeout D] HOST:PORT
func statusCommand(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("chat-server status", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, "usage: chat-server status [-timeout D] HOST:PORT\n"+
			"  HOST:PORT is the server's -metrics address; :PORT means this machine\n")
		fl.PrintDefaults()
	}
	timeout := fl.Duration("timeout", 15*time.Second, "give up on an answer after this long")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() != 1 {
		fmt.Fprintf(stderr, "chat-server status: give the server's -metrics address, HOST:PORT\n")
		fl.Usage()
		return 2
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(fl.Arg(0), "http://"), "/")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintf(stderr, "chat-server status: bad address %q: give HOST:PORT, the server's -metrics address\n", fl.Arg(0))
		return 2
	}
	if host == "" {
		host = "127.0.0.1"
	}
	addr = net.JoinHostPort(host, port)

	// No proxy: the endpoint is on the node's own network, and a proxy
	// would answer for a node that is not there.
	c := &http.Client{Timeout: *timeout, Transport: &http.Transport{Proxy: nil}}
	resp, err := c.Get("http://" + addr + "/status")
	if err != nil {
		what := fmt.Sprintf("cannot reach %s: %v", addr, unwrapAll(err))
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			what = fmt.Sprintf("no answer from %s within %v", addr, *timeout)
		}
		fmt.Fprintf(stderr, "chat-server status: %s (is a chat-server running there with -metrics %s?)\n", what, addr)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		fmt.Fprintf(stderr, "chat-server status: reading the answer of %s: %v\n", addr, err)
		return 1
	}
	switch resp.StatusCode {
	case http.StatusOK:
		stdout.Write(body)
		return 0
	case http.StatusServiceUnavailable:
		stdout.Write(body)
		fmt.Fprintf(stderr, "chat-server status: %s is not ready\n", addr)
		return 1
	}
	fmt.Fprintf(stderr, "chat-server status: %s answered %s to GET /status: is it a chat-server's -metrics address?\n", addr, resp.Status)
	return 1
}
