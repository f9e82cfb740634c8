package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"aperture/store"
	"aperture/web/auth"
)

type signupInput struct {
	UserAgent string `header:"User-Agent"`
	Body      struct {
		Username    string `json:"username" minLength:"1" maxLength:"30" pattern:"^[A-Za-z0-9._]+$" patternDescription:"made of letters, numbers, underscores and periods" doc:"1–30 of a–z, 0–9, '.', '_'; case-insensitive"`
		Password    string `json:"password" minLength:"8" maxLength:"128" doc:"8–128 characters"`
		Email       string `json:"email,omitempty" maxLength:"254" doc:"Optional; never shown to others"`
		DisplayName string `json:"display_name,omitempty" maxLength:"64"`
		Invite      string `json:"invite,omitempty" maxLength:"64" doc:"The invitation code an invite-only instance asks for"`
	}
}

type loginInput struct {
	UserAgent string `header:"User-Agent"`
	Body      struct {
		Username string `json:"username" minLength:"1" maxLength:"64"`
		Password string `json:"password" minLength:"1" maxLength:"1024"`
	}
}

type refreshInput struct {
	Body struct {
		RefreshToken string `json:"refresh_token" minLength:"1" maxLength:"200"`
	}
}

// TokenView is what sign-up, log-in and refresh return.
type TokenView struct {
	User         MeView `json:"user"`
	AccessToken  string `json:"access_token" doc:"A JWT for Authorization: Bearer, valid for expires_in seconds"`
	RefreshToken string `json:"refresh_token" doc:"Spend it at /api/v1/auth/refresh for a new pair; each works once"`
	TokenType    string `json:"token_type" enum:"Bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"Seconds until access_token expires"`
}

type tokenOutput struct {
	Body TokenView
}

func grantOutput(g *auth.Grant) *tokenOutput {
	return &tokenOutput{Body: TokenView{User: meView(g.User), AccessToken: g.AccessToken, RefreshToken: g.RefreshToken,
		TokenType: "Bearer", ExpiresIn: int(g.ExpiresIn.Seconds())}}
}

type meOutput struct {
	Body MeView
}

type patchMeInput struct {
	Body struct {
		DisplayName   *string   `json:"display_name,omitempty" maxLength:"64"`
		Bio           *string   `json:"bio,omitempty" maxLength:"600" doc:"At most 150 characters"`
		Website       *string   `json:"website,omitempty" maxLength:"200"`
		Email         *string   `json:"email,omitempty" maxLength:"254"`
		Private       *bool     `json:"private,omitempty"`
		AvatarMediaID *store.ID `json:"avatar_media_id,omitempty" doc:"The ID of an uploaded photo to use as avatar"`
	}
}

