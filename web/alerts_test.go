package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"aperture/alerts"
	"aperture/feed"
	"aperture/media"
	"aperture/store"
	"aperture/web"
)

// hookSink is a local alert webhook: it verifies each body's signature
// and keeps the events.
type hookSink struct {
	t      testing.TB
	mu     sync.Mutex
	events []alerts.WebhookBody
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, []byte("hook-secret"))
	m.Write(b)
	if r.Header.Get("X-Aperture-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
		h.t.Errorf("a delivery whose signature does not verify: %s", b)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e alerts.WebhookBody
	json.Unmarshal(b, &e)
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

// of returns the kinds of the events about rule, in order.
func (h *hookSink) of(rule string) []alerts.EventKind {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []alerts.EventKind
	for _, e := range h.events {
		if e.Rule == rule {
			out = append(out, e.Kind)
		}
	}
	return out
}

// alertServer is a server whose alert engine reads the web layer's real
// measurements, an injected disk, and tells a local webhook.
type alertServer struct {
	*testServer
	webhooks *feed.Webhooks
	engine   *alerts.Engine
	hook     *hookSink
	free     atomic.Uint64 // percent of the disk free
}

func newAlertServer(t testing.TB, thresholds string, extra ...func(*web.Deps)) *alertServer {
	as := &alertServer{hook: &hookSink{t: t}}
	as.free.Store(50)
	hook := httptest.NewServer(as.hook)
	t.Cleanup(hook.Close)
	as.testServer = newServerDeps(t, web.Config{}, media.Config{}, func(d *web.Deps) {
		for _, f := range extra {
			f(d)
		}
		webhooks := d.Webhooks
		as.webhooks = webhooks
		st := d.Store
		d.Alerts = func(src alerts.Sources) *alerts.Engine {
			src.Disk = func() (uint64, uint64, error) { return as.free.Load(), 100, nil }
			rules, err := alerts.Configure(alerts.Rules(src), thresholds)
			if err != nil {
				t.Fatal(err)
			}
			as.engine = alerts.New(rules, []alerts.Channel{alerts.Push{St: st.(alerts.AdminStore)},
				&alerts.Webhook{URL: hook.URL + "/alerts", Key: "hook-secret", Client: webhooks.Client(), Pause: time.Millisecond}},
				"https://aperture.test", nil, time.Now())
			return as.engine
		}
	})
	return as
}

// evaluate reads the rules at now and waits for the notifications.
func (as *alertServer) evaluate(now time.Time) {
	as.engine.Evaluate(context.Background(), now)
	as.engine.Wait()
}

func (as *alertServer) state(rule string) string {
	for _, s := range as.engine.Statuses() {
		if s.Name == rule {
			return string(s.State)
		}
	}
	as.t.Fatalf("no rule %s", rule)
	return ""
}

// A handler made to fail fires http-errors, and the signed webhook is
// told once when it fires and once when it resolves; the API and the
// Alerts tab show it; non-administrators see neither.
func TestAlertsFireOnRealFaults(t *testing.T) {
	as := newAlertServer(t, "http-errors=5/0s")
	adm := as.admin("boss")
	plain, _ := as.signup("plain")
	var failing atomic.Bool
	as.srv.App().Get("/test/flaky", func(c *fiber.Ctx) error {
		if failing.Load() {
			return fiber.NewError(fiber.StatusServiceUnavailable, "down")
		}
		return c.SendString("ok")
	})
	now := time.Now()
	as.evaluate(now) // the windows start here
	failing.Store(true)
	for range 30 {
		as.do("GET", "/test/flaky", "", nil)
	}
	now = now.Add(15 * time.Second)
	as.evaluate(now)
	if as.state("http-errors") != "firing" {
		t.Fatalf("30 of 30 requests failed: http-errors is %s", as.state("http-errors"))
	}
	failing.Store(false)
	for range 8 {
		for range 30 {
			as.do("GET", "/test/flaky", "", nil)
		}
		now = now.Add(time.Minute)
		as.evaluate(now)
	}
	if k := as.hook.of("http-errors"); len(k) != 2 || k[0] != alerts.Firing || k[1] != alerts.Resolved {
		t.Fatalf("the webhook was told %v, want firing then resolved", k)
	}

	// An outbox worker held back: the oldest job ages.
	as.pool.Stop()
	as.share(plain, "a post whose jobs wait")
	as.evaluate(now.Add(11 * time.Minute))
	as.evaluate(now.Add(17 * time.Minute))
	if as.state("outbox-oldest") != "firing" {
		t.Fatalf("jobs held back 17 minutes: outbox-oldest is %s", as.state("outbox-oldest"))
	}

	wantProblem(t, as.do("GET", "/api/v1/admin/alerts", plain, nil), http.StatusForbidden)
	r := as.do("GET", "/api/v1/admin/alerts", adm, nil)
	var out struct {
		Items []struct {
			Name, State string
			Value       *float64
			Threshold   float64
			Since       time.Time
		}
		Changes  []alerts.Change
		Channels []string
	}
	if r.status != 200 || json.Unmarshal(r.body, &out) != nil {
		t.Fatalf("GET /api/v1/admin/alerts: %d %s", r.status, r.body)
	}
	states := map[string]string{}
	for _, it := range out.Items {
		states[it.Name] = it.State
		if it.Name == "outbox-oldest" && (it.Value == nil || *it.Value < 600 || it.Threshold != 600 || it.Since.IsZero()) {
			t.Fatalf("outbox-oldest %+v", it)
		}
	}
	if states["outbox-oldest"] != "firing" || states["http-errors"] != "resolved" || states["disk-free-warning"] != "ok" || len(out.Changes) < 5 ||
		strings.Join(out.Channels, ",") != "push,webhook" {
		t.Fatalf("the API: %s", r.body)
	}

	v := as.loggedIn("boss")
	page := v.get("/admin/alerts")
	for _, want := range []string{">Alerts<", "outbox-oldest", `state-firing`, "Send a test notification", "http-errors", "resolved"} {
		if page.status != 200 || !strings.Contains(string(page.body), want) {
			t.Fatalf("the Alerts tab lacks %q: %d %.500s", want, page.status, page.body)
		}
	}
	if r := as.loggedIn("plain").get("/admin/alerts"); r.status != http.StatusForbidden {
		t.Fatalf("the Alerts tab for a non-admin: %d", r.status)
	}

	// The workers come back and drain the outbox: outbox-oldest resolves
	// once it has stayed clear for its 5 minutes.
	pool := feed.NewPool(as.st, feed.Config{Poll: 5 * time.Millisecond}, nil)
	for _, kind := range []string{store.JobFanout, store.JobIndexPost, store.JobIndexUser, store.JobActivity, store.JobPush, store.JobBackfill,
		store.JobFollowSync, store.JobStanding, store.JobWebhookMatch} {
		pool.Handle(kind, func(context.Context, *store.Job) error { return nil })
	}
	pool.Start()
	defer pool.Stop()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ob, _ := as.st.OutboxStats(); ob.Depth == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the outbox did not drain in 10 s")
		}
	}
	for i := range 7 {
		as.evaluate(now.Add(18*time.Minute + time.Duration(i)*time.Minute))
	}
	if k := as.hook.of("outbox-oldest"); len(k) != 2 || k[0] != alerts.Firing || k[1] != alerts.Resolved {
		t.Fatalf("the webhook was told %v about the outbox, want firing then resolved", k)
	}
}

