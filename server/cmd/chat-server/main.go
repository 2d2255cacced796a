// Command chat-server runs the chat server, manages its users file with
// the subcommands useradd, passwd and userdel, and makes a self-signed TLS
// certificate with the subcommand cert.
//
//	chat-server [-addr HOST:PORT] [-users FILE] [-demo] [-guests] [-shutdown-timeout 2s] [-state DIR] [-irc HOST:PORT]
//	            [-tls-cert FILE -tls-key FILE [-tls-addr HOST:PORT] [-irc-tls HOST:PORT]] [PORT]
//	chat-server useradd [-users FILE] NAME
//	chat-server passwd  [-users FILE] NAME
//	chat-server userdel [-users FILE] NAME
//	chat-server cert -host NAME [-host NAME...] [-cert FILE] [-key FILE] [-days N] [-force]
//
// With -tls-cert and -tls-key, -addr serves the chat protocol over TLS;
// -tls-addr HOST:PORT serves TLS there instead and leaves -addr plain, and
// -tls-addr "" serves no chat protocol over TLS (for -irc-tls alone).
// -irc-tls serves IRC over TLS. The certificate files are read again when
// they change, so a renewed certificate needs no restart.
//
// On start it prints to standard output a line for each listener beside
// the main one, then the certificate's fingerprint, then the ready line
// with the address the main chat listener actually bound, always last:
//
//	chat-server: IRC listening on HOST:PORT        (with -irc)
//	chat-server: IRC TLS listening on HOST:PORT    (with -irc-tls)
//	chat-server: TLS listening on HOST:PORT        (with -tls-addr beside a plain -addr)
//	chat-server: metrics on http://HOST:PORT/metrics   (with -metrics)
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
