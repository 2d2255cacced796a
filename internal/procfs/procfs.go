// Package procfs reads Linux's proc file system: which processes there are
// and which are a process's children. Every function takes the root the
// file system is mounted at ("/proc" outside tests).
package procfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is one process as its stat file shows it.
type Proc struct {
	PID  int
	Name string // the command name, without its parentheses
	// Fields are the stat fields after the command name, from field 3
	// (the state) on: Fields[1] is the parent's pid.
	Fields []string
}

// State is the process's state letter ("Z" for a zombie).
func (p Proc) State() string { return p.Fields[0] }

// ParseStat parses the content of /proc/PID/stat into the command name and
// the fields after it. The name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so the fields are counted from the last
// ')'. ok is false when there is no name in parentheses.
func ParseStat(stat []byte) (name string, fields []string, ok bool) {
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return "", nil, false
	}
	return string(stat[open+1 : end]), strings.Fields(string(stat[end+1:])), true
}

// All returns every process under root, kernel threads included. One that
// ends while All reads, or whose stat makes no sense, is left out.
func All(root string) []Proc {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	procs := make([]Proc, 0, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process: self, sys, ...
		}
		stat, err := os.ReadFile(filepath.Join(root, e.Name(), "stat"))
		if err != nil {
			continue
		}
		if name, f, ok := ParseStat(stat); ok && len(f) > 1 {
			procs = append(procs, Proc{PID: pid, Name: name, Fields: f})
		}
	}
	return procs
}

// Children returns the processes whose parent is pid, zombies included.
func Children(root string, pid int) []Proc {
	parent := strconv.Itoa(pid)
	var kids []Proc
	for _, p := range All(root) {
		if p.Fields[1] == parent {
			kids = append(kids, p)
		}
	}
	return kids
}
