package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Children returns the live child processes of pid whose command line
// contains match ("" matches all), with their nice values, read from /proc:
// for specs that check what a server starts (its password workers) and
// that nothing outlives it.
func Children(pid int, match string) map[int]int {
	kids := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	parent := strconv.Itoa(pid)
	for _, e := range ents {
		kid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(match)) {
			continue
		}
		// The fields after "(command name) " are state, ppid, ...; nice is
		// the 19th field of the line, the 17th of these.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 17 || f[1] != parent || f[0] == "Z" {
			continue
		}
		kids[kid], _ = strconv.Atoi(f[16])
	}
	return kids
}
