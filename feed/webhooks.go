package feed

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"aperture/store"
)

// Webhooks verifies and calls the callbacks of real-time subscriptions,
// and is the network of the Web Push sender. It calls no address that
// IANA's special-purpose registries do not call globally reachable
// (loopback, private, link-local — where cloud metadata services live —,
// shared, benchmarking, documentation, reserved, multicast, and IPv6
// forms carrying such an IPv4 address; see Public) unless Allow names it;
// it checks every address a name resolves to, dials the checked address
// itself (so a second lookup cannot swap it), follows no redirects, and
// gives a callback Timeout to answer. Its errors are safe to show.
type Webhooks struct {
	St Store
	// Allow lists address ranges that may be called although not public
	// (tests allow 127.0.0.1/32).
	Allow []netip.Prefix
	// Resolve looks a host name up (net.DefaultResolver by default).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// Timeout bounds one call, connection included (5 s).
	Timeout time.Duration
	// Site is the public address of this instance, for links in payloads.
	Site string
}

// Verify performs the subscription handshake: a GET of the callback with
// hub.mode=subscribe, hub.topic and a random hub.challenge, which the
// callback must echo in a 200 answer. Otherwise it returns a *CallError
// (a *RefusedError inside it for an address aperture does not call) whose
// text is safe to show.
func (w *Webhooks) Verify(ctx context.Context, callback, topic string) error {
	var b [16]byte
	rand.Read(b[:])
	challenge := hex.EncodeToString(b[:])
	u, err := url.Parse(callback)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.topic", topic)
	q.Set("hub.challenge", challenge)
	u.RawQuery = q.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	res, err := w.client().Do(req)
	if err != nil {
		return callError(callback, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return &CallError{Msg: fmt.Sprintf("the callback answered %d %s instead of echoing the challenge", res.StatusCode, http.StatusText(res.StatusCode)),
			Err: fmt.Errorf("status %d", res.StatusCode)}
	}
	if strings.TrimSpace(string(body)) != challenge {
		return &CallError{Msg: "the callback answered 200 without echoing the challenge", Err: errors.New("wrong challenge")}
	}
	return nil
}

// Notification is the JSON body of a delivery.
type Notification struct {
	SubscriptionID store.ID  `json:"subscription_id"`
	Object         string    `json:"object"`
	ObjectID       string    `json:"object_id" doc:"The tag, the username, or lat,lon,radius_km"`
	PostID         store.ID  `json:"post_id"`
	Author         string    `json:"author"`
	Caption        string    `json:"caption"`
	Tags           []string  `json:"tags"`
	Link           string    `json:"link,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// Signature is the X-Aperture-Signature header of a body: "sha256=" and
// the hex HMAC-SHA256 of the body under the subscription's secret.
func Signature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// match queues the deliveries of a new post.
func (w *Webhooks) match(ctx context.Context, j *store.Job) error {
	var job store.IndexJob
	if err := j.Decode(&job); err != nil {
		return err
	}
	_, err := store.Exec(ctx, w.St, store.QueueDeliveries{Meta: store.At(time.Now()), PostID: job.ID})
	return err
}

// deliver sends one notification. A failure is returned (the pool retries
// with growing delays) and counted on the subscription, which is disabled
// after store.MaxSubFailures in a row; deliveries of a disabled or deleted
// subscription, or of a deleted post, are dropped.
func (w *Webhooks) deliver(ctx context.Context, j *store.Job) error {
	var d store.Delivery
	if err := j.Decode(&d); err != nil {
		return err
	}
	sub, err := w.St.Subscription(d.Sub)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sub.Status != store.SubActive) {
		return nil
	}
	if err != nil {
		return err
	}
	p, author, err := w.St.PostForIndex(d.Post)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n := Notification{SubscriptionID: sub.ID, Object: sub.Object, PostID: p.ID, Author: author.Username,
		Caption: p.Caption, Tags: p.Tags, CreatedAt: p.CreatedAt}
	switch sub.Object {
	case store.SubTag:
		n.ObjectID = sub.Tag
	case store.SubUser:
		n.ObjectID = author.Username
	case store.SubGeo:
		n.ObjectID = fmt.Sprintf("%g,%g,%g", sub.Lat, sub.Lon, sub.RadiusKm)
	}
	if w.Site != "" {
		n.Link = strings.TrimRight(w.Site, "/") + "/p/" + p.ID.String()
	}
	body, _ := json.Marshal(n)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, sub.CallbackURL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aperture-webhooks")
	req.Header.Set("X-Aperture-Signature", Signature(sub.Secret, body))
	req.Header.Set("X-Aperture-Delivery", j.ID.String())
	req.Header.Set("X-Aperture-Attempt", strconv.Itoa(j.Attempts+1))
	res, err := w.client().Do(req)
	err = callError(sub.CallbackURL, err)
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			err = statusError("the callback", res.StatusCode)
		}
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if _, rerr := store.Exec(context.Background(), w.St, store.DeliveryResult{Meta: store.At(time.Now()), SubID: sub.ID, Error: msg}); rerr != nil {
		return rerr
	}
	return err
}

// Register adds the webhook job handlers to a pool.
func (w *Webhooks) Register(p *Pool) {
	p.Handle(store.JobWebhookMatch, w.match)
	p.Handle(store.JobWebhookDeliver, w.deliver)
}
