package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"

	"chat/internal/procfs"
)

// Children returns the live child processes of pid whose command line
// contains match ("" matches all), with their nice values, read from /proc:
// for specs that check what a server starts (its password workers) and
// that nothing outlives it.
func Children(pid int, match string) map[int]int {
	kids := map[int]int{}
	for _, p := range procfs.Children("/proc", pid) {
		// nice is the 19th field of the stat line, the 17th after the name.
		if len(p.Fields) < 17 || p.State() == "Z" {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.PID), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(match)) {
			continue
		}
		kids[p.PID], _ = strconv.Atoi(p.Fields[16])
	}
	return kids
}
