package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aperture/web"
)

// TestConfigFilePrecedence: flags beat the environment, which beats the
// file, which beats the defaults; unknown keys are refused.
func TestConfigFilePrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "aperture.toml")
	os.WriteFile(file, []byte(`
addr = "127.0.0.1:9999"
log-level = "warn"
rate-posts = "7/1h"
warm = false
backup-keep = 3
shutdown-timeout = "3s"
`), 0o600)
	env := map[string]string{"APERTURE_LOG_LEVEL": "debug"}
	getenv := func(k string) string { return env[k] }
	args := []string{"--config", file, "--backup-keep", "9"}
	layered, err := withConfigFile(args, getenv)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags(args, layered); err != nil {
		t.Fatal(err)
	}
	c := m.Config
	if c.Addr != "127.0.0.1:9999" || c.LogLevel != "debug" || c.Limits.Posts != (web.Rate{N: 7, Per: time.Hour}) ||
		c.Warm || c.BackupKeep != 9 || c.ShutdownTimeout != 3*time.Second || c.Limits.Likes.N != 1000 {
		t.Fatalf("config: %+v", c)
	}
	os.WriteFile(file, []byte(`adress = "x"`), 0o600)
	if _, err := withConfigFile(args, getenv); err == nil || !strings.Contains(err.Error(), `"adress" is not a setting`) {
		t.Fatalf("typo: %v", err)
	}
	os.WriteFile(file, []byte(`addr = `), 0o600)
	if _, err := withConfigFile(args, getenv); err == nil {
		t.Fatal("bad TOML accepted")
	}
	env["APERTURE_CONFIG"] = filepath.Join(dir, "missing.toml")
	if _, err := withConfigFile(nil, getenv); err == nil {
		t.Fatal("a missing config file was ignored")
	}
}
