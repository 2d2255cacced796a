// Command chat-server runs the chat server, manages its users file with
// the subcommands useradd, passwd and userdel, and makes a self-signed TLS
// certificate with the subcommand cert.
//
//	chat-server [-addr HOST:PORT] [-users FILE] [-demo] [-guests] [-shutdown-timeout 2s] [-state DIR] [-irc HOST:PORT] [PORT]
//	chat-server useradd [-users FILE] NAME
//	chat-server passwd  [-users FILE] NAME
//	chat-server userdel [-users FILE] NAME
//	chat-server cert -host NAME [-host NAME...] [-cert FILE] [-key FILE] [-days N] [-force]
//
// On start it prints one line to standard output, "chat-server: listening on
// HOST:PORT", with the address actually bound. SIGINT or SIGTERM shut it
// down gracefully (exit status 0); a second Ctrl-C during that shutdown ends
// the process at once. With -irc it also serves IRC clients, and prints
// "chat-server: IRC listening on HOST:PORT" before that line.
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
