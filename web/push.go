package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"aperture/store"
)

type pushKeyOutput struct {
	Body struct {
		PublicKey string `json:"public_key" doc:"The VAPID application server key, base64url: pass it to pushManager.subscribe"`
	}
}

type pushSubInput struct {
	Body struct {
		Endpoint string `json:"endpoint" maxLength:"2000"`
		Keys     struct {
			P256dh string `json:"p256dh" maxLength:"200"`
			Auth   string `json:"auth" maxLength:"100"`
		} `json:"keys"`
	}
}

type pushUnsubInput struct {
	Body struct {
		Endpoint string `json:"endpoint" maxLength:"2000"`
	}
}

// PreferencesView is what an account wants pushed.
type PreferencesView struct {
	Push      []string `json:"push" doc:"Activity types pushed: like, comment, follow, follow_request, mention"`
	Muted     []string `json:"muted" doc:"Usernames whose activity is never pushed"`
	QuietFrom string   `json:"quiet_from" doc:"Start of quiet hours, like 22:00 (empty: none)"`
	QuietTo   string   `json:"quiet_to" doc:"End of quiet hours, like 07:00"`
	UTCOffset int      `json:"utc_offset" doc:"The time zone of the quiet hours, minutes east of UTC"`
}

type prefsOutput struct{ Body PreferencesView }
type prefsInput struct{ Body PreferencesView }

func (s *Server) registerPush(api huma.API) {
	tags := []string{"notifications"}
	huma.Register(api, s.op(huma.Operation{OperationID: "push-key", Method: http.MethodGet, Path: "/api/v1/push/key", Tags: tags,
		Summary: "The VAPID key browsers subscribe with", Errors: []int{503}}), func(ctx context.Context, _ *struct{}) (*pushKeyOutput, error) {
		if s.push == nil {
			return nil, store.Errorf(store.ErrUnavailable, "Push notifications are not available on this server.")
		}
		out := &pushKeyOutput{}
		out.Body.PublicKey = s.push.PublicKey
		return out, nil
	})
	huma.Register(api, s.op(huma.Operation{OperationID: "push-subscribe", Method: http.MethodPost, Path: "/api/v1/push/subscriptions", Tags: tags,
		Summary: "Turn on push notifications for this browser (a PushSubscription's JSON)", Security: bearer, DefaultStatus: http.StatusCreated,
		Errors: []int{401, 409, 422}}), s.pushSubscribe)
	huma.Register(api, s.op(huma.Operation{OperationID: "push-unsubscribe", Method: http.MethodDelete, Path: "/api/v1/push/subscriptions", Tags: tags,
		Summary: "Turn push notifications off for a browser", Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{401}}), s.pushUnsubscribe)
	huma.Register(api, s.op(huma.Operation{OperationID: "get-preferences", Method: http.MethodGet, Path: "/api/v1/me/preferences", Tags: tags,
		Summary: "What is pushed to you, muted accounts and quiet hours", Security: bearer, Errors: []int{401}}), s.getPreferences)
	huma.Register(api, s.op(huma.Operation{OperationID: "update-preferences", Method: http.MethodPut, Path: "/api/v1/me/preferences", Tags: tags,
		Summary: "Change what is pushed to you", Security: bearer, Errors: []int{401, 404, 422}}), s.updatePreferences)
}

// pushSubscribe answers POST /api/v1/push/subscriptions.
func (s *Server) pushSubscribe(ctx context.Context, in *pushSubInput) (*struct{}, error) {
	c, _ := viewer(ctx)
	_, err := store.Exec(ctx, s.st, store.SavePushSubscription{Meta: store.At(now(ctx)), Sub: store.PushSubscription{UserID: c.UserID,
		Endpoint: in.Body.Endpoint, P256dh: in.Body.Keys.P256dh, Auth: in.Body.Keys.Auth}})
	return nil, err
}

func (s *Server) pushUnsubscribe(ctx context.Context, in *pushUnsubInput) (*struct{}, error) {
	c, _ := viewer(ctx)
	_, err := store.Exec(ctx, s.st, store.DeletePushSubscription{Meta: store.At(now(ctx)), UserID: c.UserID, Endpoint: in.Body.Endpoint})
	return nil, err
}

// getPreferences answers GET /api/v1/me/preferences and the settings page.
func (s *Server) getPreferences(ctx context.Context, _ *struct{}) (*prefsOutput, error) {
	c, _ := viewer(ctx)
	u, err := s.st.User(c.UserID)
	if err != nil {
		return nil, err
	}
	v := PreferencesView{Push: store.ActivityTypes, Muted: []string{}}
	if p := u.Prefs; p != nil {
		v.Push, v.QuietFrom, v.QuietTo, v.UTCOffset = p.Push, p.QuietFrom, p.QuietTo, p.UTCOffset
		for _, id := range p.Muted {
			if m, err := s.st.User(id); err == nil {
				v.Muted = append(v.Muted, m.Username)
			}
		}
	}
	return &prefsOutput{Body: v}, nil
}

func (s *Server) updatePreferences(ctx context.Context, in *prefsInput) (*prefsOutput, error) {
	c, _ := viewer(ctx)
	p := store.Preferences{Push: in.Body.Push, QuietFrom: strings.TrimSpace(in.Body.QuietFrom), QuietTo: strings.TrimSpace(in.Body.QuietTo),
		UTCOffset: in.Body.UTCOffset}
	if p.Push == nil {
		p.Push = []string{}
	}
	for _, name := range in.Body.Muted {
		if name = strings.TrimPrefix(strings.TrimSpace(name), "@"); name == "" {
			continue
		}
		u, err := s.st.UserByUsername(name)
		if err != nil {
			return nil, store.Invalid("muted", "There is no account called %q to mute.", name)
		}
		p.Muted = append(p.Muted, u.ID)
	}
	if _, err := store.Exec(ctx, s.st, store.UpdatePreferences{Meta: store.At(now(ctx)), UserID: c.UserID, Prefs: p}); err != nil {
		return nil, err
	}
	return s.getPreferences(ctx, nil)
}
