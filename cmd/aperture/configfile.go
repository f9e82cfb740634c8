package main

import (
	"errors"
	"flag"
	"fmt"
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
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	probe.bind(fs, func(string) bool { return true }, nil, func(string) string { return "" }, func(string, string) string { return "" })
	values := map[string]string{}
	shown := map[string]string{} // env variable → key = value, as in the file
	for k, v := range raw {
		if fs.Lookup(k) == nil || k == "config" {
			return nil, fmt.Errorf("%s: %q is not a setting (settings are named like the flags of aperture serve --help)", fileLine(path, b, k), k)
		}
		env := "APERTURE_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		values[env] = fmt.Sprint(v)
		if s, ok := v.(string); ok {
			shown[env] = fmt.Sprintf("%s = %q", k, s)
		} else {
			shown[env] = fmt.Sprintf("%s = %v", k, v)
		}
	}
	// Malformed values are refused here, where the file and line can be
	// named; the commands then see only good ones from the file.
	bad := probe.bind(flag.NewFlagSet("config", flag.ContinueOnError), func(string) bool { return true }, nil,
		func(env string) string { return values[env] },
		func(env, _ string) string {
			return fileLine(path, b, strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "APERTURE_"), "_", "-"))) + ": " + shown[env]
		})
	if len(bad) > 0 {
		return nil, errors.New(strings.Join(bad, "; "))
	}
	return func(key string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return values[key]
	}, nil
}

// fileLine returns "path:line" for the line of the config file text b
// that sets key, or path alone if none is found.
func fileLine(path string, b []byte, key string) string {
	for i, line := range strings.Split(string(b), "\n") {
		k, _, ok := strings.Cut(line, "=")
		if ok && strings.Trim(strings.TrimSpace(k), `"'`) == key {
			return fmt.Sprintf("%s:%d", path, i+1)
		}
	}
	return path
}