func (s *Server) registerAccounts(api huma.API) {
	huma.Register(api, s.op(huma.Operation{
		OperationID: "signup", Method: http.MethodPost, Path: "/api/v1/auth/signup", Tags: []string{"accounts"},
		Summary: "Create an account and sign in", DefaultStatus: http.StatusCreated,
		Errors: []int{400, 409, 413, 422, 429},
	}), func(ctx context.Context, in *signupInput) (*tokenOutput, error) {
		g, err := s.signIn(ctx, true, auth.SignUp{Username: in.Body.Username, Password: in.Body.Password,
			Email: in.Body.Email, DisplayName: in.Body.DisplayName, UserAgent: in.UserAgent, Public: true, Invite: in.Body.Invite})
		if err != nil {
			return nil, err
		}
		return grantOutput(g), nil
	})

	huma.Register(api, s.op(huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: "/api/v1/auth/login", Tags: []string{"accounts"},
		Summary: "Sign in with username and password", Errors: []int{400, 401, 413, 422, 429},
	}), func(ctx context.Context, in *loginInput) (*tokenOutput, error) {
		g, err := s.signIn(ctx, false, auth.SignUp{Username: in.Body.Username, Password: in.Body.Password, UserAgent: in.UserAgent})
		if err != nil {
			return nil, err
		}
		return grantOutput(g), nil
	})

	huma.Register(api, s.op(huma.Operation{
		OperationID: "refresh", Method: http.MethodPost, Path: "/api/v1/auth/refresh", Tags: []string{"accounts"},
		Summary:     "Spend a refresh token for a new token pair",
		Description: "Each refresh token works once. Presenting a spent one signs the whole session out.",
		Errors:      []int{400, 401, 422, 429},
	}), func(ctx context.Context, in *refreshInput) (*tokenOutput, error) {
		g, err := s.auth.Refresh(ctx, in.Body.RefreshToken, now(ctx))
		if err != nil {
			return nil, err
		}
		return grantOutput(g), nil
	})

	huma.Register(api, s.op(huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/api/v1/auth/logout", Tags: []string{"accounts"},
		Summary: "End this session", DefaultStatus: http.StatusNoContent, Security: bearer, Errors: []int{401},
	}), func(ctx context.Context, _ *struct{}) (*struct{}, error) {
		c, _ := viewer(ctx)
		return nil, s.auth.Logout(ctx, c.SessionID, now(ctx))
	})

	huma.Register(api, s.op(huma.Operation{
		OperationID: "get-me", Method: http.MethodGet, Path: "/api/v1/me", Tags: []string{"accounts"},
		Summary: "The signed-in user, with private fields", Security: bearer, Errors: []int{401},
	}), func(ctx context.Context, _ *struct{}) (*meOutput, error) {
		c, _ := viewer(ctx)
		u, err := s.st.User(c.UserID)
		if err != nil {
			return nil, err
		}
		return s.meOutput(ctx, u)
	})

	huma.Register(api, s.op(huma.Operation{
		OperationID: "update-me", Method: http.MethodPatch, Path: "/api/v1/me", Tags: []string{"accounts"},
		Summary: "Change the signed-in user's profile", Security: bearer, Errors: []int{400, 401, 413, 422},
	}), s.updateMe)
}

func (s *Server) meOutput(ctx context.Context, u *store.User) (*meOutput, error) {
	h, err := s.st.Hydrate(0, nil, u.ID)
	if err != nil {
		return nil, err
	}
	v := meView(u)
	v.Avatar = s.avatar(u, h.Media, now(ctx))
	return &meOutput{Body: v}, nil
}

// updateMe answers PATCH /api/v1/me and the edit-profile form.
func (s *Server) updateMe(ctx context.Context, in *patchMeInput) (*meOutput, error) {
	c, _ := viewer(ctx)
	b := in.Body
	u, err := store.Exec(ctx, s.st, store.UpdateProfile{Meta: store.At(now(ctx)), UserID: c.UserID,
		DisplayName: b.DisplayName, Bio: b.Bio, Website: b.Website, Email: b.Email, Private: b.Private, AvatarMediaID: b.AvatarMediaID})
	if err != nil {
		return nil, err
	}
	return s.meOutput(ctx, u)
}

// signIn signs up (creating the account) or logs in, for the API and the
// forms alike, and counts the outcome.
func (s *Server) signIn(ctx context.Context, signup bool, in auth.SignUp) (*auth.Grant, error) {
	if signup {
		g, err := s.auth.SignUp(ctx, in, now(ctx))
		if err == nil {
			s.metrics.signups.Inc()
			s.stats.signups.Add(1)
		}
		return g, err
	}
	g, err := s.auth.Login(ctx, in.Username, in.Password, in.UserAgent, now(ctx))
	if err != nil {
		s.metrics.logins.WithLabelValues("refused").Inc()
		return nil, err
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	return g, nil
}

// checkSignIn checks a sign-up or log-in form's fields as the API checks
// the same fields of its JSON body (checkInput), before any account is
// looked up or any password hashed.
func (s *Server) checkSignIn(signup bool, in auth.SignUp) error {
	if signup {
		var v signupInput
		b := &v.Body
		b.Username, b.Password, b.Email, b.DisplayName, b.Invite = in.Username, in.Password, in.Email, in.DisplayName, in.Invite
		return s.checkInput("signup", &v)
	}
	var v loginInput
	v.Body.Username, v.Body.Password = in.Username, in.Password
	return s.checkInput("login", &v)
}
