package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"aperture/media"
	"aperture/store"
	"aperture/store/storetest"
)

// readmeBlocks returns the README's shell blocks (```sh), each as its
// text.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case !in && line == "```sh":
			in, cur = true, nil
		case in && line == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// readmeBlock returns the README's shell block that begins with first.
func readmeBlock(t *testing.T, first string) string {
	t.Helper()
	for _, b := range readmeBlocks(t) {
		if strings.HasPrefix(b, first) {
			return b
		}
	}
	t.Fatalf("the README has no shell block beginning %q", first)
	return ""
}

// The README's walkthrough of the API, run as written (curl, sed, grep)
// against a server on the demo `make run` seeds: sign up, log in, upload
// a photo with a filter, post it with a place, read the feed, follow
// maya, like and comment. Any request that fails fails the script.
func TestReadmeAPIWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README's commands (Debian: apt-get install -y curl)")
	}
	dir := t.TempDir()
	if out, err := exec.Command(binary, "seed", "--data", dir, "--users", "2", "--posts", "2").CombinedOutput(); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	p := start(t, dir)
	defer p.stop(t)
	block := readmeBlock(t, "make run &\n")
	script := strings.TrimPrefix(block, "make run &\n") // the server runs already
	script = strings.ReplaceAll(script, "localhost:8080", p.addr)
	script = strings.ReplaceAll(script, "curl -s ", "curl -sf ") // an HTTP error fails the script
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "photo.jpg"), media.Synthetic(640, 480, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+script)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"username":"alice"`, `"name":"clarendon"`, `First light #sunrise`, `"liked":true`, `"text":"Lovely"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walkthrough's output lacks %s:\n%s", want, out)
		}
	}
}

// The README's administrator example runs as written, makes an
// administrator, and the demo's maya administers it too.
func TestReadmeAdminExample(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command(binary, "seed", "--data", dir, "--users", "2", "--posts", "2").CombinedOutput(); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	block := readmeBlock(t, "./bin/aperture user create")
	line := strings.TrimSpace(block)
	args := strings.Fields(strings.TrimPrefix(line, "./bin/aperture "))
	for i, a := range args {
		if a == "./data" {
			args[i] = dir
		}
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "APERTURE_PASSWORD=correct horse battery")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	st, err := storetest.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	name := args[slices.Index(args, "--username")+1]
	for _, want := range []struct {
		name  string
		admin bool
	}{{name, true}, {"maya", true}, {"tomas", false}} {
		u, err := st.UserByUsername(want.name)
		if err != nil || u.Admin != want.admin {
			t.Errorf("%s: admin %v (%v), want %v", want.name, u != nil && u.Admin, err, want.admin)
		}
	}
}