// The disk rule reads an injected measurement; the test button reaches
// the webhook and says that no admin's browser has push on.
func TestAlertsDiskAndTestButton(t *testing.T) {
	as := newAlertServer(t, "disk-free-critical=5/0s")
	adm := as.admin("boss")
	now := time.Now()
	as.free.Store(3)
	as.evaluate(now)
	if as.state("disk-free-critical") != "firing" || as.state("disk-free-warning") != "pending" {
		t.Fatalf("3 %% free: critical %s, warning %s", as.state("disk-free-critical"), as.state("disk-free-warning"))
	}
	r := as.do("POST", "/api/v1/admin/alerts/test", adm, nil)
	var out struct{ Items []alerts.ChannelResult }
	if r.status != 200 || json.Unmarshal(r.body, &out) != nil || len(out.Items) != 2 {
		t.Fatalf("the test: %d %s", r.status, r.body)
	}
	if !out.Items[1].OK || out.Items[0].OK || !strings.Contains(out.Items[0].Error, "turned on push") {
		t.Fatalf("the test's results: %+v", out.Items)
	}
	if k := as.hook.of("test"); len(k) != 1 || k[0] != alerts.Test {
		t.Fatalf("the webhook got %v for the test", k)
	}
	// With push on in the admin's browser, the button's test reaches it
	// and the webhook.
	ps := newPushService(t)
	sub := map[string]any{"endpoint": ps.URL + "/push/boss", "keys": map[string]string{"p256dh": b64(ps.ua.PublicKey().Bytes()), "auth": b64(ps.auth)}}
	if r := as.do("POST", "/api/v1/push/subscriptions", adm, sub); r.status != 201 {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	v := as.loggedIn("boss")
	if msg := v.refusal(t, v.post("/admin/alerts/test", url.Values{}, false)); !strings.Contains(msg, "webhook: delivered") || !strings.Contains(msg, "push: delivered") {
		t.Fatalf("the test button said %q", msg)
	}
	if k := as.hook.of("test"); len(k) != 2 {
		t.Fatalf("the button's test did not reach the webhook: %v", k)
	}
	// The rule that fired is pushed once, when it resolves, with the
	// disk back.
	as.free.Store(50)
	for i := range 6 {
		as.evaluate(now.Add(time.Duration(i+1) * 15 * time.Second))
	}
	got := ps.wait(t, 2)
	all := strings.Join(got, "\n")
	if len(got) != 2 || !strings.Contains(all, "Test: aperture can reach you") || !strings.Contains(all, "Resolved: The data volume is nearly full") ||
		strings.Count(all, `"url":"/admin/alerts"`) != 2 {
		t.Fatalf("pushed %q", got)
	}
	if k := as.hook.of("disk-free-critical"); len(k) != 2 || k[1] != alerts.Resolved {
		t.Fatalf("the webhook got %v for the disk", k)
	}
}

// A subscription's callback that answers 500 until its deliveries are
// dead letters fires dead-letters; an hour without new ones resolves it.
func TestAlertsDeadLettersFromAFailingWebhook(t *testing.T) {
	as := newAlertServer(t, "")
	watcher, _ := as.signup("watcher")
	ana, _ := as.signup("ana")
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer failing.Close()
	if r := as.do("POST", "/api/v1/subscriptions", watcher, map[string]any{"object": "tag", "tag": "sunset", "callback_url": failing.URL + "/hook"}); r.status != 201 {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	now := time.Now()
	as.evaluate(now)
	// A pool that gives up after two attempts, 10 ms apart; the rest of
	// the background work succeeds at once.
	as.pool.Stop()
	as.share(ana, "the river at dusk #sunset")
	pool := feed.NewPool(as.st, feed.Config{Poll: 5 * time.Millisecond, MaxAttempts: 2, BaseBackoff: 10 * time.Millisecond}, nil)
	as.webhooks.Register(pool)
	for _, kind := range []string{store.JobFanout, store.JobIndexPost, store.JobIndexUser, store.JobActivity, store.JobPush, store.JobBackfill,
		store.JobFollowSync, store.JobStanding} {
		pool.Handle(kind, func(context.Context, *store.Job) error { return nil })
	}
	pool.Start()
	defer pool.Stop()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ob, _ := as.st.OutboxStats(); ob.DeadLetter > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter in 10 s")
		}
	}
	dead, _ := as.st.DeadJobs(10)
	for _, j := range dead {
		if j.Kind != store.JobWebhookDeliver {
			t.Fatalf("a dead letter of kind %s, want only the failing deliveries", j.Kind)
		}
	}
	as.evaluate(now.Add(15 * time.Second))
	if as.state("dead-letters") != "firing" {
		t.Fatalf("with %d dead letters: dead-letters is %s", len(dead), as.state("dead-letters"))
	}
	for i := range 6 {
		as.evaluate(now.Add(61*time.Minute + time.Duration(i)*15*time.Second))
	}
	if k := as.hook.of("dead-letters"); len(k) != 2 || k[0] != alerts.Firing || k[1] != alerts.Resolved {
		t.Fatalf("the webhook was told %v about dead letters, want firing then resolved", k)
	}
}

