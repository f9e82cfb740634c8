package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"aperture/alerts/alertstest"
)

// TestAlertsBackupFailure: the binary's scheduled backup fails for real
// (its directory becomes a file, which stops root too), the backup-failed
// rule fires and the signed webhook is told once; the directory comes
// back, the next backup succeeds and the webhook is told it resolved,
// once. /metrics says the same.
func TestAlertsBackupFailure(t *testing.T) {
	var mu sync.Mutex
	var events []struct{ Rule, Kind string }
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte("hook-key"))
		m.Write(b)
		if r.Header.Get("X-Aperture-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("unsigned or badly signed: %s", b)
			return
		}
		var e struct{ Rule, Kind string }
		json.Unmarshal(b, &e)
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}))
	defer hook.Close()
	count := func(rule, kind string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, e := range events {
			if e.Rule == rule && e.Kind == kind {
				n++
			}
		}
		return n
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no %s in 20 s; the webhook got %+v", what, events)
			}
		}
	}
	backups := filepath.Join(t.TempDir(), "backups")
	mail := alertstest.NewSMTPSink(t, false)
	p := start(t, t.TempDir(), "--backup-dir", backups, "--backup-every", "300ms", "--alert-every", "100ms",
		"--alert-thresholds", "backup-stale=off", "--alert-webhook", hook.URL+"/alerts", "--alert-webhook-key", "hook-key", "--webhook-allow", "127.0.0.1",
		"--smtp-url", "smtp://"+mail.Addr(), "--alert-email", "ops@photos.example")
	metrics := func() string {
		res, err := http.Get("http://" + p.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	waitFor("first backup", func() bool { m, _ := filepath.Glob(filepath.Join(backups, "*.tar")); return len(m) > 0 })
	breakBackups(t, backups)
	waitFor("firing backup-failed", func() bool { return count("backup-failed", "firing") > 0 })
	if m := metrics(); !strings.Contains(m, "aperture_backup_last_failed 1") || !strings.Contains(m, `aperture_alerts_firing{alert="backup-failed"} 1`) {
		t.Fatalf("/metrics while failing:\n%s", grepLines(m, "backup", "alerts_firing"))
	}
	time.Sleep(time.Second) // more failed backups: still one notification
	if err := os.Remove(backups); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	waitFor("resolved backup-failed", func() bool { return count("backup-failed", "resolved") > 0 })
	time.Sleep(time.Second)
	if f, r := count("backup-failed", "firing"), count("backup-failed", "resolved"); f != 1 || r != 1 {
		t.Fatalf("backup-failed: %d firing and %d resolved notifications, want one each", f, r)
	}
	var subjects []string
	for _, m := range mail.Messages() {
		for _, line := range strings.Split(m.Data, "\r\n") {
			if strings.HasPrefix(line, "Subject: ") && strings.Contains(line, "backup") {
				subjects = append(subjects, line)
			}
		}
	}
	if len(subjects) != 2 || !strings.Contains(subjects[0]+subjects[1], "Firing: The scheduled backup failed") ||
		!strings.Contains(subjects[0]+subjects[1], "Resolved: The scheduled backup failed") {
		t.Fatalf("the mail server took %q, want one firing and one resolved", subjects)
	}
	if m := metrics(); !strings.Contains(m, "aperture_backup_last_failed 0") || !strings.Contains(m, `aperture_alerts_firing{alert="backup-failed"} 0`) ||
		strings.Contains(m, `alert="backup-stale"`) {
		t.Fatalf("/metrics after the fix:\n%s", grepLines(m, "backup", "alerts_firing"))
	}
	p.stop(t)
}

// TestAlertsTestReachesEmail: the binary's --smtp-url and --alert-email
// wire the e-mail channel, and the admin's test reaches a local mail
// server, from --alert-email-from; without a browser with push
// on, the push channel says so.
func TestAlertsTestReachesEmail(t *testing.T) {
	sink := alertstest.NewSMTPSink(t, false)
	dir := t.TempDir()
	cmd := exec.Command(binary, "user", "create", "--username", "boss", "--admin", "--data", dir)
	cmd.Env = append(os.Environ(), "APERTURE_PASSWORD=admin password 1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	p := start(t, dir, "--smtp-url", "smtp://"+sink.Addr(), "--alert-email", "ops@photos.example, me@photos.example",
		"--public-url", "https://photos.example", "--alert-email-from", "Photos <ops-bot@photos.example>")
	_, m := call(t, p, "POST", "/api/v1/auth/login", "", map[string]string{"username": "boss", "password": "admin password 1"})
	token, _ := m["access_token"].(string)
	code, res := call(t, p, "POST", "/api/v1/admin/alerts/test", token, nil)
	items, _ := res["items"].([]any)
	if code != 200 || len(items) != 2 {
		t.Fatalf("the test: %d %v", code, res)
	}
	push, email := items[0].(map[string]any), items[1].(map[string]any)
	if push["channel"] != "push" || push["ok"] != false || email["channel"] != "email" || email["ok"] != true {
		t.Fatalf("the test's results: %v", items)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 2 || msgs[0].From != "MAIL FROM:<ops-bot@photos.example>" ||
		!strings.Contains(msgs[0].Data, "Subject: [aperture] Test: aperture can reach you") ||
		!strings.Contains(msgs[0].Data, "https://photos.example/admin/alerts") {
		t.Fatalf("the mail server took %+v", msgs)
	}
	p.stop(t)
}

// TestAlertThresholdsInConfigFile: a threshold that names no rule stops
// the server at start, blamed on the file's line, with the rules listed;
// good ones start it.
func TestAlertThresholdsInConfigFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "aperture.toml")
	os.WriteFile(file, []byte("addr = \"127.0.0.1:0\"\nalert-thresholds = \"disk-free=10\"\n"), 0o600)
	out, code := runBinary(t, nil, "serve", "--config", file, "--data", t.TempDir())
	if code == 0 || !strings.Contains(out, file+":2:") || !strings.Contains(out, `there is no rule "disk-free"`) || !strings.Contains(out, "disk-free-warning") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	os.WriteFile(file, []byte("alert-thresholds = \"disk-free-warning=20%/10m, upload-failures=off\"\nalert-webhook-format = \"pagerduty\"\n"), 0o600)
	p := start(t, t.TempDir(), "--config", file)
	res, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if m := string(b); strings.Contains(m, `alert="upload-failures"`) || !strings.Contains(m, `alert="disk-free-warning"`) {
		t.Fatalf("upload-failures=off in the config file, yet:\n%s", grepLines(m, "alerts_firing"))
	}
	p.stop(t)
}

