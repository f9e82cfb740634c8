package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one of aperture's commands: what "aperture --help" lists
// and what "aperture NAME --help" shows.
type command struct {
	name     string // the word after aperture
	synopsis string // its arguments, for the usage line
	purpose  string // one line
	// settings are the server settings (flags, APERTURE_* variables,
	// config file keys) the command reads; nil means all of them.
	settings []string
	// usage replaces a setting's description where the command reads it
	// differently (health's --addr is the server to ask).
	usage map[string]string
	// subcommands are the words that may follow name ("user create").
	subcommands []string
	run         func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands returns every command, in the order "aperture --help" lists them.
func commands() []command {
	return []command{
		{name: "serve", synopsis: "[flags]", purpose: "serve the web UI and the API (the default command)",
			run: func(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
				m := NewMain(stdout, stderr)
				if err := m.ParseFlags(args, getenv); err != nil {
					return err
				}
				return m.Serve(ctx)
			}},
		{name: "user", synopsis: "create --username NAME [--admin] [--email E]",
			purpose: "create an account (password from the terminal, stdin or $APERTURE_PASSWORD)", subcommands: []string{"create"},
			settings: []string{"data", "partitions"}, run: userCommand},
		{name: "seed", synopsis: "[--users 50] [--posts N] [--no-images]",
			purpose:  "fill the data directory with a demo community, or benchmark data",
			settings: []string{"data", "partitions"}, run: noStdin(seedCommand)},
		{name: "import", synopsis: "instagram|aperture --user NAME FILE.zip",
			purpose:     "import an Instagram download or an aperture export into an account (stop the server first)",
			subcommands: []string{"instagram", "aperture"},
			settings:    []string{"data", "partitions", "quota-mb", "max-upload-mb", "max-megapixels", "decoders", "decode-memory-mb"},
			run:         noStdin(importCommand)},
		{name: "export", synopsis: "--user NAME [--out FILE.zip]",
			purpose:  "write an account's export: profile, posts and photos, comments, likes, connections (stop the server first)",
			settings: []string{"data", "partitions", "public-url", "addr"},
			usage:    map[string]string{"addr": "the address the server listens on (for links, when --public-url is not set)"},
			run:      noStdin(exportCommand)},
		{name: "reindex", synopsis: "[--data DIR]", purpose: "rebuild the search index from the database (stop the server first)",
			settings: []string{"data"}, run: noStdin(reindexCommand)},
		{name: "backup", synopsis: "--out FILE [--data DIR]", purpose: "write a consistent backup, also while the server runs",
			settings: []string{"data"}, run: noStdin(backupCommand)},
		{name: "restore", synopsis: "FILE --data DIR [--force]", purpose: "verify a backup, restore it and rebuild its search index",
			settings: []string{"data"}, run: noStdin(restoreCommand)},
		{name: "check", synopsis: "[--repair] [--data DIR]", purpose: "verify the invariants; --repair fixes what it can",
			settings: []string{"data"}, run: noStdin(checkCommand)},
		{name: "health", synopsis: "[--addr HOST:PORT]", purpose: "exit 0 if the server at --addr answers /healthz",
			settings: []string{"addr", "tls-cert"},
			usage: map[string]string{
				"addr":     "address (host:port) of the server to check",
				"tls-cert": "the server serves HTTPS (its --tls-cert; set means ask over HTTPS, without verifying the certificate)",
			},
			run: noStdin(healthCommand)},
		{name: "cluster", synopsis: "init --partitions 64 [--replicas 3] | status [--json]",
			purpose: "set up a new cluster once, or show its nodes and partitions", subcommands: []string{"init", "status"},
			settings: []string{"data", "partitions", "cluster-secret"},
			usage: map[string]string{
				"data":       "data directory of the node running on this host",
				"partitions": "init: the cluster's partitions, fixed for its life (0: 64)",
			},
			run: noStdin(clusterCommand)},
		{name: "version", purpose: "print build information and library versions",
			run: func(_ context.Context, _ []string, _ func(string) string, _ io.Reader, stdout, _ io.Writer) error {
				fmt.Fprintln(stdout, versionString())
				return nil
			}},
	}
}

// noStdin adapts a command that reads no input.
func noStdin(run func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error) func(context.Context, []string, func(string) string, io.Reader, io.Writer, io.Writer) error {
	return func(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
		return run(ctx, args, getenv, stdout, stderr)
	}
}

// findCommand returns the command called name.
func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// lookupCommand returns the command a flag set's name ("aperture cluster
// init") belongs to; for another name, one that reads every setting.
func lookupCommand(flagSetName string) command {
	if f := strings.Fields(flagSetName); len(f) > 1 && f[0] == "aperture" {
		if c, ok := findCommand(f[1]); ok {
			return c
		}
	}
	return command{name: flagSetName}
}

// help prints the command's purpose, usage line and flags.
func (c command) help(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "aperture %s — %s\n\nUsage:\n  %s\n\nFlags:\n", c.name, c.purpose, strings.TrimSpace("aperture "+c.name+" "+c.synopsis))
	fs.VisitAll(func(f *flag.Flag) {
		typ, text := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		switch f.DefValue {
		case "", "0", "false", "0s":
		default:
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, text)
	})
}
