package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"aperture/store"
	"aperture/web/auth"
)

// userCommand runs "aperture user create".
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: aperture user create --username NAME [--admin] [--email E] [--data DIR]")
		return errUsage
	}
	var cfg Config
	fs, check := cfg.flagSet("aperture user create", getenv, stderr)
	username := fs.String("username", "", "the new account's username")
	email := fs.String("email", "", "the account's email (optional)")
	admin := fs.Bool("admin", false, "make the account an administrator")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	if *username == "" {
		fmt.Fprintln(stderr, "aperture user create: --username is required")
		return errUsage
	}
	password, err := readPassword(getenv, stdin, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(cfg.Data, store.Options{Partitions: cfg.Partitions})
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := auth.NewService(st, keyFile(cfg.Data), auth.Config{}, time.Now())
	if err != nil {
		return err
	}
	u, err := svc.CreateUser(ctx, auth.SignUp{Username: *username, Password: password, Email: *email, Admin: *admin}, time.Now())
	if err != nil {
		return err
	}
	role := "user"
	if u.Admin {
		role = "admin"
	}
	fmt.Fprintf(stdout, "created %s %s (id %s)\n", role, u.Username, u.ID)
	return nil
}

// readPassword takes the password from $APERTURE_PASSWORD, else asks on
// the terminal twice without echo, else reads one line from stdin.
func readPassword(getenv func(string) string, stdin io.Reader, stderr io.Writer) (string, error) {
	if pw := getenv("APERTURE_PASSWORD"); pw != "" {
		return pw, nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Repeat password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords do not match")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password given: type it at the prompt, pipe it on stdin, or set APERTURE_PASSWORD")
	}
	return line, nil
}
