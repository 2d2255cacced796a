package client

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	fpA = "SHA256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	fpB = "SHA256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestParseKnown(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		entries  []knownEntry
		problems []int // line numbers
		lines    int
	}{
		{name: "empty"},
		{
			name:    "one entry",
			data:    "example.org:7777 " + fpA + "\n",
			entries: []knownEntry{{"example.org:7777", fpA, 1}},
			lines:   1,
		},
		{
			name: "comments, blank lines, spaces, no final newline",
			data: "# servers\n\n  127.0.0.1:4000\t" + fpA + "  \n[::1]:4000 " + fpB,
			entries: []knownEntry{
				{"127.0.0.1:4000", fpA, 3},
				{"[::1]:4000", fpB, 4},
			},
			lines: 4,
		},
		{
			name:    "host in capitals, fingerprint as openssl prints it",
			data:    "Example.ORG:7777 sha256:" + strings.Repeat("AA:", 31) + "AA\n",
			entries: []knownEntry{{"example.org:7777", fpA, 1}},
			lines:   1,
		},
		{
			name: "corrupt lines are skipped, the others kept",
			data: "a:1 " + fpA + "\n" +
				"only-one-field\n" + // 2
				"b:2 SHA256:abc\n" + // 3: a short fingerprint
				"no-port " + fpA + "\n" + // 4
				"c:3 " + fpA + " extra\n" + // 5
				":4 " + fpA + "\n" + // 6: no host
				"d:5 " + fpB + "\n",
			entries:  []knownEntry{{"a:1", fpA, 1}, {"d:5", fpB, 7}},
			problems: []int{2, 3, 4, 5, 6},
			lines:    7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := parseKnown([]byte(tt.data))
			if !reflect.DeepEqual(ks.entries, tt.entries) {
				t.Errorf("entries %+v, want %+v", ks.entries, tt.entries)
			}
			var lines []int
			for _, p := range ks.problems {
				lines = append(lines, p.line)
				if p.text == "" {
					t.Errorf("line %d: a problem without a reason", p.line)
				}
			}
			if !reflect.DeepEqual(lines, tt.problems) {
				t.Errorf("problems on lines %v, want %v", lines, tt.problems)
			}
			if ks.lines != tt.lines {
				t.Errorf("%d lines, want %d", ks.lines, tt.lines)
			}
		})
	}
}

func TestKnownLookup(t *testing.T) {
	ks := parseKnown([]byte("a.example:1 " + fpA + "\nb.example:1 " + fpA + "\nA.example:1 " + fpB + "\na.example:2 " + fpB + "\n"))
	tests := []struct {
		addr  string
		lines []int
	}{
		{"a.example:1", []int{1, 3}},
		{"A.EXAMPLE:1", []int{1, 3}},
		{"a.example:2", []int{4}},
		{"c.example:1", nil},
		{"not an address", nil},
	}
	for _, tt := range tests {
		var lines []int
		for _, e := range ks.lookup(tt.addr) {
			lines = append(lines, e.line)
		}
		if !reflect.DeepEqual(lines, tt.lines) {
			t.Errorf("lookup(%q) found lines %v, want %v", tt.addr, lines, tt.lines)
		}
	}
}

func TestAddKnown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "chat")
	path := filepath.Join(dir, "known_servers")

	line, err := addKnown(path, "Example.org:7777", fpA)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %04o, want 0600", st.Mode().Perm())
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v, mode %04o, want 0700", err, st.Mode().Perm())
	}
	ks, err := readKnown(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []knownEntry{{"example.org:7777", fpA, line}}; !reflect.DeepEqual(ks.entries, want) || len(ks.problems) > 0 {
		t.Fatalf("after the first add: %+v, problems %v; want %+v", ks.entries, ks.problems, want)
	}

	// A line someone typed without its newline does not swallow the next.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("typed:1 " + fpB)
	f.Close()
	line2, err := addKnown(path, "other:1", fpB)
	if err != nil {
		t.Fatal(err)
	}
	if line2 != line+2 {
		t.Errorf("second entry on line %d, want %d", line2, line+2)
	}
	ks, _ = readKnown(path)
	if got := ks.lookup("other:1"); len(got) != 1 || got[0].line != line2 {
		t.Errorf("lookup after the second add: %+v", got)
	}
	if got := ks.lookup("typed:1"); len(got) != 1 {
		t.Errorf("the typed line was lost: %+v", ks.entries)
	}

	if _, err := addKnown(path, "no port", fpA); err == nil {
		t.Error("an entry without a port was added")
	}
}

func TestReadKnownMissing(t *testing.T) {
	ks, err := readKnown(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(ks.entries) > 0 {
		t.Errorf("a missing file: %+v, %v; want nothing known and no error", ks, err)
	}
}

func TestDefaultKnownServers(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	got, err := DefaultKnownServers()
	if err != nil || got != filepath.Join(dir, "chat", "known_servers") {
		t.Errorf("DefaultKnownServers() = %q, %v", got, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "")
	if got, err := DefaultKnownServers(); err == nil {
		t.Errorf("without HOME: %q, want an error", got)
	}
}
