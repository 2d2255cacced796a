package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"chat/internal/term"
	"chat/internal/wire"
	"chat/server/auth"
)

// userCommand runs useradd, passwd or userdel.
func userCommand(cmd string, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("chat-server "+cmd, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintf(stderr, "usage: chat-server %s [-users FILE] NAME\n", cmd)
		fl.PrintDefaults()
	}
	path := fl.String("users", auth.DefaultUsersFile, "users file (NAME:HASH lines)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	name := fl.Arg(0)
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "chat-server %s: "+format+"\n", append([]any{cmd}, args...)...)
		return 1
	}
	if err := wire.ValidName(name); err != nil {
		return fail("bad user name %q: %v", name, err)
	}

	users, err := auth.LoadUsers(*path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && cmd == "useradd":
		users = &auth.Users{} // created by the save below
	case errors.Is(err, fs.ErrNotExist):
		return fail("no users file %s (create it with: chat-server useradd -users %s NAME)", *path, *path)
	default:
		return fail("%v", err)
	}

	switch cmd {
	case "useradd":
		if users.Has(name) {
			return fail("user %s already exists in %s (change the password with: chat-server passwd -users %s %s)", name, *path, *path, name)
		}
	case "passwd", "userdel":
		if !users.Has(name) {
			return fail("no user %s in %s", name, *path)
		}
	}

	if err := editUsers(cmd, users, name, stdin, stderr); err != nil {
		return fail("%v", err)
	}
	if err := users.Save(*path); err != nil {
		return fail("%v", err)
	}
	switch cmd {
	case "useradd":
		fmt.Fprintf(stdout, "chat-server: added user %s to %s\n", name, *path)
	case "passwd":
		fmt.Fprintf(stdout, "chat-server: changed the password of %s in %s\n", name, *path)
	case "userdel":
		fmt.Fprintf(stdout, "chat-server: deleted user %s from %s\n", name, *path)
	}
	return 0
}

// readNewPassword reads the new password: typed twice with starred echo on
// a terminal, or one line of standard input otherwise (for scripts).
func readNewPassword(stdin *os.File, prompts io.Writer) (string, error) {
	if !term.IsTerminal(int(stdin.Fd())) {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			if errors.Is(err, io.EOF) {
				return "", errors.New("no password on standard input")
			}
			return "", fmt.Errorf("read password: %w", err)
		}
		return checkPassword(strings.TrimRight(line, "\r\n"))
	}
	pw, err := term.ReadPassword(stdin, prompts, "Password: ")
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	again, err := term.ReadPassword(stdin, prompts, "Repeat password: ")
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if again != pw {
		return "", errors.New("the passwords do not match; nothing changed")
	}
	return checkPassword(pw)
}

func checkPassword(pw string) (string, error) {
	switch {
	case pw == "":
		return "", errors.New("empty password")
	case len(pw) > wire.MaxSecretBytes:
		return "", fmt.Errorf("password too long: at most %d bytes", wire.MaxSecretBytes)
	}
	return pw, nil
}

// editUsers deletes name (userdel), or asks for a new password and adds
// name with it (useradd) or changes name's (passwd).
func editUsers(cmd string, users *auth.Users, name string, stdin *os.File, stderr io.Writer) error {
	if cmd == "userdel" {
		return users.Delete(name)
	}
	pw, err := readNewPassword(stdin, stderr)
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	if cmd == "useradd" {
		return users.Add(name, hash)
	}
	return users.SetPassword(name, hash)
}
