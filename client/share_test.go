package client

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// TestResolveShared checks which names an owner serves from its shared
// directory (S2.16): regular files inside it, also through a symlink that
// stays inside; never an absolute path, a "..", a symlink out (to a file, to
// a device), a directory, a pipe, a missing file or a name with a NUL.
func TestResolveShared(t *testing.T) {
	outside := t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644))
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "report.pdf"), []byte("pdf"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "inner.txt"), []byte("inner"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "docs"), 0o755))
	must(t, os.Symlink("report.pdf", filepath.Join(dir, "inlink")))
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "out")))
	must(t, os.Symlink("/dev/null", filepath.Join(dir, "null")))
	must(t, os.Symlink(outside, filepath.Join(dir, "outdir")))
	must(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	real, err := sharedRoot(dir)
	must(t, err)

	tests := []struct {
		name string
		want string    // the served file, relative to dir; "" when refused
		code wire.Code // when refused
		text string    // part of the refusal's text
	}{
		{"report.pdf", "report.pdf", 0, ""},
		{"sub/inner.txt", "sub/inner.txt", 0, ""},
		{"./report.pdf", "report.pdf", 0, ""},
		{"inlink", "report.pdf", 0, ""},
		{"/etc/passwd", "", wire.ErrNoSuchFile, "absolute path"},
		{filepath.Join(dir, "report.pdf"), "", wire.ErrNoSuchFile, "absolute path"},
		{"../x", "", wire.ErrNoSuchFile, "has a .. in it"},
		{"sub/../report.pdf", "", wire.ErrNoSuchFile, "has a .. in it"},
		{"..", "", wire.ErrNoSuchFile, "has a .. in it"},
		{"out", "", wire.ErrNoSuchFile, "leads outside bob's shared directory"},
		{"outdir/secret", "", wire.ErrNoSuchFile, "leads outside"},
		{"null", "", wire.ErrNoSuchFile, "leads outside"},
		{"docs", "", wire.ErrNoSuchFile, "is a directory"},
		{"fifo", "", wire.ErrNoSuchFile, "not a regular file"},
		{"missing.txt", "", wire.ErrNoSuchFile, "bob has no file named missing.txt"},
		{"report.pdf/x", "", wire.ErrNoSuchFile, "bob has no file named"},
		{"a\x00b", "", wire.ErrNoSuchFile, "is not a file name"},
		{"", "", wire.ErrNoSuchFile, "is not a file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, serr := resolveShared(real, tt.name, "bob")
			if tt.want != "" {
				if serr != nil {
					t.Fatalf("refused: %v", serr)
				}
				if want := filepath.Join(real, tt.want); path != want {
					t.Errorf("path %s, want %s", path, want)
				}
				f, size, serr := openShared(path, tt.name, "bob")
				if serr != nil {
					t.Fatalf("open refused: %v", serr)
				}
				f.Close()
				if size == 0 {
					t.Errorf("size 0")
				}
				return
			}
			if serr == nil {
				t.Fatalf("served %s", path)
			}
			if serr.code != tt.code || !strings.Contains(serr.text, tt.text) {
				t.Errorf("refused with %d %q, want %d and %q", serr.code, serr.text, tt.code, tt.text)
			}
		})
	}
}

func TestOpenSharedUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "locked")
	must(t, os.WriteFile(p, []byte("x"), 0o000))
	real, err := sharedRoot(dir)
	must(t, err)
	path, serr := resolveShared(real, "locked", "bob")
	if serr != nil {
		t.Fatal(serr)
	}
	if _, _, serr := openShared(path, "locked", "bob"); serr == nil || serr.code != wire.ErrUnreadable || !strings.Contains(serr.text, "permission denied") {
		t.Errorf("open of an unreadable file: %v", serr)
	}
}