// On a node of a cluster the cluster's rules are read by the first ready
// node only, so that one fault pages once: node1 sees node3 down and
// partition 3 without an owner; node2, reading the same cluster, leaves it
// to node1.
func TestAlertsClusterRulesPageOnce(t *testing.T) {
	spec := "cluster-node-unreachable=0/0s, cluster-partition-unowned=0/0s, cluster-replica-lag=5/0s"
	for _, node := range []string{"node1", "node2"} {
		view := threeNodes()
		view.Node = node
		as := newAlertServer(t, spec, func(d *web.Deps) { d.Cluster = &fakeCluster{view: view} })
		as.evaluate(time.Now())
		want := map[string]string{"node1": "firing", "node2": "ok"}[node]
		for _, rule := range []string{"cluster-node-unreachable", "cluster-partition-unowned", "cluster-replica-lag"} {
			if got := as.state(rule); got != want {
				t.Errorf("%s on %s: %s, want %s", rule, node, got, want)
			}
		}
		if n := len(as.hook.of("cluster-partition-unowned")); (node == "node1") != (n == 1) || n > 1 {
			t.Errorf("%s sent %d notifications about the unowned partition", node, n)
		}
	}
}

// When another node becomes the cluster's reporter (node0 starts, first
// by name), the old one resolves what it had fired instead of keeping it
// firing for ever.
func TestAlertsClusterReporterChanges(t *testing.T) {
	f := &fakeCluster{view: threeNodes()}
	f.view.Node = "node1"
	as := newAlertServer(t, "cluster-partition-unowned=0/0s", func(d *web.Deps) { d.Cluster = f })
	now := time.Now()
	as.evaluate(now)
	if as.state("cluster-partition-unowned") != "firing" {
		t.Fatalf("node1 as the reporter: %s", as.state("cluster-partition-unowned"))
	}
	f.mu.Lock()
	f.view.Nodes = append(f.view.Nodes, web.ClusterNodeView{Name: "node0", Ready: true})
	f.mu.Unlock()
	time.Sleep(2100 * time.Millisecond) // the cluster's status is kept for 2 seconds
	for i := range 6 {
		as.evaluate(now.Add(time.Duration(i+1) * 15 * time.Second))
	}
	if k := as.hook.of("cluster-partition-unowned"); len(k) != 2 || k[1] != alerts.Resolved {
		t.Fatalf("node1, no longer the reporter, sent %v", k)
	}
}

