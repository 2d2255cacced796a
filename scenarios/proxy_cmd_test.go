package scenarios

import (
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"chat/harness"
)

// proxy start
// proxy cut [reset|close]
// proxy blackhole on|off
// proxy refuse on|off
// proxy latency DURATION
// proxy throttle BYTES_PER_SECOND
//
// start puts the fault proxy (harness.Proxy) in front of the server: clients
// started afterwards connect through it ($PROXY is its address). The other
// forms inject a fault: cut every connection with a TCP reset (the default)
// or a clean close; drop all traffic while keeping the sockets open (a
// half-open peer, as a pulled cable looks); refuse new connections (a
// server that is down); delay or throttle the traffic.
func cmdProxy(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: proxy start | cut [reset|close] | blackhole on|off | refuse on|off | latency DURATION | throttle BYTES_PER_SECOND"
	refuseNeg(ts, neg, "proxy")
	if len(args) == 0 {
		ts.Fatalf("%s", usage)
	}
	st := state(ts)
	if args[0] == "start" {
		if len(args) != 1 {
			ts.Fatalf("%s", usage)
		}
		if st.server == nil {
			ts.Fatalf("proxy start: no server: start one with: server start")
		}
		if st.proxy != nil {
			ts.Fatalf("proxy start: a proxy is running already")
		}
		p, err := harness.StartProxy(st.server.Addr)
		ts.Check(err)
		st.proxy = p
		ts.Setenv("PROXY", p.Addr())
		return
	}
	if st.proxy == nil {
		ts.Fatalf("proxy %s: no proxy: start one with: proxy start", args[0])
	}
	switch {
	case args[0] == "cut" && len(args) <= 2:
		mode := harness.CutReset
		if len(args) == 2 {
			switch args[1] {
			case "reset":
			case "close":
				mode = harness.CutClose
			default:
				ts.Fatalf("%s", usage)
			}
		}
		ts.Logf("cut %d connections", st.proxy.Cut(mode))
	case (args[0] == "blackhole" || args[0] == "refuse") && len(args) == 2:
		on := onOff(ts, args[1], usage)
		if args[0] == "blackhole" {
			st.proxy.SetBlackhole(on)
		} else {
			st.proxy.SetRefuse(on)
		}
	case args[0] == "latency" && len(args) == 2:
		d, err := time.ParseDuration(args[1])
		if err != nil {
			ts.Fatalf("proxy latency: %v", err)
		}
		st.proxy.SetLatency(d)
	case args[0] == "throttle" && len(args) == 2:
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 0 {
			ts.Fatalf("proxy throttle: %q is not a number of bytes per second", args[1])
		}
		st.proxy.SetThrottle(n)
	default:
		ts.Fatalf("%s", usage)
	}
}

func onOff(ts *testscript.TestScript, v, usage string) bool {
	switch v {
	case "on":
		return true
	case "off":
		return false
	}
	ts.Fatalf("%s", usage)
	return false
}
