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
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"aperture/store"
)

// Webhooks verifies and calls the callbacks of real-time subscriptions.
// It never calls a loopback, private, link-local, multicast or unspecified
// address (cloud metadata services live at link-local ones) unless Allow
// names it; it checks every address a name resolves to, dials the checked
// address itself (so a second lookup cannot swap it), follows no
// redirects, and gives a callback Timeout to answer.
type Webhooks struct {
	St *store.Store
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

// RefusedError is returned for callbacks that point somewhere aperture
// does not call.
type RefusedError struct {
	Host string
	Addr netip.Addr
}

// Error says which host points where.
func (e *RefusedError) Error() string {
	if e.Host == e.Addr.String() {
		return fmt.Sprintf("%s is not a public address", e.Host)
	}
	return fmt.Sprintf("%s points at %s, which is not a public address", e.Host, e.Addr)
}

func (w *Webhooks) timeout() time.Duration {
	if w.Timeout <= 0 {
		return 5 * time.Second
	}
	return w.Timeout
}

// allowed reports whether an address may be called.
func (w *Webhooks) allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range w.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(a) && !netip.MustParsePrefix("fc00::/7").Contains(a)
}

// dial resolves host, refuses it unless every address is allowed, and
// dials the first one.
func (w *Webhooks) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		resolve := w.Resolve
		if resolve == nil {
			resolve = func(ctx context.Context, h string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			}
		}
		if addrs, err = resolve(ctx, host); err != nil {
			return nil, fmt.Errorf("cannot resolve %s: %w", host, err)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	for _, a := range addrs {
		if !w.allowed(a) {
			return nil, &RefusedError{Host: host, Addr: a}
		}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort(addrs[0].String(), port))
}

func (w *Webhooks) client() *http.Client {
	return &http.Client{
		Timeout:       w.timeout(),
		Transport:     &http.Transport{DialContext: w.dial, DisableKeepAlives: true, ResponseHeaderTimeout: w.timeout()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Verify performs the subscription handshake: a GET of the callback with
// hub.mode=subscribe, hub.topic and a random hub.challenge, which the
// callback must echo in a 200 answer. It returns a sentence-like error
// otherwise.
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
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != challenge {
		return fmt.Errorf("the callback answered %s without echoing the challenge", res.Status)
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
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			err = fmt.Errorf("the callback answered %s", res.Status)
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
