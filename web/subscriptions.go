package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"aperture/feed"
	"aperture/store"
)

// SubscriptionView is a real-time subscription. Its secret is shown once,
// when it is created.
type SubscriptionView struct {
	ID          store.ID  `json:"id"`
	Object      string    `json:"object" enum:"tag,user,geo"`
	Tag         string    `json:"tag,omitempty"`
	Username    string    `json:"username,omitempty"`
	Lat         *float64  `json:"lat,omitempty"`
	Lon         *float64  `json:"lon,omitempty"`
	RadiusKm    *float64  `json:"radius_km,omitempty"`
	CallbackURL string    `json:"callback_url"`
	Secret      string    `json:"secret,omitempty" doc:"Only in the answer that creates the subscription: keep it to check X-Aperture-Signature"`
	Status      string    `json:"status" enum:"active,disabled"`
	Failures    int       `json:"failures" doc:"Deliveries failed in a row; 8 disable the subscription"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

type subscribeInput struct {
	Body struct {
		Object      string   `json:"object" enum:"tag,user,geo"`
		Tag         string   `json:"tag,omitempty" maxLength:"101"`
		Username    string   `json:"username,omitempty" maxLength:"64"`
		Lat         *float64 `json:"lat,omitempty"`
		Lon         *float64 `json:"lon,omitempty"`
		RadiusKm    float64  `json:"radius_km,omitempty"`
		CallbackURL string   `json:"callback_url" maxLength:"2000"`
	}
}

type subscriptionOutput struct{ Body SubscriptionView }
type subscriptionsOutput struct{ Body List[SubscriptionView] }
type subIDInput struct {
	ID string `path:"id" maxLength:"20"`
}

func (s *Server) subscriptionView(sub *store.Subscription) SubscriptionView {
	v := SubscriptionView{ID: sub.ID, Object: sub.Object, Tag: sub.Tag, CallbackURL: sub.CallbackURL, Status: sub.Status,
		Failures: sub.Failures, LastError: sub.LastError, CreatedAt: sub.CreatedAt}
	switch sub.Object {
	case store.SubUser:
		if u, err := s.st.User(sub.UserID); err == nil {
			v.Username = u.Username
		}
	case store.SubGeo:
		lat, lon, r := sub.Lat, sub.Lon, sub.RadiusKm
		v.Lat, v.Lon, v.RadiusKm = &lat, &lon, &r
	}
	return v
}

func (s *Server) registerSubscriptions(api huma.API) {
	tags := []string{"subscriptions"}
	huma.Register(api, s.op(huma.Operation{OperationID: "subscribe", Method: http.MethodPost, Path: "/api/v1/subscriptions", Tags: tags,
		Summary: "Be notified at a callback URL of each new post with a hashtag, by an account, or near a point",
		Description: "The callback is verified first: aperture GETs it with hub.mode=subscribe, hub.topic and hub.challenge, and it must answer 200 with the challenge as its body. " +
			"Each new matching post is then POSTed to it as JSON, signed: X-Aperture-Signature is sha256= and the hex HMAC-SHA256 of the body under the subscription's secret (returned once, here). " +
			"Failed deliveries are retried with growing delays; 8 failures in a row disable the subscription. Callbacks on addresses that are not globally reachable (private, loopback, link-local, shared, reserved, documentation, benchmarking, multicast, and IPv6 forms carrying such IPv4 addresses) are refused.",
		Security: bearer, DefaultStatus: http.StatusCreated, Errors: []int{401, 404, 409, 422, 503}}), s.subscribe)
	huma.Register(api, s.op(huma.Operation{OperationID: "list-subscriptions", Method: http.MethodGet, Path: "/api/v1/subscriptions", Tags: tags,
		Summary: "Your real-time subscriptions", Security: bearer, Errors: []int{401}}), s.listSubscriptions)
	for _, enable := range []bool{true, false} {
		verb := map[bool]string{true: "enable", false: "disable"}[enable]
		huma.Register(api, s.op(huma.Operation{OperationID: verb + "-subscription", Method: http.MethodPost, Path: "/api/v1/subscriptions/{id}/" + verb, Tags: tags,
			Summary: "Turn a subscription on again (clearing its failures) or off", Security: bearer, Errors: []int{401, 404}}),
			func(ctx context.Context, in *subIDInput) (*subscriptionOutput, error) {
				return s.setSubscription(ctx, in, enable)
			})
	}
	huma.Register(api, s.op(huma.Operation{OperationID: "delete-subscription", Method: http.MethodDelete, Path: "/api/v1/subscriptions/{id}", Tags: tags,
		Summary: "Delete a subscription", Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{401, 404}}), s.deleteSubscription)
}

// subscribe answers POST /api/v1/subscriptions.
func (s *Server) subscribe(ctx context.Context, in *subscribeInput) (*subscriptionOutput, error) {
	if s.webhooks == nil {
		return nil, store.Errorf(store.ErrUnavailable, "Real-time subscriptions are not available on this server.")
	}
	c, _ := viewer(ctx)
	b := in.Body
	sub := store.Subscription{OwnerID: c.UserID, Object: b.Object, Tag: b.Tag, RadiusKm: b.RadiusKm, CallbackURL: b.CallbackURL}
	topic := b.Object + ":" + b.Tag
	switch b.Object {
	case store.SubUser:
		u, _, err := s.st.ViewProfile(c.UserID, b.Username)
		if err != nil {
			return nil, err
		}
		sub.UserID, topic = u.ID, "user:"+u.Username
	case store.SubGeo:
		if b.Lat == nil || b.Lon == nil {
			return nil, store.Invalid("lat", "A geography needs lat, lon and radius_km.")
		}
		sub.Lat, sub.Lon = *b.Lat, *b.Lon
		topic = "geo"
	}
	if err := store.CheckCallbackURL(b.CallbackURL); err != nil {
		return nil, err
	}
	if err := s.webhooks.Verify(ctx, b.CallbackURL, topic); err != nil {
		// Verify's errors are sentences safe to show: they never carry a
		// resolved or internal address.
		var refused *feed.RefusedError
		if errors.As(err, &refused) {
			if _, literal := netip.ParseAddr(refused.Host); literal == nil {
				return nil, store.Invalid("callback_url", "The callback's address is not public; aperture only calls public addresses.")
			}
			return nil, store.Invalid("callback_url", "The callback's host %s; aperture only calls public addresses.", refused.Error())
		}
		return nil, store.Invalid("callback_url", "The callback did not pass verification: %v. It must answer the GET with status 200 and the hub.challenge value as its body.", err)
	}
	var secret [24]byte
	rand.Read(secret[:])
	sub.Secret = hex.EncodeToString(secret[:])
	created, err := store.Exec(ctx, s.st, store.CreateSubscription{Meta: store.At(now(ctx)), Sub: sub})
	if err != nil {
		return nil, err
	}
	v := s.subscriptionView(created)
	v.Secret = created.Secret
	return &subscriptionOutput{Body: v}, nil
}

func (s *Server) listSubscriptions(ctx context.Context, _ *struct{}) (*subscriptionsOutput, error) {
	c, _ := viewer(ctx)
	subs, err := s.st.Subscriptions(c.UserID)
	if err != nil {
		return nil, err
	}
	out := &subscriptionsOutput{Body: List[SubscriptionView]{Items: []SubscriptionView{}}}
	for _, sub := range subs {
		out.Body.Items = append(out.Body.Items, s.subscriptionView(sub))
	}
	return out, nil
}

func (s *Server) setSubscription(ctx context.Context, in *subIDInput, enable bool) (*subscriptionOutput, error) {
	c, _ := viewer(ctx)
	id, err := parseID("subscription", in.ID)
	if err != nil {
		return nil, err
	}
	sub, err := store.Exec(ctx, s.st, store.SetSubscription{Meta: store.At(now(ctx)), OwnerID: c.UserID, SubID: id, Enabled: enable})
	if err != nil {
		return nil, err
	}
	return &subscriptionOutput{Body: s.subscriptionView(sub)}, nil
}

func (s *Server) deleteSubscription(ctx context.Context, in *subIDInput) (*struct{}, error) {
	c, _ := viewer(ctx)
	id, err := parseID("subscription", in.ID)
	if err != nil {
		return nil, err
	}
	_, err = store.Exec(ctx, s.st, store.DeleteSubscription{Meta: store.At(now(ctx)), OwnerID: c.UserID, SubID: id})
	return nil, err
}
