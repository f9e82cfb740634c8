package main

import (
	"aperture/store/storetest"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string

// TestMain builds the real binary once for the end-to-end tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aperture-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "aperture")
	// The binary makes new data directories with the tests' partition
	// count.
	os.Setenv("APERTURE_PARTITIONS", strconv.Itoa(storetest.Partitions()))
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running aperture binary.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	done   chan error
}

// start runs "aperture serve" on 127.0.0.1:0 with data in dir and waits
// for its "listening" log line.
func start(t testing.TB, dir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-format", "json"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "APERTURE_AUTH_RATE_IP=1000", "APERTURE_RATE_POSTS=off", "APERTURE_RATE_COMMENTS=off",
		"APERTURE_RATE_LIKES=off", "APERTURE_RATE_FOLLOWS=off", "APERTURE_RATE_UPLOADS=off", "APERTURE_RATE_READS=off")
	pr, pw := io.Pipe()
	buf := &bytes.Buffer{}
	cmd.Stderr = io.MultiWriter(pw, buf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: buf, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case p.addr = <-addr:
	case err := <-p.done:
		t.Fatalf("aperture exited: %v\n%s", err, buf)
	case <-time.After(20 * time.Second):
		t.Fatalf("aperture did not start:\n%s", buf)
	}
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20 s after SIGTERM")
	}
}

func call(t testing.TB, p *proc, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+p.addr+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	creds := map[string]string{"username": "wanderer", "password": "correct horse battery"}
	code, m := call(t, p, "POST", "/api/v1/auth/signup", "", creds)
	if code != 201 {
		t.Fatalf("signup: %d %v", code, m)
	}
	signupAccess := m["access_token"].(string)
	code, m = call(t, p, "POST", "/api/v1/auth/login", "", creds)
	if code != 200 {
		t.Fatalf("login: %d %v", code, m)
	}
	access, refresh := m["access_token"].(string), m["refresh_token"].(string)
	code, m = call(t, p, "GET", "/api/v1/me", access, nil)
	if code != 200 || m["username"] != "wanderer" {
		t.Fatalf("me: %d %v", code, m)
	}
	code, m = call(t, p, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh})
	if code != 200 {
		t.Fatalf("refresh: %d %v", code, m)
	}
	access2 := m["access_token"].(string)
	if code, _ := call(t, p, "POST", "/api/v1/auth/logout", access2, nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := call(t, p, "GET", "/api/v1/me", access2, nil); code != 401 {
		t.Fatalf("me after logout: %d", code)
	}

	// A second process on the same data directory fails fast and clearly.
	second := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--data", dir)
	began := time.Now()
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another aperture process") || time.Since(began) > 10*time.Second {
		t.Fatalf("second process: %v after %v\n%s", err, time.Since(began), out)
	}

	p.stop(t)
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log:\n%s", p.stderr)
	}

	// After a restart the account and its keys are still there.
	p2 := start(t, dir)
	code, m = call(t, p2, "POST", "/api/v1/auth/login", "", creds)
	if code != 200 {
		t.Fatalf("login after restart: %d %v", code, m)
	}
	if code, m := call(t, p2, "GET", "/api/v1/me", m["access_token"].(string), nil); code != 200 || m["username"] != "wanderer" {
		t.Fatalf("me after restart: %d %v", code, m)
	}
	// The sign-up session's access token from before the restart is still
	// valid (same key, session still open); the logged-out one is not.
	if code, _ := call(t, p2, "GET", "/api/v1/me", signupAccess, nil); code != 200 {
		t.Fatalf("pre-restart token refused: %d", code)
	}
	if code, _ := call(t, p2, "GET", "/api/v1/me", access, nil); code != 401 {
		t.Fatalf("token of the logged-out session accepted after restart: %d", code)
	}
	p2.stop(t)
}

func TestBindErrorAtStart(t *testing.T) {
	p := start(t, t.TempDir())
	out, err := exec.Command(binary, "serve", "--addr", p.addr, "--data", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cannot listen on "+p.addr) {
		t.Fatalf("bind error not reported: %v\n%s", err, out)
	}
}

func TestUserCreateAdmin(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "user", "create", "--username", "root_admin", "--admin", "--data", dir)
	cmd.Stdin = strings.NewReader("admin password 1\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "created admin root_admin") {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	cmd = exec.Command(binary, "user", "create", "--username", "ROOT_ADMIN", "--data", dir)
	cmd.Env = append(os.Environ(), "APERTURE_PASSWORD=another password")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "taken") {
		t.Fatalf("duplicate user create: %v\n%s", err, out)
	}
	p := start(t, dir)
	code, m := call(t, p, "POST", "/api/v1/auth/login", "", map[string]string{"username": "root_admin", "password": "admin password 1"})
	if code != 200 || m["user"].(map[string]any)["admin"] != true {
		t.Fatalf("admin login: %d %v", code, m)
	}
}

func TestVersionAndUsage(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "aperture ") {
		t.Fatalf("version: %v %s", err, out)
	}
	cmd := exec.Command(binary, "frobnicate")
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "unknown command") {
		t.Fatalf("unknown command: %d %s", cmd.ProcessState.ExitCode(), out)
	}
}

func TestFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"APERTURE_ADDR": "127.0.0.1:9999", "APERTURE_DATA": "/srv/aperture", "APERTURE_LOG_LEVEL": "debug"}
	getenv := func(k string) string { return env[k] }
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--data", "/elsewhere"}, getenv); err != nil {
		t.Fatal(err)
	}
	if m.Config.Addr != "127.0.0.1:9999" || m.Config.Data != "/elsewhere" || m.Config.LogLevel != "debug" {
		t.Fatalf("config %+v", m.Config)
	}
	m = NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags(nil, func(string) string { return "" }); err != nil || m.Config.Addr != "127.0.0.1:8080" || m.Config.Data != "./data" {
		t.Fatalf("defaults %+v %v", m.Config, err)
	}
	for _, bad := range []map[string]string{{"APERTURE_LOG_LEVEL": "loud"}, {"APERTURE_AUTH_RATE_IP": "many"}, {"APERTURE_LOG_FORMAT": "xml"}} {
		m = NewMain(io.Discard, io.Discard)
		if err := m.ParseFlags(nil, func(k string) string { return bad[k] }); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}
