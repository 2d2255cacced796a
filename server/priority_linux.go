package server

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// workerNice is the nice value of a password worker's thread: the lowest
// priority there is.
const workerNice = 19

// lowerPriority locks the calling goroutine to its OS thread for good and
// gives that thread the lowest scheduling priority (nice 19; on Linux nice
// is per thread). The goroutine must never unlock the thread: a locked
// goroutine's thread exits with it, so the niced thread never runs anything
// else, such as the loop. See Verifier.work for why.
func lowerPriority() error {
	runtime.LockOSThread()
	return unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), workerNice)
}