// TestHelpHidesSecrets: a password or key given by the environment is
// not printed as a flag's default by --help.
func TestHelpHidesSecrets(t *testing.T) {
	out, _ := runBinary(t, []string{"APERTURE_SMTP_URL=smtp://alerts:hunter2@mail.example", "APERTURE_ALERT_WEBHOOK_KEY=s3cr3t-key",
		"APERTURE_METRICS_TOKEN=t0ken-x", "APERTURE_SENTRY_DSN=https://k3y@errors.example/1"}, "serve", "--help")
	if !strings.Contains(out, "-smtp-url") {
		t.Fatalf("serve --help:\n%s", out)
	}
	for _, secret := range []string{"hunter2", "s3cr3t-key", "t0ken-x", "k3y"} {
		if strings.Contains(out, secret) {
			t.Errorf("serve --help shows %q:\n%s", secret, out)
		}
	}
}

// breakBackups puts a file where the backup directory was. The directory
// is renamed away, not removed: a backup being written into it would make
// its removal fail.
func breakBackups(t testing.TB, dir string) {
	t.Helper()
	if err := os.Rename(dir, dir+"."+strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// grepLines returns the lines of s that contain any of words.
func grepLines(s string, words ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// BenchmarkAlertFault times, through the binary at the default reading
// interval (15 s), a scheduled backup failing (backups every second) until
// the webhook is told it fires, and the backup directory coming back
// until it is told it resolved, three times in one server. Run it once:
//
//	go test ./cmd/aperture -run '^$' -bench AlertFault -benchtime 1x -timeout 30m
func BenchmarkAlertFault(b *testing.B) {
	got := make(chan string, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct{ Rule, Kind string }
		json.NewDecoder(r.Body).Decode(&e)
		if e.Rule == "backup-failed" {
			got <- e.Kind
		}
	}))
	defer hook.Close()
	backups := filepath.Join(b.TempDir(), "backups")
	p := start(b, b.TempDir(), "--backup-dir", backups, "--backup-every", "1s", "--alert-thresholds", "backup-stale=off",
		"--alert-webhook", hook.URL, "--webhook-allow", "127.0.0.1")
	defer p.cmd.Process.Kill()
	wait := func(kind string) float64 {
		t0 := time.Now()
		select {
		case k := <-got:
			if k != kind {
				b.Fatalf("the webhook was told %s, want %s", k, kind)
			}
		case <-time.After(5 * time.Minute):
			b.Fatalf("no %s in 5 minutes\n%s", kind, p.stderr)
		}
		return time.Since(t0).Seconds()
	}
	var fire, resolve []float64
	for range 3 {
		breakBackups(b, backups)
		fire = append(fire, wait("firing"))
		os.Remove(backups)
		os.Mkdir(backups, 0o700)
		resolve = append(resolve, wait("resolved"))
	}
	b.Logf("to firing %.1f s, to resolved %.1f s", fire, resolve)
	slices.Sort(fire)
	slices.Sort(resolve)
	b.ReportMetric(fire[1], "s_to_firing(median)")
	b.ReportMetric(resolve[1], "s_to_resolved(median)")
}
