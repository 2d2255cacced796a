package auth

import (
	"os/exec"
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

// startNiced starts cmd from a thread at the lowest priority: a new process
// takes the scheduling policy and priority of the thread that forked it, and
// every thread it creates takes its creator's, so the whole child runs at
// that priority (setting it afterwards from outside would reach only the
// child's first thread).
//
// The child runs under SCHED_IDLE, at nice 19 where that policy is refused.
// Nice 19 only weighs the child lightly: a loop thread that wakes while a
// check runs can still wait for the child's time slice to end, which is
// milliseconds of every reply during a login storm. The kernel preempts a
// SCHED_IDLE task as soon as any other task wants its CPU. The child is a
// process of its own, so no garbage collection of the server waits for it.
func startNiced(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread exits with this goroutine, and its
		// priority with it.
		runtime.LockOSThread()
		unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), workerNice)
		unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_IDLE, Nice: workerNice}, 0)
		errc <- cmd.Start()
	}()
	return <-errc
}
