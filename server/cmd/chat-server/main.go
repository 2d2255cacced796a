// Command chat-server runs the chat server, manages its users file with
// the subcommands useradd, passwd and userdel, makes a self-signed TLS
// certificate with the subcommand cert, and asks a running server which
// node it is and whether it is ready with the subcommand status.
//
//	chat-server [-addr HOST:PORT] [-users FILE] [-demo] [-guests] [-shutdown-timeout 2s] [-state DIR] [-irc HOST:PORT]
//	            [-tls-cert FILE -tls-key FILE [-tls-addr HOST:PORT] [-irc-tls HOST:PORT]] [-metrics HOST:PORT]
//	            [-nats URL,... | -cluster NAME -cluster-listen HOST:PORT -routes URL,...] [-server-name NAME] [-replicas N] [PORT]
//	chat-server useradd [-users FILE] NAME
//	chat-server passwd  [-users FILE] NAME
//	chat-server userdel [-users FILE] NAME
//	chat-server cert -host NAME [-host NAME...] [-cert FILE] [-key FILE] [-days N] [-force]
//	chat-server status [-timeout D] HOST:PORT
//
// With -tls-cert and -tls-key, -addr serves the chat protocol over TLS;
// -tls-addr HOST:PORT serves TLS there instead and leaves -addr plain, and
// -tls-addr "" serves no chat protocol over TLS (for -irc-tls alone).
// -irc-tls serves IRC over TLS. The certificate files are read again when
// they change, so a renewed certificate needs no restart.
//
// With -cluster the embedded store's NATS is a node of a cluster formed
// with the other chat servers' (each with its own -state), listening for
// their routes on -cluster-listen and connecting to them at -routes; with
// -nats an external NATS deployment keeps the messages. -server-name
// names this node in either, -replicas says how many nodes keep each
// stream. chat-server status HOST:PORT asks the -metrics endpoint of a
// running server (GET /status) and exits 0 if it is ready, 1 if not.
//
// On start it prints to standard output a line for each listener beside
// the main one, the metrics endpoint, which node of a cluster it is, the
// certificate's fingerprint, then the ready line with the address the
// main chat listener actually bound, always last:
//
//	chat-server: IRC listening on HOST:PORT        (with -irc)
//	chat-server: IRC TLS listening on HOST:PORT    (with -irc-tls)
//	chat-server: TLS listening on HOST:PORT        (with -tls-addr beside a plain -addr)
//	chat-server: metrics on http://HOST:PORT/metrics   (with -metrics)
//	chat-server: node NAME of cluster NAME, routes on HOST:PORT to URL, URL (N replicas)   (with -cluster)
//	chat-server: node NAME on NATS URL,URL (N replicas)   (with -nats)
//	chat-server: TLS certificate SHA256:HEX        (whenever a TLS listener is open)
//	chat-server: listening on HOST:PORT            (" (TLS)" follows when it is the TLS one)
//
// -demo adds its accounts and how to connect before the ready line. SIGINT
// or SIGTERM shut the server down gracefully (exit status 0); a second
// Ctrl-C during that shutdown ends the process at once. A command line it
// cannot use exits with status 2; a users file, certificate or key it
// cannot use, or an address it cannot listen on, with status 1.
//
// With -state DIR the room list is kept in DIR/rooms.json and restored at
// the next start; a state file that cannot be read or parsed stops the
// server with exit status 1 rather than start it without its rooms.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
