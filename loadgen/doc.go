// Package loadgen is the chat load generator (bin/loadgen). It
// opens thousands of sessions to a chat server over the real protocol
// (internal/wire), logs them in, spreads them over rooms, sends room
// messages at a fixed offered rate and measures what comes back: connect and
// login time, delivery latency in an HdrHistogram, deliveries per second,
// lost, duplicated and reordered deliveries, errors, and the CPU and memory
// of the server and of loadgen itself.
//
// The load is open loop: every message is stamped with its sender, a
// per-sender sequence number and the time it was meant to be sent, and
// latency is measured from that intended time. A server that stalls
// therefore shows its stall in the latency instead of slowing the load down
// (coordinated omission).
//
// With -proto irc the sessions speak IRC (RFC 1459/2812) instead, to our
// server's IRC listener or any IRC server: they register, join their
// room's channel and send PRIVMSG with the same stamp, so the same checks
// and histograms compare servers of any make (irc.go, irc_client.go,
// irc_conn.go). peer.go runs Debian's ngircd and InspIRCd for that
// comparison (make bench, docs/BENCHMARKS.md, Peers).
//
// The crash profile (crash.go) is the acceptance test of durable history:
// it kills the server it started with SIGKILL and restarts it on the same
// state directory while rooms traffic runs; its sessions resume as the chat
// client does, and a checker (crash_check.go) compares every acknowledged
// Say with what every member was shown. It runs in one process only.
//
// One process can hold only as many sessions as its descriptor limit allows,
// so with -procs K the parent re-executes itself K times; each child takes a
// share of the sessions, reports progress and its result as JSON lines on
// stdout, and the parent merges them, histograms included.
package loadgen
