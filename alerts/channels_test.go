package alerts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"aperture/feed"
)

// receiver is a local webhook target: it answers fail 500s, then 200s,
// and keeps the bodies and signatures it took.
type receiver struct {
	mu     sync.Mutex
	fail   int
	bodies [][]byte
	sigs   []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.bodies = append(r.bodies, b)
	r.sigs = append(r.sigs, req.Header.Get("X-Aperture-Signature"))
}

func localClient() *http.Client {
	return (&feed.Webhooks{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}).Client()
}

var firing = Event{Kind: Firing, Rule: "disk-free-warning", Summary: "Free space on the data volume is low", Severity: Warning,
	Value: 9.5, Threshold: 15, Unit: Percent, Below: true, At: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), Instance: "https://photos.example"}

// The JSON webhook is signed as the subscriptions' webhooks are, and a
// 500 is retried.
func TestWebhookSignedJSON(t *testing.T) {
	rec := &receiver{fail: 1}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := &Webhook{URL: srv.URL + "/hook", Key: "s3cret", Client: localClient(), Pause: time.Millisecond}
	if err := w.Send(context.Background(), firing); err != nil {
		t.Fatal(err)
	}
	if len(rec.bodies) != 1 {
		t.Fatalf("%d deliveries, want 1 after a retry", len(rec.bodies))
	}
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write(rec.bodies[0])
	if rec.sigs[0] != "sha256="+hex.EncodeToString(m.Sum(nil)) {
		t.Fatalf("signature %q does not verify", rec.sigs[0])
	}
	var b WebhookBody
	if err := json.Unmarshal(rec.bodies[0], &b); err != nil || b.Kind != Firing || b.Rule != "disk-free-warning" || b.Value != 9.5 ||
		b.Threshold != 15 || !strings.Contains(b.Text, "below its threshold of 15 %") {
		t.Fatalf("body %s (%v)", rec.bodies[0], err)
	}
	rec.fail = 5
	if err := w.Send(context.Background(), firing); err == nil || !strings.Contains(err.Error(), "answered 500") {
		t.Fatalf("a target that keeps failing: %v", err)
	}
}

// PagerDuty gets Events v2: trigger and resolve under one dedup key.
func TestWebhookPagerDuty(t *testing.T) {
	rec := &receiver{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := &Webhook{URL: srv.URL, PagerDuty: true, Key: "R0UTING", Client: localClient()}
	resolved := firing
	resolved.Kind, resolved.Since, resolved.At = Resolved, firing.At, firing.At.Add(time.Hour)
	for _, e := range []Event{firing, resolved} {
		if err := w.Send(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	var trig, res map[string]any
	json.Unmarshal(rec.bodies[0], &trig)
	json.Unmarshal(rec.bodies[1], &res)
	payload, _ := trig["payload"].(map[string]any)
	if trig["routing_key"] != "R0UTING" || trig["event_action"] != "trigger" || payload["severity"] != "warning" ||
		payload["source"] != "https://photos.example" || !strings.Contains(payload["summary"].(string), "Free space") {
		t.Fatalf("trigger %s", rec.bodies[0])
	}
	if res["event_action"] != "resolve" || res["dedup_key"] != trig["dedup_key"] || rec.sigs[0] != "" {
		t.Fatalf("resolve %s after %s", rec.bodies[1], rec.bodies[0])
	}
	// A test opens an incident of its own and closes it at once.
	if err := w.Send(context.Background(), Event{Kind: Test, Rule: testRule, At: firing.At}); err != nil {
		t.Fatal(err)
	}
	var tt, tr map[string]any
	json.Unmarshal(rec.bodies[2], &tt)
	json.Unmarshal(rec.bodies[3], &tr)
	if len(rec.bodies) != 4 || tt["event_action"] != "trigger" || tr["event_action"] != "resolve" || tt["dedup_key"] != tr["dedup_key"] || tt["dedup_key"] == trig["dedup_key"] {
		t.Fatalf("a test sent %q", rec.bodies[2:])
	}
}

// An address that is not public is refused, as for subscriptions, and
// not retried.
func TestWebhookRefusesPrivateAddresses(t *testing.T) {
	rec := &receiver{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Client: (&feed.Webhooks{}).Client()}
	start := time.Now()
	err := w.Send(context.Background(), firing)
	if err == nil || !strings.Contains(err.Error(), "not public") || len(rec.bodies) != 0 || time.Since(start) > time.Second {
		t.Fatalf("a loopback target: %v, %d deliveries", err, len(rec.bodies))
	}
}
