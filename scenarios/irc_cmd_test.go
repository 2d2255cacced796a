package scenarios

import (
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"chat/harness"
)

// The IRC peers of each running script, by name. scriptState belongs to
// the other commands; the peers live here, keyed by script, and each
// script's are closed when it ends. Scripts run in parallel, hence the lock.
var ircPeers = struct {
	sync.Mutex
	byScript map[*testscript.TestScript]map[string]*harness.IRCPeer
}{byScript: map[*testscript.TestScript]map[string]*harness.IRCPeer{}}

// peersOf returns the script's peers, closing them when the script ends.
func peersOf(ts *testscript.TestScript) map[string]*harness.IRCPeer {
	ircPeers.Lock()
	defer ircPeers.Unlock()
	peers, ok := ircPeers.byScript[ts]
	if !ok {
		peers = map[string]*harness.IRCPeer{}
		ircPeers.byScript[ts] = peers
		ts.Defer(func() {
			ircPeers.Lock()
			defer ircPeers.Unlock()
			for _, p := range ircPeers.byScript[ts] {
				p.Close()
			}
			delete(ircPeers.byScript, ts)
		})
	}
	return peers
}

func ircPeer(ts *testscript.TestScript, name string) *harness.IRCPeer {
	p, ok := peersOf(ts)[name]
	if !ok {
		ts.Fatalf("no IRC peer named %s: open it with: irc open %s", name, name)
	}
	return p
}

// irc open NAME
// irc register NAME NICK [PASSWORD]
// irc send NAME WORDS...
// irc expect [-timeout DURATION] NAME REGEXP
// ! irc expect NAME REGEXP
// irc closed NAME
// irc close NAME
//
// An IRC client (harness.IRCPeer) named NAME, speaking raw IRC lines to the
// server's IRC listener. The server must have been started with the
// listener: "server start -irc=127.0.0.1:0 ..." (one word, so server takes
// it as a flag; $IRC is then its address). It answers the server's PINGs.
//
// open connects. register sends PASS (with PASSWORD), NICK and USER and
// waits for the welcome (001), failing at once on a refusal. send sends the
// words joined by spaces as one line, CRLF added (quote a word holding '#',
// which would start a comment). expect waits up to 10s (or DURATION) for a
// line matching REGEXP among those not yet consumed, and consumes it and
// every line before it; the regexp is matched against one line, without its
// CRLF, so ^ and $ are its ends. Negated, it checks at once that no line
// received so far matches: put it after an expect of a later line. closed
// waits up to 10s for the server to close the connection; close closes it
// from this side without a QUIT (a lost contact, to the server).
func cmdIRC(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: irc open NAME | register NAME NICK [PASSWORD] | send NAME WORDS... | expect [-timeout DURATION] NAME REGEXP | closed NAME | close NAME"
	if len(args) < 2 {
		ts.Fatalf("%s", usage)
	}
	if neg && args[0] != "expect" {
		ts.Fatalf("unsupported: ! irc %s", args[0])
	}
	st := state(ts)
	switch verb, name := args[0], args[1]; verb {
	case "open":
		if len(args) != 2 {
			ts.Fatalf("%s", usage)
		}
		if st.server == nil {
			ts.Fatalf("irc open: no server: start one with: server start -irc=127.0.0.1:0")
		}
		if st.server.IRCAddr == "" {
			ts.Fatalf("irc open: the server has no IRC listener: start it with: server start -irc=127.0.0.1:0")
		}
		peers := peersOf(ts)
		if old, ok := peers[name]; ok {
			select {
			case <-old.Closed():
				old.Close() // the same person connects again
			default:
				ts.Fatalf("irc open: %s is connected already", name)
			}
		}
		p, err := harness.DialIRC(st.server.IRCAddr)
		ts.Check(err)
		ircPeers.Lock()
		peers[name] = p
		ircPeers.Unlock()
		ts.Setenv("IRC", st.server.IRCAddr)
	case "register":
		if len(args) != 3 && len(args) != 4 {
			ts.Fatalf("%s", usage)
		}
		pass := ""
		if len(args) == 4 {
			pass = args[3]
		}
		if err := ircPeer(ts, name).Register(args[2], pass, expectTimeout); err != nil {
			ts.Fatalf("irc %s: %v", name, err)
		}
	case "send":
		ts.Check(ircPeer(ts, name).Send("%s", strings.Join(args[2:], " ")))
	case "expect":
		timeout := expectTimeout
		rest := args[1:]
		if rest[0] == "-timeout" && !neg {
			if len(rest) < 2 {
				ts.Fatalf("%s", usage)
			}
			d, err := time.ParseDuration(rest[1])
			if err != nil || d <= 0 {
				ts.Fatalf("irc expect: bad -timeout %q", rest[1])
			}
			timeout, rest = d, rest[2:]
		}
		if len(rest) != 2 {
			ts.Fatalf("%s", usage)
		}
		if _, err := regexp.Compile(rest[1]); err != nil {
			ts.Fatalf("irc expect: %v", err)
		}
		p := ircPeer(ts, rest[0])
		if neg {
			if p.Contains(rest[1]) {
				ts.Fatalf("irc %s received /%s/:\n%s", rest[0], rest[1], strings.Join(p.Lines(), "\n"))
			}
			return
		}
		if _, err := p.Expect(rest[1], timeout); err != nil {
			ts.Fatalf("irc %s: %v", rest[0], err)
		}
	case "closed":
		if len(args) != 2 {
			ts.Fatalf("%s", usage)
		}
		if err := ircPeer(ts, name).ExpectClosed(stopTimeout); err != nil {
			ts.Fatalf("irc %s: %v", name, err)
		}
	case "close":
		if len(args) != 2 {
			ts.Fatalf("%s", usage)
		}
		ts.Check(ircPeer(ts, name).Close())
	default:
		ts.Fatalf("%s", usage)
	}
}
