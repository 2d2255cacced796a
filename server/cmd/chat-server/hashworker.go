package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"chat/server/auth"
)

// hashWorkerCommand is the hidden subcommand the server starts its password
// workers with: it checks passwords sent on standard input until that ends
// (auth.ServeHashWorker). People never run it.
const hashWorkerCommand = "hash-worker"

// hashWorkerArgv is the command line of a password worker: this very
// program, so the worker is always the same version as the server.
func hashWorkerArgv() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{exe, hashWorkerCommand}, nil
}

func hashWorker(stdin io.Reader, stdout, stderr io.Writer) int {
	// One check at a time, on one core: argon2id here uses one lane.
	runtime.GOMAXPROCS(1)
	if err := auth.ServeHashWorker(stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "chat-server %s: %v\n", hashWorkerCommand, err)
		return 1
	}
	return 0
}
