package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// UserParam is the {username} of a user route.
type UserParam struct {
	Username string `path:"username" maxLength:"64" doc:"The username, in any case"`
}

type userOutput struct {
	Body UserView
}

func (s *Server) registerUsers(api huma.API) {
	huma.Register(api, s.op(huma.Operation{
		OperationID: "get-user", Method: http.MethodGet, Path: "/api/v1/users/{username}", Tags: []string{"users"},
		Summary:     "A user's public profile",
		Description: "Anyone may read a profile. With a bearer token, relationship says how the viewer and the user are connected.",
		Errors:      []int{401, 404},
	}), s.getUser)
}

// getUser answers GET /api/v1/users/{username} and the profile page.
func (s *Server) getUser(ctx context.Context, in *UserParam) (*userOutput, error) {
	c, signedIn := viewer(ctx)
	u, rel, err := s.st.ViewProfile(c.UserID, in.Username)
	if err != nil {
		return nil, err
	}
	h, err := s.st.Hydrate(0, nil, u.ID)
	if err != nil {
		return nil, err
	}
	v := userView(u)
	v.Avatar = s.avatar(u, h.Media, now(ctx))
	if signedIn {
		v.Relationship = &Relationship{Following: rel.Following, FollowedBy: rel.FollowedBy, Requested: rel.Requested, Blocking: rel.Blocking}
	}
	return &userOutput{Body: v}, nil
}
