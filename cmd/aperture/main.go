// Command aperture is the self-hosted photo-sharing server in one binary.
//
//	aperture [serve]                 serve the web UI and API (default)
//	aperture user create [--admin]   create an account
//	aperture backup --out FILE       back up while serving
//	aperture restore FILE            restore and verify a backup
//	aperture check [--repair]        verify (and repair) the invariants
//	aperture version                 print build information
//
// Every flag has an APERTURE_* environment equivalent; see --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	getenv, err := withConfigFile(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "aperture: %v\n", err)
		return 2
	}
	switch cmd {
	case "serve":
		m := NewMain(stdout, stderr)
		if err = m.ParseFlags(args, getenv); err == nil {
			err = m.Serve(ctx)
		}
	case "user":
		err = userCommand(ctx, args, getenv, stdin, stdout, stderr)
	case "backup":
		err = backupCommand(ctx, args, getenv, stdout, stderr)
	case "restore":
		err = restoreCommand(ctx, args, getenv, stdout, stderr)
	case "check":
		err = checkCommand(ctx, args, getenv, stdout, stderr)
	case "health":
		err = healthCommand(ctx, args, getenv, stdout, stderr)
	case "reindex":
		err = reindexCommand(ctx, args, getenv, stdout, stderr)
	case "seed":
		err = seedCommand(ctx, args, getenv, stdout, stderr)
	case "cluster":
		err = clusterCommand(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
	case "help", "-h", "--help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "aperture: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
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

func usage(w io.Writer) {
	fmt.Fprint(w, `aperture — a self-hosted photo-sharing service

Usage:
  aperture [serve] [flags]                serve the web UI and API (default)
  aperture user create --username NAME [--admin] [--email E]
                                          create an account (asks for the password,
                                          or reads it from APERTURE_PASSWORD or stdin)
  aperture seed [--users 50] [--posts N] [--no-images]
                                          fill the data directory with a demo community
                                          (or, with --no-images, a benchmark dataset)
  aperture reindex [--data DIR]           rebuild the search index from the database
  aperture backup --out FILE [--data DIR] a consistent backup, taken while the server runs
  aperture restore FILE --data DIR [--force]
                                          verify a backup and restore it (and its index)
  aperture check [--repair] [--data DIR]  verify the invariants; --repair fixes what it can
  aperture health [--addr A]              exit 0 if the server at A answers /healthz
  aperture cluster init --partitions 64 [--data DIR]
                                          once, on a fresh cluster (through this host's node)
  aperture cluster status [--json] [--data DIR]
                                          nodes, partitions, owners, leases and lag
  aperture version                        print build information and library versions

Run "aperture serve --help" for the server's flags.
`)
}
