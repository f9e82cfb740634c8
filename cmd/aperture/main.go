// Command aperture is the self-hosted photo-sharing server in one binary.
//
//	aperture [serve]                 serve the web UI and API (default)
//	aperture user create [--admin]   create an account
//	aperture backup --out FILE       back up while serving
//	aperture restore FILE            restore and verify a backup
//	aperture check [--repair]        verify (and repair) the invariants
//	aperture version                 print build information
//
// The commands are listed in commands.go; "aperture --help" lists them,
// "aperture COMMAND --help" shows a command's flags. Every flag has an
// APERTURE_* environment equivalent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches to a command and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := "serve"
	switch {
	case len(args) > 0 && isHelp(args[0]):
		name, args = "help", args[1:]
	case len(args) > 0 && args[0] != "" && args[0][0] != '-':
		name, args = args[0], args[1:]
	}
	if name == "help" {
		if len(args) == 0 {
			usage(stdout)
			return 0
		}
		name, args = args[0], append(args[1:len(args):len(args)], "--help")
	}
	c, ok := findCommand(name)
	if !ok {
		fmt.Fprintf(stderr, "aperture: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	if len(c.subcommands) > 0 && len(args) > 0 && isHelp(args[0]) {
		args = append([]string{c.subcommands[0]}, args...) // the subcommands share their flags
	}
	getenv, err := withConfigFile(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "aperture: %v\n", err)
		return 2
	}
	err = c.run(ctx, args, getenv, stdin, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case isFlagError(err):
		full := "aperture " + name
		if len(args) > 0 && slices.Contains(c.subcommands, args[0]) {
			full += " " + args[0]
		}
		fmt.Fprintf(stderr, "%s: %v\nrun \"%s --help\" for its flags\n", full, err, full)
		return 2
	case errors.Is(err, errUsage):
		if err != errUsage { // a bare errUsage was explained already
			fmt.Fprintf(stderr, "aperture: %v\n", err)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "aperture: %v\n", err)
		return 1
	}
}

var errUsage = errors.New("usage")

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// isFlagError reports whether err is the flag package's complaint about
// the command line (an unknown flag, a missing or malformed value).
func isFlagError(err error) bool {
	for _, prefix := range []string{"flag provided but not defined", "bad flag syntax", "flag needs an argument",
		"invalid value ", "invalid boolean value ", "invalid boolean flag "} {
		if strings.HasPrefix(err.Error(), prefix) {
			return true
		}
	}
	return false
}

// usage prints the commands, one line each.
func usage(w io.Writer) {
	fmt.Fprint(w, "aperture — a self-hosted photo-sharing service\n\nUsage:\n")
	for _, c := range commands() {
		line := strings.TrimSpace("aperture " + c.name + " " + c.synopsis)
		if len(line) > 38 {
			fmt.Fprintf(w, "  %s\n  %-38s  %s\n", line, "", c.purpose)
		} else {
			fmt.Fprintf(w, "  %-38s  %s\n", line, c.purpose)
		}
	}
	fmt.Fprint(w, `
Run "aperture COMMAND --help" for a command's flags; "aperture serve --help"
shows the server's flags. Every flag has an APERTURE_* environment variable,
and the server's settings can live in a TOML file named by --config.
`)
}
