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
}

// readProc samples process pid from the proc file system mounted at root
// ("/proc" outside tests).
func readProc(root string, pid int) (procSample, error) {
	dir := filepath.Join(root, strconv.Itoa(pid))
	s := procSample{At: time.Now()}
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return s, fmt.Errorf("read process stats: %w", err)
	}
	if s.CPU, err = parseStatCPU(stat); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, "stat"), err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return s, fmt.Errorf("read process status: %w", err)
	}
	s.RSSKB, s.HWMKB = parseStatusMemory(status)
	return s, nil
}

// parseStatCPU returns utime + stime from the content of /proc/PID/stat. The
// command name (field 2) is in parentheses and may hold spaces and
// parentheses itself, so the fields are counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name in stat")
	}
	// Fields after the name start with field 3 (state); utime is field 14
	// and stime field 15.
	f := strings.Fields(string(stat[i+1:]))
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
