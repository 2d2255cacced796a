package loadgen

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
)

// Child processes. The parent re-executes its own binary with the hidden
// flag -worker, writes one line of JSON (workerInit) to its stdin, then one
// line per command. The child writes one line of JSON per report to its
// stdout and exits after its result. Errors and panics go to stderr, which
// the parent shares.

// workerFlag is the hidden flag that makes loadgen a child worker.
const workerFlag = "worker"

type workerInit struct {
	Config Config
	Share  share
}

// maxReportLine bounds one JSON line from a child: a result holds a few
// histograms (tens of KB each) and the list of failed sessions.
const maxReportLine = 64 << 20

// RunWorkerProcess is the child side: it runs one worker as the parent asks
// on stdin and reports on stdout. It returns the exit status.
func RunWorkerProcess(stdin io.Reader, stdout io.Writer) int {
	in := bufio.NewReaderSize(stdin, 64<<10)
	dec := json.NewDecoder(in)
	var init workerInit
	if err := dec.Decode(&init); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen worker: read the run from the parent: %v\n", err)
		return 1
	}
	var tlsCfg *tls.Config
	if init.Config.TLS != nil {
		// The child's one TLS configuration: its connections share its
		// session cache.
		var err error
		if tlsCfg, err = init.Config.TLS.clientConfig(init.Config.Addr); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen worker %d: %v\n", init.Share.Index, err)
			return 1
		}
	}
	cmds := make(chan command, 1)
	go func() {
		defer close(cmds)
		for {
			var c command
			if err := dec.Decode(&c); err != nil {
				return // the parent closed stdin or went away: abort
			}
			cmds <- c
		}
	}()
	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	failed := false
	out := func(r report) {
		mu.Lock()
		defer mu.Unlock()
		if err := enc.Encode(r); err != nil && !failed {
			failed = true
			fmt.Fprintf(os.Stderr, "loadgen worker %d: report to the parent: %v\n", init.Share.Index, err)
		}
	}
	newWorker(init.Config, init.Share, tlsCfg).run(cmds, out)
	if failed {
		return 1
	}
	return 0
}

// tagged is a report from worker Index; Kind "exit" means the worker ended.
type tagged struct {
	index int
	r     report
}

// workerHandle is the parent's end of one worker.
type workerHandle struct {
	send func(command) error
	stop func() // abandon: closes the worker's input
}

// startInProcess runs the worker in this process (one process for the
// run), sharing the process's TLS configuration.
func startInProcess(cfg Config, sh share, tlsCfg *tls.Config, reports chan<- tagged) *workerHandle {
	cmds := make(chan command, 1)
	go func() {
		newWorker(cfg, sh, tlsCfg).run(cmds, func(r report) { reports <- tagged{sh.Index, r} })
		reports <- tagged{sh.Index, report{Kind: "exit"}}
	}()
	var once sync.Once
	return &workerHandle{
		send: func(c command) error { cmds <- c; return nil },
		stop: func() { once.Do(func() { close(cmds) }) },
	}
}

// startChild runs the worker in a child process of exe.
func startChild(exe string, cfg Config, sh share, reports chan<- tagged) (*workerHandle, error) {
	cmd := exec.Command(exe, "-"+workerFlag)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start worker %d: %w", sh.Index, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start worker %d: %w", sh.Index, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %d: %w", sh.Index, err)
	}
	enc := json.NewEncoder(stdin)
	if err := enc.Encode(workerInit{Config: cfg, Share: sh}); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("start worker %d: %w", sh.Index, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), maxReportLine)
		for sc.Scan() {
			var r report
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				r = report{Kind: "error", Error: fmt.Sprintf("bad report line: %v", err)}
			}
			reports <- tagged{sh.Index, r}
		}
		end := report{Kind: "exit"}
		if err := cmd.Wait(); err != nil {
			end.Error = fmt.Sprintf("worker process: %v", err)
		}
		reports <- tagged{sh.Index, end}
	}()
	var once sync.Once
	return &workerHandle{
		send: func(c command) error { return enc.Encode(c) },
		stop: func() { once.Do(func() { stdin.Close() }) },
	}, nil
}
