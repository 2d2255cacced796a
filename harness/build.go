package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Names of the binaries, as installed in the directory Binaries returns.
const (
	ServerBinary = "chat-server"
	ClientBinary = "chat"
)

// BinDirEnv names a directory that already holds both binaries (the Makefile
// builds them once and sets it), so test processes skip their own build.
const BinDirEnv = "CHAT_BIN_DIR"

var build struct {
	once sync.Once
	dir  string
	err  error
}

// Binaries returns a directory holding chat-server and chat. It uses
// $CHAT_BIN_DIR when that holds both; otherwise it builds them into a
// temporary directory, once per process, so every spec runs the same build.
func Binaries() (dir string, err error) {
	if d := os.Getenv(BinDirEnv); d != "" && hasBinaries(d) {
		return d, nil
	}
	build.once.Do(func() { build.dir, build.err = buildBinaries() })
	return build.dir, build.err
}

func hasBinaries(dir string) bool {
	for _, name := range []string{ServerBinary, ClientBinary} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func buildBinaries() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	// The directory lives as long as the process: every spec of a run
	// shares the build, and the OS temp cleaner removes it later.
	dir, err := os.MkdirTemp("", "chat-bin-")
	if err != nil {
		return "", fmt.Errorf("build binaries: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"chat/server/cmd/chat-server", "chat/client/cmd/chat")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build the chat binaries: %w\n%s", err, out)
	}
	return dir, nil
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod, so the build works from any package's test directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// RemoveBuilt removes the directory Binaries built into, if it built one
// in this process; binaries found through $CHAT_BIN_DIR are left alone. Call
// it once every test of the process is done.
func RemoveBuilt() error {
	if build.dir == "" {
		return nil
	}
	return os.RemoveAll(build.dir)
}