func TestLocalName(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"report.pdf", "report.pdf", false},
		{"sub/report.pdf", "report.pdf", false},
		{"/etc/passwd", "passwd", false},
		{"../x", "x", false},
		{"Ameca_splendens.jpg", "Ameca_splendens.jpg", false},
		{"a b.txt", "a b.txt", false},
		{"", "", true},
		{"dir/", "", true},
		{"..", "", true},
		{"a/..", "", true},
		{".", "", true},
		{"a\x00b", "", true},
		{strings.Repeat("x", 256), "", true},
	}
	for _, tt := range tests {
		got, err := localName(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("localName(%q) = %q, %v; want %q, bad %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestCandidateName(t *testing.T) {
	tests := []struct {
		base string
		i    int
		want string
	}{
		{"report.pdf", 0, "report.pdf"},
		{"report.pdf", 1, "report (1).pdf"},
		{"report.pdf", 12, "report (12).pdf"},
		{"README", 2, "README (2)"},
		{".profile", 1, ".profile (1)"},
		{"a.tar.gz", 1, "a.tar (1).gz"},
	}
	for _, tt := range tests {
		if got := candidateName(tt.base, tt.i); got != tt.want {
			t.Errorf("candidateName(%q, %d) = %q, want %q", tt.base, tt.i, got, tt.want)
		}
	}
}

// TestKeepFile checks that a received file never replaces an existing one
// (S2.12): it takes the first free numbered name.
func TestKeepFile(t *testing.T) {
	tests := []struct {
		existing []string
		want     string
	}{
		{nil, "report.pdf"},
		{[]string{"report.pdf"}, "report (1).pdf"},
		{[]string{"report.pdf", "report (1).pdf"}, "report (2).pdf"},
		{[]string{"report (1).pdf"}, "report.pdf"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		for _, e := range tt.existing {
			must(t, os.WriteFile(filepath.Join(dir, e), []byte("old "+e), 0o644))
		}
		part := filepath.Join(dir, ".report.pdf.part-1")
		must(t, os.WriteFile(part, []byte("new"), 0o644))
		got, err := keepFile(part, dir, "report.pdf")
		if err != nil || got != tt.want {
			t.Errorf("with %q: keepFile = %q, %v; want %q", tt.existing, got, err, tt.want)
			continue
		}
		for _, e := range tt.existing {
			if b, _ := os.ReadFile(filepath.Join(dir, e)); string(b) != "old "+e {
				t.Errorf("%s was changed to %q", e, b)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(dir, got)); string(b) != "new" {
			t.Errorf("%s holds %q", got, b)
		}
		if _, err := os.Stat(part); !os.IsNotExist(err) {
			t.Errorf("the temporary file is still there: %v", err)
		}
	}
}

func TestSizeText(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"}, {1, "1 byte"}, {1023, "1023 bytes"}, {1024, "1 KiB"},
		{1536, "1.5 KiB"}, {200 << 20, "200 MiB"}, {12_900_000, "12.3 MiB"}, {3 << 30, "3 GiB"},
	}
	for _, tt := range tests {
		if got := sizeText(tt.n); got != tt.want {
			t.Errorf("sizeText(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestProgressThrottle checks when a progress line is due: at most one a
// second and only for ten more percent, or after ten seconds of slow
// progress; never for small files, at 0% or at 100%.
func TestProgressThrottle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const size = 100 << 20
	steps := []struct {
		after time.Duration
		done  int64
		due   bool
	}{
		{100 * time.Millisecond, 50 << 20, false}, // half done but too soon
		{time.Second, 50 << 20, true},             // 50%
		{1500 * time.Millisecond, 55 << 20, false},
		{2 * time.Second, 59 << 20, false}, // only 9 more percent
		{2100 * time.Millisecond, 60 << 20, true},
		{2200 * time.Millisecond, 90 << 20, false}, // within the second
		{5 * time.Second, 61<<20 + 1, false},       // a second on, but only 1 more percent
		{13 * time.Second, 61 << 20, true},         // slow: ten seconds with some progress
		{20 * time.Second, size, false},            // 100%: the final line says it
	}
	p := progress{last: t0}
	for i, s := range steps {
		if got := p.due(t0.Add(s.after), s.done, size); got != s.due {
			t.Errorf("step %d (%v, %d): due %v, want %v", i, s.after, s.done, got, s.due)
		}
	}
	small := progress{last: t0}
	if small.due(t0.Add(time.Minute), 10, 100) {
		t.Errorf("progress shown for a small file")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestFileChangingSize checks that an owner whose file changes size while
// it is read stops without a FileEnd, so the requester keeps nothing.
func TestFileChangingSize(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	must(t, os.WriteFile(p, make([]byte, 1000), 0o644))
	tests := []struct {
		size int64
		want string
	}{
		{2000, "! could not send f to alice: f got shorter while it was being sent\n"},
		{500, "! could not send f to alice: f grew while it was being sent\n"},
	}
	for _, tt := range tests {
		out := newScreen()
		c := newClient(Config{Mode: &menuMode{}, Stdout: out}, false)
		f, err := os.Open(p)
		must(t, err)
		tr := &transfer{send: true, token: "t", peer: "alice", name: "f", file: f, size: tt.size, h: sha256.New(), state: xStreaming}
		c.xfers = []*transfer{tr}
		for c.nextChunk(tr) && !tr.ended {
			tr.out = nil
		}
		c.write()
		if tr.ended || out.String() != tt.want {
			t.Errorf("size %d: ended %v, output %q, want %q", tt.size, tr.ended, out.String(), tt.want)
		}
		if len(c.xfers) != 0 || tr.file != nil {
			t.Errorf("size %d: the transfer was not ended", tt.size)
		}
	}
}