// A handler that panics is answered 500 further out, and still counted:
// http-errors fires.
func TestAlertsCountPanics(t *testing.T) {
	as := newAlertServer(t, "http-errors=5/0s")
	as.srv.App().Get("/test/panic", func(*fiber.Ctx) error { panic("kaboom") })
	now := time.Now()
	as.evaluate(now)
	for range 25 {
		if r := as.do("GET", "/test/panic", "", nil); r.status != http.StatusInternalServerError {
			t.Fatalf("a panic answered %d", r.status)
		}
	}
	as.evaluate(now.Add(15 * time.Second))
	if as.state("http-errors") != "firing" {
		t.Fatalf("25 panics: http-errors is %s", as.state("http-errors"))
	}
}

// Photo uploads that fail in processing — the photo store turned into a
// file, so nothing can be written — fire upload-failures; a quarter of
// an hour of good uploads resolves it.
func TestAlertsUploadFailures(t *testing.T) {
	as := newAlertServer(t, "")
	tok, _ := as.signup("ana")
	dir := as.media.Blobs().(media.FileBlobs).Dir
	now := time.Now()
	as.evaluate(now)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if r := as.upload(tok, photo(t, i%2 == 0), nil); r.status < 500 {
			t.Fatalf("an upload with nowhere to store it: %d %s", r.status, r.body)
		}
	}
	as.evaluate(now.Add(15 * time.Second))
	if as.state("upload-failures") != "firing" {
		t.Fatalf("3 uploads failed: upload-failures is %s", as.state("upload-failures"))
	}
	os.Remove(dir)
	if r := as.upload(tok, photo(t, false), nil); r.status != http.StatusCreated {
		t.Fatalf("an upload with the store back: %d %s", r.status, r.body)
	}
	for i := range 6 {
		as.evaluate(now.Add(16*time.Minute + time.Duration(i)*15*time.Second))
	}
	if k := as.hook.of("upload-failures"); len(k) != 2 || k[0] != alerts.Firing || k[1] != alerts.Resolved {
		t.Fatalf("the webhook was told %v about uploads, want firing then resolved", k)
	}
}
