package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"aperture/feed"
	"aperture/store"
)

// AdminStore is what the push channel needs from the store.
type AdminStore interface {
	store.Executor
	EachUser(fn func(*store.User) error) error
}

// Push sends events to the browsers of every administrator who turned
// push on (settings → notifications), through the outbox's push jobs.
type Push struct{ St AdminStore }

// Name returns "push".
func (Push) Name() string { return "push" }

// Send queues the event for every administrator's browsers. When no
// administrator has push turned on in any browser, a test fails saying
// so; an alert goes by the other channels alone.
func (p Push) Send(ctx context.Context, e Event) error {
	var admins []store.ID
	if err := p.St.EachUser(func(u *store.User) error {
		if u.Admin && !u.Deleted && !u.Suspended {
			admins = append(admins, u.ID)
		}
		return nil
	}); err != nil {
		return err
	}
	queued := 0
	var errs []error
	for _, id := range admins {
		n, err := store.Exec(ctx, p.St, store.PushAlert{Meta: store.At(time.Now()), UserID: id, Title: e.Title(), Body: e.Text(), URL: "/admin/alerts"})
		queued += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if queued == 0 && e.Kind == Test {
		return errors.New("no administrator has turned on push notifications in a browser (Settings → Notifications)")
	}
	return nil
}

// Webhook posts events to one address, as signed JSON or as PagerDuty
// Events v2. It calls through the same guard as the subscriptions'
// webhooks (feed.Webhooks.Client: public addresses only unless allowed,
// no redirects) and retries a failed call twice.
type Webhook struct {
	URL string
	// PagerDuty sends the Events v2 shape, with Key as the routing key;
	// otherwise the body is aperture's JSON, signed with Key as the
	// subscriptions' webhooks are (X-Aperture-Signature: sha256=HMAC).
	PagerDuty bool
	Key       string
	Client    *http.Client
	// Pause is the wait before a retry (2 s, doubling).
	Pause time.Duration
}

// Name returns "webhook" or "pagerduty".
func (w *Webhook) Name() string {
	if w.PagerDuty {
		return "pagerduty"
	}
	return "webhook"
}

// WebhookBody is the JSON the generic webhook receives.
type WebhookBody struct {
	Kind      EventKind `json:"kind" doc:"firing, reminder, resolved or test"`
	Rule      string    `json:"rule"`
	Summary   string    `json:"summary"`
	Severity  Severity  `json:"severity,omitempty"`
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"`
	Unit      Unit      `json:"unit"`
	Text      string    `json:"text"`
	At        time.Time `json:"at"`
	Since     time.Time `json:"since,omitzero"`
	Instance  string    `json:"instance,omitempty"`
}

// pagerDutyEvent is PagerDuty's Events API v2 request.
type pagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *pagerDutyPayload `json:"payload,omitempty"`
}

// pagerDutyPayload is what a trigger says.
type pagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp"`
	Component     string         `json:"component"`
	CustomDetails map[string]any `json:"custom_details"`
}

func (w *Webhook) body(e Event) []byte {
	if !w.PagerDuty {
		b, _ := json.Marshal(WebhookBody{Kind: e.Kind, Rule: e.Rule, Summary: e.Summary, Severity: e.Severity, Value: e.Value,
			Threshold: e.Threshold, Unit: e.Unit, Text: e.Text(), At: e.At.UTC(), Since: e.Since.UTC(), Instance: e.Instance})
		return b
	}
	source := e.Instance
	if source == "" {
		source = "aperture"
	}
	ev := pagerDutyEvent{RoutingKey: w.Key, EventAction: "trigger", DedupKey: "aperture/" + source + "/" + e.Rule}
	if e.Rule == testRule {
		ev.DedupKey += "/" + e.At.UTC().Format(time.RFC3339Nano) // each test its own incident, closed at once
	}
	if e.Kind == Resolved {
		ev.EventAction = "resolve"
		b, _ := json.Marshal(ev)
		return b
	}
	severity := string(e.Severity)
	if e.Kind == Test {
		severity = "info"
	}
	ev.Payload = &pagerDutyPayload{Summary: truncate(e.Title()+" — "+e.Text(), 1024), Source: source, Severity: severity, Timestamp: e.At.UTC().Format(time.RFC3339),
		Component: "aperture", CustomDetails: map[string]any{"rule": e.Rule, "value": e.Value, "threshold": e.Threshold, "unit": e.Unit, "kind": e.Kind}}
	b, _ := json.Marshal(ev)
	return b
}

// Send posts the event, retrying twice on a failed call or a 5xx or 429
// answer. Its error is safe to show an administrator.
func (w *Webhook) Send(ctx context.Context, e Event) error {
	if err := w.send(ctx, w.body(e)); err != nil || !w.PagerDuty || e.Kind != Test {
		return err
	}
	// PagerDuty: a test is an incident; resolve it, so that none is left
	// open by the button.
	e.Kind = Resolved
	return w.send(ctx, w.body(e))
}

// send posts body, retrying as Send says.
func (w *Webhook) send(ctx context.Context, body []byte) error {
	pause := w.Pause
	if pause == 0 {
		pause = 2 * time.Second
	}
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(pause):
			}
			pause *= 2
		}
		var retry bool
		if retry, err = w.post(ctx, body); err == nil || !retry {
			return err
		}
	}
	return err
}

func (w *Webhook) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("the alert webhook's address does not read: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aperture-alerts")
	if !w.PagerDuty && w.Key != "" {
		req.Header.Set("X-Aperture-Signature", feed.Signature(w.Key, body))
	}
	res, err := w.Client.Do(req)
	if err != nil {
		var refused *feed.RefusedError
		if errors.As(err, &refused) {
			return false, fmt.Errorf("the alert webhook was not called: %s (--webhook-allow lists addresses that may be)", refused.Error())
		}
		return true, fmt.Errorf("the alert webhook could not be called: %w", err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests,
			fmt.Errorf("the alert webhook answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))
	}
	return false, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}
