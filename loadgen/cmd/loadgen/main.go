// Command loadgen is the chat load generator; see package chat/loadgen.
package main

import (
	"os"

	"chat/loadgen"
)

func main() {
	os.Exit(loadgen.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
