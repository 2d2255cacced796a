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

// hashWorkers returns the command line of the password workers, or nil
// when this program cannot be found: then the server checks passwords in
// its own process, on threads of the lowest priority, each holding a Go P
// meanwhile (server/auth/verifier.go), so it gets one P more for each and
// the loop keeps as many as there are cores.
func hashWorkers(workers int, logf func(string, ...any)) []string {
	argv, err := hashWorkerArgv()
	if err != nil {
		logf("cannot find this program to start password workers (%v): checking passwords in this process", err)
		moreProcs.Do(func() { runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + workers) })
	}
	return argv
}
