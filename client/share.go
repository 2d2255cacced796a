package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// The owner's side of a file transfer: which names it serves.

// maxFileName bounds a requested file name, in bytes (PATH_MAX).
const maxFileName = 4096

// shareError says why an owner does not serve a requested name: the Code
// and Text of its Refuse (docs/PROTOCOL.md, "File transfer").
type shareError struct {
	code wire.Code
	text string
}

func (e *shareError) Error() string { return e.text }

// resolveShared finds the file that name means in the shared directory dir
// (whose real path, symlinks resolved, is real), or says why it is not
// served. Only regular files inside the directory are served: not an
// absolute path, not a name with a ".." element or a NUL, not a path that
// leads out of the directory through a symlink, not a directory, device,
// pipe or socket. owner is the owner's name, for the texts the requester
// reads. It returns the file's real path.
func resolveShared(real, name, owner string) (string, *shareError) {
	if owner == "" {
		owner = "the owner"
	}
	refuse := func(format string, a ...any) (string, *shareError) {
		return "", &shareError{code: wire.ErrNoSuchFile, text: fmt.Sprintf(format, a...)}
	}
	switch {
	case name == "" || strings.ContainsRune(name, 0) || len(name) > maxFileName:
		return refuse("%q is not a file name", clip(name))
	case filepath.IsAbs(name):
		return refuse("%s is an absolute path: only files in %s's shared directory are served", clip(name), owner)
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return refuse("%s has a .. in it: only files in %s's shared directory are served", clip(name), owner)
		}
	}
	path, err := filepath.EvalSymlinks(filepath.Join(real, name))
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENOTDIR):
		return refuse("%s has no file named %s", owner, clip(name))
	case errors.Is(err, fs.ErrPermission):
		return "", &shareError{code: wire.ErrUnreadable, text: fmt.Sprintf("%s cannot read %s: permission denied", owner, clip(name))}
	case err != nil:
		return "", &shareError{code: wire.ErrUnreadable, text: fmt.Sprintf("%s cannot read %s: %s", owner, clip(name), errText(err))}
	}
	if rel, err := filepath.Rel(real, path); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return refuse("%s leads outside %s's shared directory, so it is not served", clip(name), owner)
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return refuse("%s has no file named %s", owner, clip(name))
	case st.IsDir():
		return refuse("%s is a directory, not a file", clip(name))
	case !st.Mode().IsRegular():
		return refuse("%s is not a regular file (a device, pipe or socket), so it is not served", clip(name))
	}
	return path, nil
}

// openShared opens a file resolveShared found and returns it with its size.
// The open does not follow a symlink put in its place since, nor block on
// a pipe; the opened file is checked again to be a regular file.
func openShared(path, name, owner string) (*os.File, int64, *shareError) {
	if owner == "" {
		owner = "the owner"
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return nil, 0, &shareError{code: wire.ErrUnreadable, text: fmt.Sprintf("%s cannot read %s: permission denied", owner, clip(name))}
	case err != nil:
		return nil, 0, &shareError{code: wire.ErrUnreadable, text: fmt.Sprintf("%s cannot read %s: %s", owner, clip(name), errText(err))}
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, &shareError{code: wire.ErrNoSuchFile, text: fmt.Sprintf("%s is not a regular file, so it is not served", clip(name))}
	}
	return f, st.Size(), nil
}

// sharedRoot returns the real path of the shared directory dir.
func sharedRoot(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// localName returns the name a requested file is stored under: the last
// element of what was asked for (the owner decides what the whole name
// means; the requester never writes anywhere but its own directory), or an error text when that is no file name.
func localName(name string) (string, error) {
	switch {
	case name == "" || strings.ContainsRune(name, 0):
		return "", fmt.Errorf("%q is not a file name", clip(name))
	case len(name) > maxFileName:
		return "", fmt.Errorf("a file name has at most %d bytes", maxFileName)
	}
	base := name[strings.LastIndexByte(name, '/')+1:]
	if base == "" || base == "." || base == ".." {
		return "", fmt.Errorf("%s does not end in a file name", clip(name))
	}
	if len(base) > 255 {
		return "", fmt.Errorf("%s is longer than a file name can be here (255 bytes)", clip(base))
	}
	return base, nil
}

// candidateName is the i-th name tried for a received file whose own name
// base is taken: report.pdf, report (1).pdf, report (2).pdf, …
func candidateName(base string, i int) string {
	if i == 0 {
		return base
	}
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	if stem == "" {
		// ".profile" is all stem.
		stem, ext = base, ""
	}
	return fmt.Sprintf("%s (%d)%s", stem, i, ext)
}

// keepFile moves the verified temporary file part into dir under base, or
// under the first free candidateName if base is taken: never over an
// existing file, even one created meanwhile (the move itself refuses to
// replace). It returns the name used.
func keepFile(part, dir, base string) (string, error) {
	for i := 0; i < 1000; i++ {
		name := candidateName(base, i)
		target := filepath.Join(dir, name)
		err := unix.Renameat2(unix.AT_FDCWD, part, unix.AT_FDCWD, target, unix.RENAME_NOREPLACE)
		if err == nil {
			return name, nil
		}
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
			return "", err
		}
		// A file system without RENAME_NOREPLACE: a hard link also
		// refuses an existing name.
		if err := os.Link(part, target); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return "", err
		}
		_ = os.Remove(part)
		return name, nil
	}
	return "", fmt.Errorf("%s and 999 numbered variants of it exist already", base)
}

// sizeText formats a file size for a person: "0 bytes", "1 byte",
// "12.3 KiB", "200 MiB".
func sizeText(n int64) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	}
	v, unit := float64(n)/(1<<10), "KiB"
	switch {
	case n >= 1<<30:
		v, unit = float64(n)/(1<<30), "GiB"
	case n >= 1<<20:
		v, unit = float64(n)/(1<<20), "MiB"
	}
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + unit
}
