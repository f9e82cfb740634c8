package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

type userInput struct {
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
	}), func(ctx context.Context, in *userInput) (*userOutput, error) {
		u, err := s.st.UserByUsername(in.Username)
		if err != nil {
			return nil, err
		}
		v := userView(u)
		if _, ok := viewer(ctx); ok {
			// The follow graph fills this in; until then nobody follows anyone.
			v.Relationship = &Relationship{}
		}
		return &userOutput{Body: v}, nil
	})
}
