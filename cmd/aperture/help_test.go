package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runBinary runs the built aperture with args and returns its combined
// output and exit code.
func runBinary(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// TestCommandHelp: each command's --help shows its own flags and purpose,
// not the server's.
func TestCommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"backup", "--help"}, []string{"--out", "--data", "a consistent backup"}, []string{"--max-upload-mb", "--addr", "--warm"}},
		{[]string{"restore", "-h"}, []string{"--force", "--data"}, []string{"--max-upload-mb", "--rate-posts"}},
		{[]string{"check", "--help"}, []string{"--repair", "--data"}, []string{"--max-upload-mb", "--addr"}},
		{[]string{"health", "--help"}, []string{"--addr", "of the server to check", "--tls-cert"}, []string{"address to listen on", "--data", "--max-upload-mb"}},
		{[]string{"user", "create", "--help"}, []string{"--username", "--admin", "--data"}, []string{"--max-upload-mb", "--addr"}},
		{[]string{"user", "--help"}, []string{"--username"}, []string{"--max-upload-mb"}},
		{[]string{"seed", "--help"}, []string{"--users", "--no-images", "--data"}, []string{"--max-upload-mb", "--addr"}},
		{[]string{"reindex", "--help"}, []string{"--data", "search index"}, []string{"--max-upload-mb", "--addr"}},
		{[]string{"cluster", "status", "--help"}, []string{"--json", "--cluster-secret", "--data"}, []string{"--max-upload-mb", "--addr", "--cluster-routes"}},
		{[]string{"help", "backup"}, []string{"--out"}, []string{"--max-upload-mb"}},
		{[]string{"serve", "--help"}, []string{"--max-upload-mb", "--addr", "address to listen on", "--cluster-routes"}, nil},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, code := runBinary(t, nil, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("%q in:\n%s", n, out)
				}
			}
			if tc.args[0] != "serve" && strings.Count(out, "\n") > 30 {
				t.Errorf("%d lines of help:\n%s", strings.Count(out, "\n"), out)
			}
		})
	}
}

// TestTopLevelHelp: aperture --help, -h and help list the commands with
// their purposes and point at serve --help, not at the server's flags.
func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, code := runBinary(t, nil, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d:\n%s", args, code, out)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "aperture "+c.name) || !strings.Contains(out, c.purpose) {
				t.Errorf("%v: %s or its purpose missing:\n%s", args, c.name, out)
			}
		}
		if !strings.Contains(out, `"aperture serve --help"`) || strings.Contains(out, "--max-upload-mb") {
			t.Errorf("%v:\n%s", args, out)
		}
	}
}

// TestUnknownFlag: the error once, and a one-line hint, without the usage.
func TestUnknownFlag(t *testing.T) {
	for _, tc := range []struct{ args []string }{
		{[]string{"backup", "--frob"}},
		{[]string{"serve", "--frob"}},
		{[]string{"cluster", "status", "--frob"}},
	} {
		out, code := runBinary(t, nil, tc.args...)
		name := strings.Join(tc.args[:len(tc.args)-1], " ")
		if code != 2 || strings.Count(out, "-frob") != 1 || !strings.Contains(out, "flag provided but not defined") ||
			!strings.Contains(out, `run "aperture `+name+` --help" for its flags`) || strings.Count(out, "\n") != 2 {
			t.Errorf("%v: exit %d:\n%s", tc.args, code, out)
		}
	}
}

// TestConfigFileErrorNamesLine: a bad value in the config file is blamed
// on the file and its line, not on an environment variable.
func TestConfigFileErrorNamesLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "aperture.toml")
	os.WriteFile(file, []byte("# settings\naddr = \"127.0.0.1:0\"\n\nmax-upload-mb = \"lots\"\n"), 0o600)
	out, code := runBinary(t, nil, "serve", "--config", file)
	if code == 0 || !strings.Contains(out, file+`:4: max-upload-mb = "lots" is not a whole number`) || strings.Contains(out, "$APERTURE") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// A malformed environment variable is still named as one.
	out, code = runBinary(t, []string{"APERTURE_MAX_UPLOAD_MB=many"}, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir())
	if code == 0 || !strings.Contains(out, `$APERTURE_MAX_UPLOAD_MB="many" is not a whole number`) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// The file still sets a command's flags: backup reads its --data.
	dir := t.TempDir()
	os.WriteFile(file, []byte("data = \""+filepath.Join(dir, "nowhere")+"\"\nwarm = false\n"), 0o600)
	out, _ = runBinary(t, nil, "backup", "--config", file, "--out", filepath.Join(dir, "b.tar"))
	if _, err := os.Stat(filepath.Join(dir, "b.tar")); err != nil {
		t.Fatalf("backup with --data from the config file:\n%s", out)
	}
}
