package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// A config file (TOML) names flags by their names: addr = "0.0.0.0:8080",
// rate-posts = "50/1h", warm = true. Precedence, highest first: flags on
// the command line, APERTURE_* environment variables, the config file,
// the defaults. The file is named by --config FILE or $APERTURE_CONFIG.

// configPath finds --config in args (either form) or the environment.
func configPath(args []string, getenv func(string) string) string {
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return getenv("APERTURE_CONFIG")
}

// withConfigFile returns getenv with the config file's values beneath the
// environment's. It fails for an unreadable file, bad TOML, or a key that
// is not a flag.
func withConfigFile(args []string, getenv func(string) string) (func(string) string, error) {
	path := configPath(args, getenv)
	if path == "" {
		return getenv, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var raw map[string]any
	if err := toml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	var probe Config
	fs, _ := probe.flagSet("config", func(string) string { return "" }, io.Discard)
	values := map[string]string{}
	for k, v := range raw {
		if fs.Lookup(k) == nil || k == "config" {
			return nil, fmt.Errorf("config file %s: %q is not a setting (settings are named like the flags of aperture serve --help)", path, k)
		}
		values["APERTURE_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))] = fmt.Sprint(v)
	}
	return func(key string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return values[key]
	}, nil
}
