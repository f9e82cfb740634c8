package feed

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"aperture/store"
)

// Pusher sends Web Push messages (RFC 8030, encrypted per RFC 8291, signed
// with VAPID per RFC 8292) through the maintained webpush-go library.
// Push services answer 404 or 410 for subscriptions that are gone; those
// are deleted. Other failures are retried by the pool.
type Pusher struct {
	St Store
	// VAPID keys (base64url, as webpush.GenerateVAPIDKeys makes them) and
	// the contact in the VAPID token ("mailto:…" or a URL).
	PublicKey, PrivateKey, Subscriber string
	// Net decides which addresses may be called (push services are
	// public; tests run one on 127.0.0.1).
	Net *Webhooks
}

// PushMessage is the JSON a browser's service worker receives.
type PushMessage struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url"`
}

func (p *Pusher) push(ctx context.Context, j *store.Job) error {
	var job store.PushJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	sub, err := p.St.PushSubscriptionByID(job.Sub)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	msg, _ := json.Marshal(PushMessage{Title: job.Title, Body: job.Body, URL: job.URL})
	res, err := webpush.SendNotificationWithContext(ctx, msg, &webpush.Subscription{Endpoint: sub.Endpoint,
		Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth}}, &webpush.Options{
		HTTPClient: p.Net.client(), Subscriber: p.Subscriber, VAPIDPublicKey: p.PublicKey, VAPIDPrivateKey: p.PrivateKey,
		TTL: int((24 * time.Hour).Seconds()), Urgency: webpush.UrgencyNormal,
	})
	if err != nil {
		return callError(sub.Endpoint, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		_, err := store.Exec(ctx, p.St, store.DeletePushSubscription{Meta: store.At(time.Now()), SubID: sub.ID})
		return err
	case res.StatusCode/100 != 2:
		return statusError("the push service", res.StatusCode)
	}
	return nil
}

// Register adds the push job handler to a pool.
func (p *Pusher) Register(pool *Pool) { pool.Handle(store.JobPush, p.push) }
