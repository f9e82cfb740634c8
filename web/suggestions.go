package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"aperture/store"
)

// SuggestionView is an account the viewer might follow, and why.
type SuggestionView struct {
	AuthorView
	Reason string `json:"reason" doc:"Why it is suggested: \"You followed them before\" (an import's following list), \"Followed by ana\", \"Followed by ana + 2 more\" or \"Popular on aperture\""`
	// Relationship is the viewer's (none yet), for the follow button.
	Relationship Relationship `json:"-"`
}

type suggestionsInput struct {
	Limit int `query:"limit" minimum:"1" maximum:"30" default:"8"`
}

type suggestionsOutput struct{ Body List[SuggestionView] }

func (s *Server) registerSuggestions(api huma.API) {
	huma.Register(api, s.op(huma.Operation{
		OperationID: "suggestions", Method: http.MethodGet, Path: "/api/v1/suggestions", Tags: []string{"users"},
		Summary:  "Accounts you might follow: followed by those you follow, then popular ones",
		Security: bearer, Errors: []int{401, 422},
	}), func(ctx context.Context, in *suggestionsInput) (*suggestionsOutput, error) {
		items, err := s.suggestions(ctx, in.Limit)
		if err != nil {
			return nil, err
		}
		return &suggestionsOutput{Body: List[SuggestionView]{Items: items}}, nil
	})
}

// suggestions returns up to limit accounts the viewer might follow (see
// store.Suggestions): friends of friends, then, if they are too few, the
// authors of explore's posts.
func (s *Server) suggestions(ctx context.Context, limit int) ([]SuggestionView, error) {
	cl, _ := viewer(ctx)
	// First those an import says were followed before.
	before, err := s.importedFollows(ctx, cl.UserID, limit)
	if err != nil || len(before) >= limit {
		return before, err
	}
	rest, err := s.networkSuggestions(ctx, limit)
	if err != nil {
		return nil, err
	}
	for _, v := range rest {
		if len(before) < limit && !slices.ContainsFunc(before, func(b SuggestionView) bool { return b.ID == v.ID }) {
			before = append(before, v)
		}
	}
	return before, nil
}

// networkSuggestions are friends of friends, then popular accounts.
func (s *Server) networkSuggestions(ctx context.Context, limit int) ([]SuggestionView, error) {
	cl, _ := viewer(ctx)
	found, err := s.st.Suggestions(cl.UserID, nil, limit)
	if err != nil {
		return nil, err
	}
	if len(found) < limit { // too few friends of friends: add popular accounts
		explore, err := s.explorePosts(ctx, &exploreInput{Limit: 30})
		if err != nil {
			return nil, err
		}
		var popular []store.ID
		for _, p := range explore.Body.Items {
			popular = append(popular, p.Author.ID)
		}
		if found, err = s.st.Suggestions(cl.UserID, popular, limit); err != nil {
			return nil, err
		}
	}
	users := make([]*store.User, len(found))
	for i, f := range found {
		users[i] = f.User
	}
	views, err := s.renderUsers(users, now(ctx))
	if err != nil {
		return nil, err
	}
	out := make([]SuggestionView, len(views))
	for i, v := range views {
		out[i] = SuggestionView{AuthorView: v, Reason: suggestionReason(found[i])}
	}
	return out, nil
}

// suggestionReason says why an account is suggested, as Instagram does.
func suggestionReason(f store.Suggestion) string {
	switch {
	case f.Via == 0 || f.ViaName == "":
		return "Popular on aperture"
	case f.Via == 1:
		return "Followed by " + f.ViaName
	}
	return fmt.Sprintf("Followed by %s + %d more", f.ViaName, f.Via-1)
}
