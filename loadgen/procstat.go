package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"chat/internal/procfs"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports; reading it needs sysconf,
// which needs cgo.
const clockTicks = 100

// procSample is what /proc says about one process at one moment.
type procSample struct {
	At    time.Time
	CPU   time.Duration // utime + stime since the process started
	RSSKB uint64        // VmRSS
	HWMKB uint64        // VmHWM: the peak RSS so far
	// reaped is the CPU of the process's children that ended (cutime,
	// cstime), which readProcTree counts.
	reaped time.Duration
}

// readProc samples process pid from the proc file system mounted at root
// ("/proc" outside tests).
func readProc(root string, pid int) (procSample, error) {
	dir := filepath.Join(root, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return procSample{At: time.Now()}, fmt.Errorf("read process stats: %w", err)
	}
	_, f, ok := procfs.ParseStat(stat)
	if !ok {
		return procSample{At: time.Now()}, fmt.Errorf("%s: no command name in stat", filepath.Join(dir, "stat"))
	}
	return sampleProc(dir, f)
}

// sampleProc samples the process whose /proc directory is dir and whose
// stat fields (procfs.ParseStat) are f.
func sampleProc(dir string, f []string) (procSample, error) {
	s := procSample{At: time.Now()}
	var err error
	if s.CPU, err = fieldsCPU(f); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, "stat"), err)
	}
	if len(f) > 14 {
		cu, err1 := strconv.ParseUint(f[13], 10, 64)
		cs, err2 := strconv.ParseUint(f[14], 10, 64)
		if err1 == nil && err2 == nil {
			s.reaped = time.Duration(cu+cs) * time.Second / clockTicks
		}
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return s, fmt.Errorf("read process status: %w", err)
	}
	s.RSSKB, s.HWMKB = parseStatusMemory(status)
	return s, nil
}

// readProcTree samples process pid together with its children (the
// server's password workers are processes of their own), so what the server
// costs includes them: the CPU of the process, of its children that ended
// (cutime, cstime) and of those alive; the RSS and the peak RSS of all of
// them summed (the sum of peaks bounds the peak of the sum).
func readProcTree(root string, pid int) (procSample, error) {
	s, err := readProc(root, pid)
	if err != nil {
		return s, err
	}
	s.CPU += s.reaped
	for _, kid := range procfs.Children(root, pid) {
		if c, err := sampleProc(filepath.Join(root, strconv.Itoa(kid.PID)), kid.Fields); err == nil {
			s.CPU += c.CPU
			s.RSSKB += c.RSSKB
			s.HWMKB += c.HWMKB
		}
	}
	return s, nil
}

// fieldsCPU returns utime + stime from the fields after the command name,
// which start with field 3 (state): utime is field 14 and stime field 15.
func fieldsCPU(f []string) (time.Duration, error) {
	if len(f) < 13 {
		return 0, fmt.Errorf("stat has %d fields after the name, want at least 13", len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("bad utime or stime: %w", err)
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// parseStatusMemory returns VmRSS and VmHWM in KiB from the content of
// /proc/PID/status; a missing line (a zombie has none) reads as zero.
func parseStatusMemory(status []byte) (rss, hwm uint64) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch key {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &hwm
		default:
			continue
		}
		num, _, _ := strings.Cut(strings.TrimSpace(val), " ")
		if v, err := strconv.ParseUint(num, 10, 64); err == nil {
			*dst = v
		}
	}
	return rss, hwm
}

// cpuPercent is the CPU used between two samples as a percentage of one
// core.
func cpuPercent(a, b procSample) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return 100 * float64(b.CPU-a.CPU) / float64(wall)
}

// ProcessCPU is one process's name and the CPU it has used.
type ProcessCPU struct {
	Name string
	CPU  time.Duration // utime + stime since the process started
}

// AllProcessCPU returns every process in the proc file system at root
// ("/proc" outside tests), kernel threads included, by pid: what a
// benchmark compares before and after a run to see who else took the
// machine's CPU meanwhile.
func AllProcessCPU(root string) map[int]ProcessCPU {
	procs := procfs.All(root)
	all := make(map[int]ProcessCPU, len(procs))
	for _, p := range procs {
		if cpu, err := fieldsCPU(p.Fields); err == nil {
			all[p.PID] = ProcessCPU{Name: p.Name, CPU: cpu}
		}
	}
	return all
}

// readProcTrees samples each of pids with its children (readProcTree) and
// sums them: the servers of a cluster run as one. It fails if any of them
// cannot be read.
func readProcTrees(root string, pids []int) (sum procSample, each []procSample, err error) {
	sum.At = time.Now()
	for _, pid := range pids {
		p, err := readProcTree(root, pid)
		if err != nil {
			return sum, nil, fmt.Errorf("process %d: %w", pid, err)
		}
		each = append(each, p)
		sum.CPU += p.CPU
		sum.RSSKB += p.RSSKB
		sum.HWMKB += p.HWMKB
	}
	return sum, each, nil
}
